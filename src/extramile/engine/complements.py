"""Basket complements: what is most often bought together with a product, from the store's baskets.

The baskets become one sparse order x product incidence matrix X (1 when the order holds the
product, however many units); X^T X then holds, for every pair of products, the number of
baskets holding both, and its diagonal the number holding each. From those counts, for a pair
(a, b) in N baskets:

- support    = together / N — how common the pair is;
- confidence = together / baskets with a — how often a buyer of a also takes b;
- lift       = confidence / (baskets with b / N) — above 1 when b goes with a more than with
  any basket, so an item in every basket (the milk) is never anyone's complement.

Complements of a product rank by confidence, the "most often bought with" of the story, among
partners with a lift above `min_lift` and seen together at least `min_together` times. Only the
row of the asked product is computed for a query (X[:, a]^T X), so one query costs the baskets
that hold it; `cooccurrence()` gives the whole X^T X when every pair is wanted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse


@dataclass(frozen=True)
class Complement:
    """A product bought together with another, and how strongly."""

    product_id: int
    together: int
    support: float
    confidence: float
    lift: float


class BasketMatrix:
    """The baskets of one store as a sparse order x product matrix, ready for complement queries."""

    def __init__(self, matrix: sparse.csc_matrix, product_ids: npt.NDArray[np.int64]) -> None:
        """Wrap a binary CSC matrix whose column j is the product `product_ids[j]`."""
        self.matrix = matrix
        self.product_ids = product_ids
        self.column = {int(pid): j for j, pid in enumerate(product_ids)}
        self.baskets = int(matrix.shape[0])
        self.counts = np.asarray(matrix.sum(axis=0)).ravel().astype(np.int64)
        self._rows = matrix.tocsr()

    @classmethod
    def from_lines(cls, order_ids: npt.ArrayLike, product_ids: npt.ArrayLike) -> BasketMatrix:
        """Build the matrix from parallel order ids and product ids, one pair per order line."""
        orders = np.asarray(order_ids, dtype=np.int64)
        products = np.asarray(product_ids, dtype=np.int64)
        if orders.shape != products.shape:
            raise ValueError(
                f"order_ids and product_ids differ in length: {orders.size} vs {products.size}"
            )
        _, rows = np.unique(orders, return_inverse=True)
        columns_ids, columns = np.unique(products, return_inverse=True)
        shape = (int(rows.max()) + 1 if rows.size else 0, columns_ids.size)
        data = np.ones(rows.size, dtype=np.int32)
        matrix = sparse.csc_matrix((data, (rows, columns)), shape=shape)
        matrix.sum_duplicates()
        matrix.data[:] = 1  # a product twice in one basket is still one basket
        return cls(matrix, columns_ids)

    def baskets_with(self, product_id: int) -> int:
        """Return how many baskets hold the product (0 when it was never bought)."""
        j = self.column.get(product_id)
        return 0 if j is None else int(self.counts[j])

    def together_counts(self, product_id: int) -> npt.NDArray[np.int64]:
        """Return, for every product, the number of baskets it shares with `product_id`."""
        j = self.column.get(product_id)
        if j is None:
            return np.zeros(self.product_ids.size, dtype=np.int64)
        start, end = self.matrix.indptr[j], self.matrix.indptr[j + 1]
        rows = self.matrix.indices[start:end]
        return np.asarray(self._rows[rows].sum(axis=0)).ravel().astype(np.int64)

    def cooccurrence(self) -> sparse.csr_matrix:
        """Return X^T X: baskets holding each pair of products, each product on the diagonal."""
        x = self._rows
        return (x.T @ x).tocsr()

    def complements(
        self,
        product_id: int,
        *,
        top: int = 10,
        min_together: int = 2,
        min_lift: float = 1.0,
        exclude: Iterable[int] = (),
    ) -> list[Complement]:
        """Return the products most often bought with `product_id`, best first.

        Kept: seen together at least `min_together` times with a lift above `min_lift`;
        ranked by confidence, then lift, then product id (so ties are stable).
        """
        anchor = self.baskets_with(product_id)
        if anchor == 0 or self.baskets == 0:
            return []
        together = self.together_counts(product_id)
        together[self.column[product_id]] = 0
        for other in exclude:
            j = self.column.get(other)
            if j is not None:
                together[j] = 0
        candidates = np.flatnonzero(together >= max(min_together, 1))
        if candidates.size == 0:
            return []
        pairs = together[candidates].astype(np.float64)
        confidence = pairs / anchor
        lift = confidence / (self.counts[candidates] / self.baskets)
        keep = lift > min_lift
        candidates, pairs, confidence, lift = (
            candidates[keep],
            pairs[keep],
            confidence[keep],
            lift[keep],
        )
        order = np.lexsort((self.product_ids[candidates], -lift, -confidence))[:top]
        return [
            Complement(
                product_id=int(self.product_ids[candidates[i]]),
                together=int(pairs[i]),
                support=float(pairs[i] / self.baskets),
                confidence=float(confidence[i]),
                lift=float(lift[i]),
            )
            for i in order
        ]
