"""Time splits of Ta-Feng shared by the evaluation tasks: masks by date, new products, truth.

A split is a month start: lines before it train the models, the month it begins is the test
month. The new-arrival tasks (arrivals, cold-start) further cut the test month after its first
week (`EARLY_DAYS`): the first week is what a warm model may know of the new products' sales,
and what clients buy from the eighth day to the month's end is what they are scored on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from extramile.engine.arrivals import Catalog, EarlySales, Purchases
from extramile.engine.datasets import TaFeng

DEFAULT_SPLIT = dt.date(2001, 2, 1)
EARLY_DAYS = 7
# A Ta-Feng product id is a barcode: 13 digits (EAN-13, the first 7, 9 and 11 digits name
# the maker and then ever narrower lines of its products) or 8 (EAN-8 and the store's own
# codes, read to 4, 5 and 6 digits). These are the brand-like tags of the cold start.
MAKER_DIGITS = {"maker": (7, 4), "maker line": (9, 5), "maker series": (11, 6)}
SUBCLASS_DIGITS = (2, 4, 6)  # a subclass code's first 2 and 4 digits name its parents


def month_end(split: dt.date) -> dt.date:
    """Return the first day after the month that starts at `split` (the test period's end)."""
    return (split.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def days_between(data: TaFeng, start: dt.date | None, end: dt.date | None) -> np.ndarray:
    """Return a mask of the lines on or after `start` and before `end` (None: no bound)."""
    mask = np.ones(data.lines, dtype=bool)
    if start is not None:
        mask &= data.day >= start.toordinal()
    if end is not None:
        mask &= data.day < end.toordinal()
    return mask


def train_mask(data: TaFeng, split: dt.date) -> np.ndarray:
    """Return a mask of the lines before the split."""
    return days_between(data, None, split)


def test_mask(data: TaFeng, split: dt.date) -> np.ndarray:
    """Return a mask of the lines of the test month (from the split to the month's end)."""
    return days_between(data, split, month_end(split))


def first_sold(data: TaFeng) -> np.ndarray:
    """Return each product's first day of sale (a date ordinal)."""
    first = np.full(data.product_ids.size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, data.product, data.day)
    return first


def new_products(data: TaFeng, split: dt.date) -> np.ndarray:
    """Return the products first sold in the test month, in product code order."""
    first = first_sold(data)
    return np.flatnonzero((first >= split.toordinal()) & (first < month_end(split).toordinal()))


def pairs_matrix(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sparse.csr_matrix:
    """Return a 0/1 matrix with a 1 at each (row, col) pair, skipping a row or col of -1."""
    keep = (rows >= 0) & (cols >= 0)
    matrix = sparse.csr_matrix(
        (np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=shape, dtype=np.float64
    )
    matrix.data[:] = 1.0
    return matrix


@dataclass(frozen=True)
class ArrivalSplit:
    """One month's new-arrival task: what is known, whom we score and what they bought.

    `clients` are the customers with lines before the split who buy a new product from the
    eighth day of the test month to its end; `relevant[i]` lists the new products (indices
    into `new`) client i buys then, whether or not they bought them in the first week.
    """

    split: dt.date
    new: np.ndarray  # product codes of the new products
    clients: np.ndarray  # customer codes of the clients scored
    relevant: list[np.ndarray]
    train: np.ndarray  # line mask: before the split
    early: np.ndarray  # line mask: the first week of the test month
    later: np.ndarray  # line mask: day 8 to the month's end

    @property
    def scored_from(self) -> dt.date:
        """Return the first day whose purchases are scored (the split + the first week)."""
        return self.split + dt.timedelta(days=EARLY_DAYS)


def arrival_split(data: TaFeng, split: dt.date) -> ArrivalSplit:
    """Cut Ta-Feng at a month start for the arrivals and cold-start tasks."""
    new = new_products(data, split)
    column = np.full(data.product_ids.size, -1, dtype=np.int64)
    column[new] = np.arange(new.size)
    train = train_mask(data, split)
    early_end = split + dt.timedelta(days=EARLY_DAYS)
    later = days_between(data, early_end, month_end(split)) & (column[data.product] >= 0)
    clients = np.intersect1d(np.unique(data.customer[later]), np.unique(data.customer[train]))
    row = np.full(data.customer_ids.size, -1, dtype=np.int64)
    row[clients] = np.arange(clients.size)
    bought = pairs_matrix(
        row[data.customer[later]], column[data.product[later]], (clients.size, new.size)
    )
    relevant = [
        bought.indices[bought.indptr[i] : bought.indptr[i + 1]] for i in range(clients.size)
    ]
    return ArrivalSplit(
        split=split,
        new=new,
        clients=clients,
        relevant=relevant,
        train=train,
        early=days_between(data, split, early_end),
        later=later,
    )


def first_day_price(data: TaFeng) -> np.ndarray:
    """Return each product's median unit price on its first day of sale (its shelf price)."""
    first = first_sold(data)
    on_first_day = data.day == first[data.product]
    per_unit = data.sales_price[on_first_day] / np.maximum(data.amount[on_first_day], 1)
    product = data.product[on_first_day]
    order = np.lexsort((per_unit, product))
    products, starts, counts = np.unique(product[order], return_index=True, return_counts=True)
    price = np.full(data.product_ids.size, np.nan)
    price[products] = per_unit[order][starts + counts // 2]
    return price


def _prefix_codes(values: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Return dense codes of each string's first `length` characters (tagged by its length)."""
    keys = np.array([f"{len(v)}:{v[:n]}" for v, n in zip(values.tolist(), length, strict=True)])
    return np.unique(keys, return_inverse=True)[1].astype(np.int64)


def tafeng_catalog(data: TaFeng, *, makers: bool = True) -> Catalog:
    """Return Ta-Feng's products as a catalog: subclass path, maker tags, shelf price.

    The category path is the subclass code read to 2, 4 and 6 digits; without `makers` the
    catalog has no tags (subclass and price only).
    """
    subclass = data.subclass_ids[data.product_subclass()]
    levels = [
        np.unique([s[:n] for s in subclass.tolist()], return_inverse=True)[1]
        for n in SUBCLASS_DIGITS
    ]
    tags = {}
    if makers:
        ids = data.product_ids
        long_code = np.char.str_len(ids.astype(str)) >= 13
        for name, (long_digits, short_digits) in MAKER_DIGITS.items():
            tags[name] = _prefix_codes(ids, np.where(long_code, long_digits, short_digits))
    return Catalog(
        category=np.stack(levels, axis=1).astype(np.int64),
        tags=tags,
        price=first_day_price(data),
    )


def purchases_of(data: TaFeng, mask: np.ndarray) -> Purchases:
    """Return the lines of a mask as purchases (customer codes are the client numbers)."""
    return Purchases(client=data.customer[mask], product=data.product[mask], day=data.day[mask])


def early_sales(data: TaFeng, task: ArrivalSplit) -> EarlySales:
    """Return the new products' first-week sales: distinct buyers each, and who bought what."""
    column = np.full(data.product_ids.size, -1, dtype=np.int64)
    column[task.new] = np.arange(task.new.size)
    mask = task.early & (column[data.product] >= 0)
    pairs = np.unique(data.customer[mask] * task.new.size + column[data.product[mask]])
    client, product = pairs // task.new.size, pairs % task.new.size
    return EarlySales(
        buyers=np.bincount(product, minlength=task.new.size).astype(float),
        client=client,
        product=product,
    )
