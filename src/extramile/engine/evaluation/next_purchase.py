"""`extramile evaluate next-purchase --dataset ta-feng`: what each client buys next month.

Ta-Feng, split at a month start (default 2001-02-01): the lines before it are the history,
the month it begins is the test month. The clients scored are the customers with at least one
line before the split who buy in the test month; each client's relevant products are all the
products they buy in the test month, whether bought before or not (a grocery client's next
basket is mostly things they never bought here, yet a good part is what they buy again). Every
method ranks every product of the store for every client; recall@10 is |top 10 ∩ relevant| /
|relevant| averaged over the clients, ties going to the lower product code.

Methods, all computed here on the same split:
- extramile: extramile.engine.nextpurchase with its default weights (tuned on the December and
  January splits, never on February); its rows "driver: <signal>" give the share of its
  top-10 recommendations each signal drove;
- popularity: the products with the most distinct buyers before the split;
- repurchase + popularity: the client's products by the days they bought them, then the
  popular ones (ties between the client's products go to the more popular);
- implicit ALS: BM25-weighted days bought, 64 factors, 15 iterations, seed 0 (collaborative.py);
- implicit item-kNN: cosine item neighbours (100) on who bought what (collaborative.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from extramile.engine.datasets import TaFeng, load_ta_feng
from extramile.engine.evaluation.collaborative import als_top_k, item_knn_top_k
from extramile.engine.evaluation.metrics import Progress, Row, recall_at_k, stopwatch, top_k
from extramile.engine.evaluation.tafeng_split import DEFAULT_SPLIT, test_mask, train_mask
from extramile.engine.nextpurchase import (
    SIGNALS,
    NextPurchaseModel,
    OwnedPairs,
    Purchases,
    owned_pairs,
)

TASK = "next-purchase"
K = 10
BLOCK = 1024

Ranker = Callable[[], np.ndarray]


@dataclass(frozen=True)
class NextPurchaseSplit:
    """One month's next-purchase task: the history, whom we score and what they bought."""

    split: dt.date
    history: Purchases  # every line before the split
    product_subclass: np.ndarray
    clients: np.ndarray  # customer codes scored, ascending
    relevant: list[np.ndarray]  # per scored client, the products bought in the test month
    days_bought: sparse.csr_matrix  # all customers x products: distinct days before the split

    @property
    def products(self) -> int:
        """Return the number of products of the store."""
        return int(self.product_subclass.size)


def next_purchase_split(data: TaFeng, split: dt.date) -> NextPurchaseSplit:
    """Cut Ta-Feng at a month start for the next-purchase task."""
    train, test = train_mask(data, split), test_mask(data, split)
    history = Purchases(data.customer[train], data.product[train], data.day[train])
    shape = (data.customer_ids.size, data.product_ids.size)
    pairs: OwnedPairs = owned_pairs(history)
    days_bought = pairs.matrix(pairs.days, shape)
    clients = np.intersect1d(np.unique(data.customer[test]), pairs.client)
    bought = sparse.csr_matrix(
        (np.ones(int(test.sum())), (data.customer[test], data.product[test])), shape=shape
    )[clients]
    relevant = [
        np.unique(bought.indices[bought.indptr[i] : bought.indptr[i + 1]])
        for i in range(clients.size)
    ]
    return NextPurchaseSplit(
        split=split,
        history=history,
        product_subclass=data.product_subclass(),
        clients=clients,
        relevant=relevant,
        days_bought=days_bought,
    )


def run(dataset: str, split: dt.date | None, progress: Progress) -> list[Row]:
    """Rank every product for the clients of the test month; one row per method."""
    task = load_task(dataset, split, progress)
    methods: dict[str, Ranker] = {
        "popularity": lambda: popularity_top_k(task),
        "repurchase + popularity": lambda: repurchase_top_k(task),
        "implicit ALS": lambda: als_top_k(task.days_bought, task.clients, K),
        "implicit item-kNN": lambda: item_knn_top_k(task.days_bought, task.clients, K),
    }
    rows = [Row(TASK, dataset, "data", "clients", float(task.clients.size), 0.0)]
    return (
        rows + extramile_rows(dataset, task, progress) + evaluate(dataset, task, methods, progress)
    )


def load_task(dataset: str, split: dt.date | None, progress: Progress) -> NextPurchaseSplit:
    """Load Ta-Feng and cut the split, saying how many clients it scores."""
    if dataset != "ta-feng":
        raise ValueError(f"next-purchase runs on ta-feng, not {dataset}")
    progress("loading Ta-Feng")
    task = next_purchase_split(load_ta_feng(), split or DEFAULT_SPLIT)
    size = sum(r.size for r in task.relevant)
    progress(f"split {task.split}: {task.clients.size} clients, {size} (client, product) to find")
    return task


def evaluate(
    dataset: str, task: NextPurchaseSplit, methods: dict[str, Ranker], progress: Progress
) -> list[Row]:
    """Rank with every method, in order, and return its recall@10 with the seconds it took."""
    rows = []
    for method, ranker in methods.items():
        progress(f"{method}: ranking")
        with stopwatch() as seconds:
            recall = recall_at_k(ranker(), task.relevant, k=K)
        progress(f"{method}: recall@10 {recall:.4f} in {seconds():.1f} s")
        rows.append(Row(TASK, dataset, method, "recall@10", recall, seconds()))
    return rows


def extramile_rows(dataset: str, task: NextPurchaseSplit, progress: Progress) -> list[Row]:
    """Rank with extramile.engine.nextpurchase; its recall@10, then the share of each driver."""
    progress("extramile: fitting and ranking")
    with stopwatch() as seconds:
        model = NextPurchaseModel(
            task.history,
            product_subclass=task.product_subclass,
            clients=task.days_bought.shape[0],
            today=task.split.toordinal(),
        )
        found = model.recommend(task.clients, K)
        recall = recall_at_k(found.products, task.relevant, k=K)
    progress(f"extramile: recall@10 {recall:.4f} in {seconds():.1f} s")
    rows = [Row(TASK, dataset, "extramile", "recall@10", recall, seconds())]
    drivers = found.drivers
    for signal in SIGNALS:
        share = float(np.mean(drivers == signal)) if drivers.size else 0.0
        rows.append(Row(TASK, dataset, "extramile", f"driver: {signal}", share, 0.0))
    return rows


def buyers(task: NextPurchaseSplit) -> np.ndarray:
    """Return each product's distinct buyers before the split."""
    return np.diff(task.days_bought.tocsc().indptr).astype(float)


def popularity_top_k(task: NextPurchaseSplit) -> np.ndarray:
    """Rank the products with the most buyers first, the same for every client."""
    best = top_k(buyers(task)[None, :], K)
    return np.repeat(best, task.clients.size, axis=0)


def repurchase_top_k(task: NextPurchaseSplit) -> np.ndarray:
    """Rank the client's products by days bought, then everything by buyers."""
    popular = buyers(task)
    tie = popular / (popular.max() + 1.0)
    return blockwise_top_k(lambda c: task.days_bought[c].toarray() + tie, task.clients)


def blockwise_top_k(scores: Callable[[np.ndarray], np.ndarray], clients: np.ndarray) -> np.ndarray:
    """Return the K best columns of `scores(block)` for blocks of clients, stacked."""
    blocks = [top_k(scores(clients[s : s + BLOCK]), K) for s in range(0, clients.size, BLOCK)]
    return np.concatenate(blocks) if blocks else np.empty((0, K), dtype=np.int64)
