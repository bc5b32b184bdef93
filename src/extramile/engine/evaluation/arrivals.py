"""`extramile evaluate arrivals --dataset ta-feng`: new products, first-week sales known (warm).

Ta-Feng, split at a month start (default 2001-02-01). The new products are those first sold in
the test month; the clients scored are the customers with lines before the split who buy one
of them from the eighth day to the month's end, and each client's relevant products are the new
products they buy then. Every method ranks all the new products for every client, knowing
everything sold before the eighth day (the first week's sales of the new products included);
recall@10 is averaged over the clients, ties going to the lower product code. The cold-start
task (cold_start.py) is the same ranking with no sale of a new product known at all.

Methods, all computed here on the same split:
- extramile: extramile.engine.arrivals in its warm mode, the taste profiles built from every
  line before the eighth day;
- popularity: a new product has no sales before the split, so the lines of its subclass;
- first-week popularity: the new product's lines in the first week;
- subclass affinity (first-week ties): the client's lines in the product's subclass before the
  split, ties broken by the first-week lines;
- LightFM (subclass features): WARP on every line before the eighth day, products described by
  their subclass and price decile only (no identity feature), 32 components, 20 epochs, seed 0;
- extramile (subclass + price only): ours without the makers read from the barcodes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
from scipy import sparse

from extramile.engine.arrivals import ArrivalModel, ArrivalWeights, Catalog, TasteProfiles
from extramile.engine.datasets import TaFeng, load_ta_feng
from extramile.engine.evaluation.metrics import Progress, Row, recall_at_k, stopwatch, top_k
from extramile.engine.evaluation.tafeng_split import (
    DEFAULT_SPLIT,
    ArrivalSplit,
    arrival_split,
    days_between,
    early_sales,
    first_day_price,
    pairs_matrix,
    purchases_of,
    tafeng_catalog,
)

TASK = "arrivals"
LIGHTFM = {"no_components": 32, "loss": "warp", "learning_rate": 0.05, "random_state": 0}
LIGHTFM_EPOCHS = 20
PRICE_BUCKETS = 10

Scorer = Callable[[], np.ndarray]


def run(dataset: str, split: dt.date | None, progress: Progress) -> list[Row]:
    """Rank the new products with their first week's sales known; one row per method."""
    data, task = load_task(dataset, split, progress)
    known = days_between(data, None, task.scored_from)
    train_lines = subclass_lines(data, task.train, task.clients)
    early_lines = product_lines(data, task.early, task.new)
    methods: dict[str, Scorer] = {
        "extramile": lambda: extramile_scores(data, task, warm=True),
        "popularity": lambda: broadcast(subclass_popularity(data, task), task),
        "first-week popularity": lambda: broadcast(early_lines, task),
        "subclass affinity (first-week ties)": lambda: affinity(
            data, task, train_lines, early_lines
        ),
        "LightFM (subclass features)": lambda: lightfm_scores(data, task, known),
        "extramile (subclass + price only)": lambda: extramile_scores(
            data, task, warm=True, makers=False
        ),
    }
    return size_rows(TASK, dataset, task) + evaluate(TASK, dataset, task, methods, progress)


def load_task(
    dataset: str, split: dt.date | None, progress: Progress
) -> tuple[TaFeng, ArrivalSplit]:
    """Load Ta-Feng and cut the split, saying how many products and clients it holds."""
    if dataset != "ta-feng":
        raise ValueError(f"the arrival tasks run on ta-feng, not {dataset}")
    progress("loading Ta-Feng")
    data = load_ta_feng()
    task = arrival_split(data, split or DEFAULT_SPLIT)
    progress(
        f"split {task.split}: {task.new.size} new products, {task.clients.size} clients "
        f"scored from {task.scored_from}"
    )
    return data, task


def evaluate(
    task_name: str,
    dataset: str,
    task: ArrivalSplit,
    methods: dict[str, Scorer],
    progress: Progress,
) -> list[Row]:
    """Score every method, in order, and return its recall@10 row with the seconds it took."""
    rows = []
    for method, scorer in methods.items():
        progress(f"{method}: scoring")
        with stopwatch() as seconds:
            scores = scorer()
            recall = recall_at_k(top_k(scores, 10), task.relevant, k=10)
        progress(f"{method}: recall@10 {recall:.4f} in {seconds():.1f} s")
        rows.append(Row(task_name, dataset, method, "recall@10", recall, seconds()))
    return rows


def size_rows(task_name: str, dataset: str, task: ArrivalSplit) -> list[Row]:
    """Return the rows that say how large the split is (method "data")."""
    return [
        Row(task_name, dataset, "data", "new products", float(task.new.size), 0.0),
        Row(task_name, dataset, "data", "clients", float(task.clients.size), 0.0),
    ]


def broadcast(per_product: np.ndarray, task: ArrivalSplit) -> np.ndarray:
    """Return the same scores of the new products for every client."""
    return np.broadcast_to(np.asarray(per_product, dtype=float), (task.clients.size, task.new.size))


def extramile_scores(
    data: TaFeng, task: ArrivalSplit, *, warm: bool, makers: bool = True
) -> np.ndarray:
    """Score the new products with extramile.engine.arrivals, cold or warm."""
    weights = ArrivalWeights()
    catalog = tafeng_catalog(data, makers=makers)
    profiles = taste_profiles(data, task, catalog, warm=warm, half_life_days=weights.half_life_days)
    early = early_sales(data, task) if warm else None
    model = ArrivalModel(profiles, task.new, weights=weights, early=early)
    return model.score(task.clients)


def taste_profiles(
    data: TaFeng, task: ArrivalSplit, catalog: Catalog, *, warm: bool, half_life_days: float
) -> TasteProfiles:
    """The clients' taste from the lines known when scoring: before the split or day 8 (warm)."""
    today = task.scored_from if warm else task.split
    return TasteProfiles(
        catalog,
        purchases_of(data, days_between(data, None, today)),
        clients=data.customer_ids.size,
        today=today.toordinal(),
        half_life_days=half_life_days,
    )


def subclass_lines(data: TaFeng, mask: np.ndarray, clients: np.ndarray) -> sparse.csr_matrix:
    """Return the clients x subclasses matrix of their lines within a mask."""
    row = np.full(data.customer_ids.size, -1, dtype=np.int64)
    row[clients] = np.arange(clients.size)
    rows = row[data.customer[mask]]
    keep = rows >= 0
    return sparse.csr_matrix(
        (np.ones(int(keep.sum())), (rows[keep], data.subclass[mask][keep])),
        shape=(clients.size, data.subclass_ids.size),
    )


def product_lines(data: TaFeng, mask: np.ndarray, products: np.ndarray) -> np.ndarray:
    """Return each of `products`' lines within a mask."""
    return np.bincount(data.product[mask], minlength=data.product_ids.size)[products].astype(float)


def subclass_popularity(data: TaFeng, task: ArrivalSplit) -> np.ndarray:
    """Return the lines before the split of each new product's subclass."""
    lines = np.bincount(data.subclass[task.train], minlength=data.subclass_ids.size)
    return lines[data.product_subclass()[task.new]].astype(float)


def affinity(
    data: TaFeng, task: ArrivalSplit, client_lines: sparse.csr_matrix, ties: np.ndarray
) -> np.ndarray:
    """Rank by the client's lines in each product's subclass, then by `ties` (per product)."""
    own = client_lines[:, data.product_subclass()[task.new]].toarray()
    return own + (ties / (ties.max() + 1))[None, :]


def lightfm_scores(data: TaFeng, task: ArrivalSplit, known: np.ndarray) -> np.ndarray:
    """Fit LightFM on the known lines, products described by subclass and price decile."""
    from lightfm import LightFM  # an optional baseline, imported only here

    n_clients, n_products = data.customer_ids.size, data.product_ids.size
    interactions = pairs_matrix(
        data.customer[known], data.product[known], (n_clients, n_products)
    ).tocoo()
    features = product_features(data)
    model = LightFM(**LIGHTFM)
    model.fit(interactions, item_features=features, epochs=LIGHTFM_EPOCHS, num_threads=1)
    clients = np.repeat(task.clients, task.new.size).astype(np.int32)
    products = np.tile(task.new, task.clients.size).astype(np.int32)
    scores = model.predict(clients, products, item_features=features, num_threads=1)
    return np.asarray(scores).reshape(task.clients.size, task.new.size)


def product_features(data: TaFeng) -> sparse.csr_matrix:
    """Return products x (subclass one-hot, price decile one-hot), each row summing to 1."""
    n = data.product_ids.size
    log_price = np.log1p(np.nan_to_num(first_day_price(data)))
    edges = np.quantile(log_price, np.linspace(0, 1, PRICE_BUCKETS + 1)[1:-1])
    bucket = data.subclass_ids.size + np.searchsorted(edges, log_price)
    rows = np.r_[np.arange(n), np.arange(n)]
    cols = np.r_[data.product_subclass(), bucket]
    return sparse.csr_matrix(
        (np.full(rows.size, 0.5, dtype=np.float32), (rows, cols)),
        shape=(n, data.subclass_ids.size + PRICE_BUCKETS),
    )
