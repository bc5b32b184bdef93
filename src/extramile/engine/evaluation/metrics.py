"""Ranking metrics and the shape of one result row."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Row:
    """One metric of one method on one task: a line of `extramile evaluate --json`."""

    task: str
    dataset: str
    method: str
    metric: str
    value: float
    seconds: float

    def as_dict(self) -> dict[str, object]:
        """Return the row as the JSON object the command prints."""
        return asdict(self)


Progress = Callable[[str], None]


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """Yield a function that returns the seconds since the block began."""
    started = time.perf_counter()
    yield lambda: round(time.perf_counter() - started, 3)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Return, per row of a dense score matrix, the column indices of the k best, best first.

    Ties are broken by column index (lower first) so every method ranks deterministically,
    at the k-th place too: `argpartition` alone may keep any of the columns tied with the
    k-th score, and which one it keeps has changed between numpy releases.
    """
    k = min(k, scores.shape[1])
    if k == 0:
        return np.empty((scores.shape[0], 0), dtype=np.int64)
    if np.isnan(scores).any():  # nothing known ranks last
        scores = np.nan_to_num(scores, nan=-np.inf)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    kth = np.take_along_axis(scores, part, axis=1).min(axis=1, keepdims=True)
    above = scores > kth
    tied = scores == kth
    room = k - above.sum(axis=1, keepdims=True)
    keep = above | (tied & (np.cumsum(tied, axis=1) <= room))
    _rows, columns = np.nonzero(keep)  # k per row, rows in order, columns ascending
    chosen = columns.reshape(scores.shape[0], k)
    picked = np.take_along_axis(scores, chosen, axis=1)
    order = np.lexsort((chosen, -picked), axis=1)
    return np.take_along_axis(chosen, order, axis=1)


def recall_at_k(recommended: np.ndarray, relevant: list[np.ndarray], k: int = 10) -> float:
    """Return the mean over users of |top k ∩ relevant| / |relevant|.

    Averaged over the users with at least one relevant item; `recommended[u]` holds user u's
    ranked item indices, best first.
    """
    values = []
    for ranked, truth in zip(recommended, relevant, strict=True):
        if truth.size == 0:
            continue
        hits = np.intersect1d(ranked[:k], truth, assume_unique=False).size
        values.append(hits / truth.size)
    return float(np.mean(values)) if values else 0.0
