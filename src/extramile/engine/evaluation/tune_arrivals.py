"""`extramile evaluate tune-arrivals --dataset ta-feng`: how ArrivalWeights were chosen, rerun.

The weights of extramile.engine.arrivals are chosen on the months before February only: the
December split (trained on November) and the January split (trained on November and
December), never on February, the month the issue's figures are read on. `--split` is not
used: the tuning months are fixed.

Cold weights (half-life, smoothing, tag affinity and popularity, cheapness, price gap): a
coordinate search from the shipped weights over the grid below, one weight at a time, keeping
a change only when it raises the mean cold-start recall@10 of the two months, until a whole
pass changes nothing (at most `PASSES`). The warm mix (early share, bought early) on the cold
weights found: every pair of the grid, keeping the pair whose smaller gain over first-week
popularity, of the two months, is largest, so the mix is not carried by one month.

Rows: per month, recall@10 of the chosen weights (cold and warm) and of first-week popularity;
then one row per weight with the value chosen (method "chosen") and the shipped one (method
"shipped"), so a reader sees at once whether the search still lands on what the product uses.
The seconds column holds the whole search's time on the chosen rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from extramile.engine.arrivals import ArrivalModel, ArrivalWeights, TasteProfiles
from extramile.engine.datasets import TaFeng, load_ta_feng
from extramile.engine.evaluation.arrivals import product_lines, taste_profiles
from extramile.engine.evaluation.metrics import Progress, Row, recall_at_k, top_k
from extramile.engine.evaluation.tafeng_split import (
    ArrivalSplit,
    arrival_split,
    early_sales,
    tafeng_catalog,
)

TASK = "tune-arrivals"
MONTHS = (dt.date(2000, 12, 1), dt.date(2001, 1, 1))
PASSES = 3
HALF_LIFE_NONE = 0.0  # no decay: TasteProfiles weighs every line alike when the half-life is 0
COLD_GRID: dict[str, tuple[float, ...]] = {
    "half_life_days": (HALF_LIFE_NONE, 60.0, 120.0),
    "smoothing": (20.0, 50.0, 100.0),
    "affinity": (0.2, 0.5),
    "popularity": (0.1, 0.3),
    "cheapness": (0.3, 0.5, 0.7, 1.0),
    "price_gap": (0.0, 0.1),
}
WARM_GRID: dict[str, tuple[float, ...]] = {
    "early_share": (0.7, 0.8, 0.9, 0.95),
    "bought_early": (0.0, 0.5, 1.0, 2.0),
}

Objective = Callable[[ArrivalWeights], float]


@dataclass(frozen=True)
class Search:
    """Where a search ended, and how many weight settings it scored on the way."""

    weights: ArrivalWeights
    value: float
    tried: int


def coordinate_search(
    start: ArrivalWeights,
    grid: Mapping[str, Sequence[float]],
    objective: Objective,
    *,
    passes: int = PASSES,
    progress: Progress | None = None,
) -> Search:
    """Improve `start` one weight at a time over `grid`; stop when a pass changes nothing.

    A change is kept only when it scores strictly higher, so ties keep the current weight and
    the search cannot cycle. Each setting is scored once (remembered), whatever the order.
    """
    seen: dict[tuple[float, ...], float] = {}

    def score(weights: ArrivalWeights) -> float:
        key = tuple(asdict(weights).values())
        if key not in seen:
            seen[key] = objective(weights)
        return seen[key]

    best, best_value = start, score(start)
    for number in range(1, passes + 1):
        changed = False
        for name, values in grid.items():
            for value in values:
                candidate = replace(best, **{name: value})
                candidate_value = score(candidate)
                if candidate_value > best_value:
                    best, best_value, changed = candidate, candidate_value, True
            if progress:
                progress(f"pass {number}: {name} = {getattr(best, name):g} ({best_value:.4f})")
        if not changed:
            break
    return Search(best, best_value, len(seen))


def best_pair(
    start: ArrivalWeights,
    grid: Mapping[str, Sequence[float]],
    objective: Objective,
) -> Search:
    """Score every combination of `grid` on top of `start`; return the best (first on ties)."""
    names = list(grid)
    best, best_value, tried = start, -np.inf, 0
    for values in itertools.product(*(grid[n] for n in names)):
        candidate = replace(start, **dict(zip(names, values, strict=True)))
        value = objective(candidate)
        tried += 1
        if value > best_value:
            best, best_value = candidate, value
    return Search(best, float(best_value), tried)


class Month:
    """One tuning month: its split, and the recall of any weights, cold or warm."""

    def __init__(self, data: TaFeng, split: dt.date) -> None:
        """Cut the month and prepare what does not depend on the weights."""
        self.data = data
        self.task: ArrivalSplit = arrival_split(data, split)
        self.catalog = tafeng_catalog(data, makers=True)
        self.early = early_sales(data, self.task)
        self._profiles: dict[tuple[bool, float], TasteProfiles] = {}
        first_week = product_lines(data, self.task.early, self.task.new)
        self.first_week = self._recall(
            np.broadcast_to(first_week, (self.task.clients.size, self.task.new.size))
        )

    def _recall(self, scores: np.ndarray) -> float:
        return recall_at_k(top_k(scores, 10), self.task.relevant, k=10)

    def _profiles_for(self, warm: bool, half_life: float) -> TasteProfiles:
        key = (warm, half_life)
        if key not in self._profiles:
            self._profiles[key] = taste_profiles(
                self.data, self.task, self.catalog, warm=warm, half_life_days=half_life
            )
        return self._profiles[key]

    def recall(self, weights: ArrivalWeights, *, warm: bool) -> float:
        """Return recall@10 of the arrival model with these weights, cold or warm."""
        profiles = self._profiles_for(warm, weights.half_life_days)
        model = ArrivalModel(
            profiles, self.task.new, weights=weights, early=self.early if warm else None
        )
        return self._recall(model.score(self.task.clients))


def run(dataset: str, split: dt.date | None, progress: Progress) -> list[Row]:
    """Search the weights on December and January; rows of the result beside the shipped ones."""
    if dataset != "ta-feng":
        raise ValueError(f"tune-arrivals runs on ta-feng, not {dataset}")
    if split is not None:
        raise ValueError("tune-arrivals tunes on December and January only; leave out --split")
    started = time.perf_counter()
    progress("loading Ta-Feng")
    data = load_ta_feng()
    months = [Month(data, month) for month in MONTHS]
    for month in months:
        progress(
            f"{month.task.split}: {month.task.new.size} new products, "
            f"{month.task.clients.size} clients; first-week popularity {month.first_week:.4f}"
        )

    def cold(weights: ArrivalWeights) -> float:
        return float(np.mean([m.recall(weights, warm=False) for m in months]))

    def warm_gain(weights: ArrivalWeights) -> float:
        return min(m.recall(weights, warm=True) - m.first_week for m in months)

    shipped = ArrivalWeights()
    progress("cold weights: coordinate search on the mean recall of the two months")
    found = coordinate_search(shipped, COLD_GRID, cold, progress=progress)
    progress(f"warm mix: all {np.prod([len(v) for v in WARM_GRID.values()])} pairs")
    mixed = best_pair(found.weights, WARM_GRID, warm_gain)
    chosen = mixed.weights
    seconds = round(time.perf_counter() - started, 3)
    progress(f"{found.tried + mixed.tried} settings scored in {seconds:.0f} s")

    rows: list[Row] = []
    for month in months:
        name = f"{month.task.split:%Y-%m}"
        rows += [
            Row(
                TASK,
                dataset,
                "chosen",
                f"cold recall@10 {name}",
                month.recall(chosen, warm=False),
                seconds,
            ),
            Row(
                TASK,
                dataset,
                "chosen",
                f"warm recall@10 {name}",
                month.recall(chosen, warm=True),
                seconds,
            ),
            Row(
                TASK,
                dataset,
                "first-week popularity",
                f"warm recall@10 {name}",
                month.first_week,
                0.0,
            ),
        ]
    for name in (*COLD_GRID, *WARM_GRID):
        rows.append(Row(TASK, dataset, "chosen", name, float(getattr(chosen, name)), seconds))
        rows.append(Row(TASK, dataset, "shipped", name, float(getattr(shipped, name)), 0.0))
    return rows
