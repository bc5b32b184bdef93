"""Stock-aware allocation: scarce units are offered to the best-fitting clients first.

An offer pairs a client with one in-stock variant (a size and colour in their store). Each
variant is offered to at most `per_unit` x its units clients, best fit first (ties to the
lower client number, so a rerun gives the same answer). We take `per_unit` = 2: an offer is
not a sale, and about half the clients told of a piece do not come for it, so two offers per
unit keep a scarce piece moving without telling more people than could plausibly have it. A
variant with plenty of stock is offered to every client it fits.

With `per_client`, a client is also offered at most that many products (one message shows a
few): a client who is among the best for more products keeps their best ones, and each place
they give up goes to the next client of that variant. The result is the greedy one (offers
taken best fit first while both the variant and the client have room), found by rounds of
proposals in which each variant offers its places to its best remaining clients and each
client keeps their best offers and turns down the rest for good.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PER_UNIT = 2


@dataclass(frozen=True)
class Offers:
    """Candidate offers as parallel arrays, one row per (client, variant)."""

    client: np.ndarray  # client number
    variant: np.ndarray  # variant number, an index into the units array
    product: np.ndarray  # product number, to keep one variant per client and product
    fit: np.ndarray  # how well the piece fits the client, higher first

    def take(self, rows: np.ndarray) -> Offers:
        """Return the offers at `rows` (indices or a boolean mask)."""
        return Offers(
            client=self.client[rows],
            variant=self.variant[rows],
            product=self.product[rows],
            fit=self.fit[rows],
        )

    def __len__(self) -> int:
        return int(self.client.size)

    @staticmethod
    def concatenate(parts: list[Offers]) -> Offers:
        """Join several sets of offers into one."""
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return Offers(client=empty, variant=empty, product=empty, fit=np.zeros(0))
        return Offers(
            client=np.concatenate([p.client for p in parts]),
            variant=np.concatenate([p.variant for p in parts]),
            product=np.concatenate([p.product for p in parts]),
            fit=np.concatenate([p.fit for p in parts]),
        )


def top_per_group(
    group: np.ndarray, fit: np.ndarray, limit: np.ndarray | int, *, tie: np.ndarray | None = None
) -> np.ndarray:
    """Return a mask keeping, in each group, the `limit` rows of highest fit.

    `limit` is one number for every group or an array indexed by group number; ties in fit go
    to the lower `tie` value (by default the row's position).
    """
    group = np.asarray(group, dtype=np.int64)
    fit = np.asarray(fit, dtype=float)
    if group.size == 0:
        return np.zeros(0, dtype=bool)
    tie = np.arange(group.size) if tie is None else np.asarray(tie)
    order = np.lexsort((tie, -fit, group))
    sorted_group = group[order]
    starts = np.flatnonzero(np.r_[True, sorted_group[1:] != sorted_group[:-1]])
    lengths = np.diff(np.r_[starts, sorted_group.size])
    rank = np.arange(sorted_group.size) - np.repeat(starts, lengths)
    limits = np.asarray(limit)[sorted_group] if np.ndim(limit) else np.full(group.size, limit)
    keep = np.zeros(group.size, dtype=bool)
    keep[order] = rank < limits
    return keep


def best_variant_per_product(offers: Offers) -> Offers:
    """Keep, for each client and product, only the variant that fits best (one slot each)."""
    if len(offers) == 0:
        return offers
    pair = offers.client.astype(np.int64) * (int(offers.product.max()) + 1) + offers.product
    _, pair_number = np.unique(pair, return_inverse=True)
    return offers.take(top_per_group(pair_number, offers.fit, 1, tie=offers.variant))


def allocate(
    offers: Offers,
    units: np.ndarray,
    *,
    per_unit: int = PER_UNIT,
    per_client: int | None = None,
) -> Offers:
    """Keep at most `per_unit` x units offers per variant, the best-fitting clients first.

    With `per_client`, also at most that many offers per client (see the module's docstring).
    """
    if len(offers) == 0:
        return offers
    capacity = np.maximum(np.asarray(units, dtype=np.int64), 0) * per_unit
    if per_client is None:
        return offers.take(top_per_group(offers.variant, offers.fit, capacity, tie=offers.client))
    return offers.take(_rounds(offers, capacity, per_client))


def _rounds(offers: Offers, capacity: np.ndarray, per_client: int) -> np.ndarray:
    """Return the mask of the offers kept when both variants and clients have limits."""
    open_ = np.ones(len(offers), dtype=bool)  # not yet turned down
    while True:
        rows = np.flatnonzero(open_)
        proposed = rows[
            top_per_group(offers.variant[rows], offers.fit[rows], capacity, tie=offers.client[rows])
        ]
        kept = proposed[
            top_per_group(
                offers.client[proposed],
                offers.fit[proposed],
                per_client,
                tie=offers.variant[proposed],
            )
        ]
        if kept.size == proposed.size:
            mask = np.zeros(len(offers), dtype=bool)
            mask[kept] = True
            return mask
        open_[np.setdiff1d(proposed, kept)] = False
