"""The `implicit` package's collaborative filters as baselines: ALS and item-kNN.

Both are fitted on a client x product matrix of distinct purchase days and rank every product
for the asked clients, products already bought included (a grocery client buys them again).
`implicit` is an optional dependency: it is imported inside the functions only, with its
threads held to `THREADS` and BLAS to one thread (as implicit asks, and for a fair timing).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import sparse

THREADS = 2
SEED = 0
# The settings of implicit's own examples: BM25 weighting, 64 factors, 15 iterations.
ALS = {"factors": 64, "regularization": 0.01, "iterations": 15}
BM25 = {"K1": 100, "B": 0.8}
NEIGHBOURS = 100


def rank_with(
    make_model: Callable[[], Any], user_items: sparse.csr_matrix, clients: np.ndarray, k: int
) -> np.ndarray:
    """Fit an implicit model on every client's row and return the clients' k best products."""
    from threadpoolctl import threadpool_limits  # installed with implicit's dependencies

    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        # implicit converts its own intermediate matrices and warns about it.
        warnings.filterwarnings("ignore", message="Method expects CSR input")
        model = make_model()  # implicit checks the BLAS threads when the model is made
        model.fit(user_items, show_progress=False)
        ids, _ = model.recommend(
            clients, user_items[clients], N=k, filter_already_liked_items=False
        )
    return np.asarray(ids, dtype=np.int64)


def als_top_k(days_bought: sparse.csr_matrix, clients: np.ndarray, k: int = 10) -> np.ndarray:
    """Return the clients' k best products by implicit's ALS on BM25-weighted purchase days."""
    from implicit.als import AlternatingLeastSquares
    from implicit.nearest_neighbours import bm25_weight

    weighted = bm25_weight(days_bought, **BM25).tocsr().astype(np.float32)
    return rank_with(
        lambda: AlternatingLeastSquares(**ALS, random_state=SEED, num_threads=THREADS),
        weighted,
        clients,
        k,
    )


def item_knn_top_k(days_bought: sparse.csr_matrix, clients: np.ndarray, k: int = 10) -> np.ndarray:
    """Return the clients' k best products by implicit's item-item cosine neighbours."""
    from implicit.nearest_neighbours import CosineRecommender

    bought = days_bought.copy().tocsr()
    bought.data[:] = 1.0
    return rank_with(
        lambda: CosineRecommender(K=NEIGHBOURS, num_threads=THREADS), bought, clients, k
    )
