"""Time arrival scoring and allocation against the machine's own matrix-product rate.

1,000 new products x 1,000,000 clients (100,000 with `quick`), each side of width 256: about
the columns a store's arrival model has (the leaf categories, brands and colours the new
products carry, the price and a few stated-like columns). Clients' features are drawn once
(float32, seeded); products come in one to six sizes from three size systems, or one size,
with one to eight units per size; every client wears a size in each system (one in ten
unknown).

Three timings over the same arrays, one after the other in this process:
- numpy: the plain matrix product of the same shape, block by block into one preallocated
  output (the most favourable case for numpy) - the limit;
- extramile cold: `match_arrivals` with the score X @ Y.T, shortlisting per variant, sizes,
  at most 2 offers per unit, 3 products per client, then the allocation;
- extramile warm: the same, each block also mixed with the early-sales shares
  (`mix_early`: a softmax per client, which adds passes over the scores).
GFLOP/s counts the 2 x clients x products x width flops of the product in every case.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.harness import Table, say
from extramile.engine.arrivals import Stock, client_blocks, match_arrivals, mix_early

CLIENTS = 1_000_000
QUICK_CLIENTS = 100_000
PRODUCTS = 1_000
WIDTH = 256
BLOCK = 4096
SIZE_SYSTEMS = 3
SIZES = 6
SEED = 20010201
ROUNDS = 2  # each side runs this often, in turn; its fastest run counts


@dataclass(frozen=True)
class Synthetic:
    """Clients' and new products' features, stock and the sizes clients wear."""

    clients: np.ndarray  # clients x width, float32
    products: np.ndarray  # products x width, float32
    stock: Stock
    client_sizes: np.ndarray  # clients x size systems


def synthetic(clients: int, rng: np.random.Generator) -> Synthetic:
    """Draw the features, the stock and the sizes."""
    features = np.empty((clients, WIDTH), dtype=np.float32)
    for start in range(0, clients, 100_000):
        stop = min(start + 100_000, clients)
        features[start:stop] = rng.standard_normal((stop - start, WIDTH), dtype=np.float32)
    products = rng.standard_normal((PRODUCTS, WIDTH), dtype=np.float32) / np.sqrt(WIDTH)
    system = np.where(rng.random(PRODUCTS) < 0.2, -1, rng.integers(0, SIZE_SYSTEMS, PRODUCTS))
    rows: list[tuple[int, int, int]] = []
    for product in range(PRODUCTS):
        sizes = [-1] if system[product] < 0 else rng.choice(SIZES, rng.integers(1, 7), False)
        rows += [(product, int(size), int(rng.integers(1, 9))) for size in sizes]
    product, size, units = (np.array(column) for column in zip(*rows, strict=True))
    worn = rng.integers(0, SIZES, (clients, SIZE_SYSTEMS))
    worn[rng.random((clients, SIZE_SYSTEMS)) < 0.1] = -1
    return Synthetic(
        clients=features,
        products=products,
        stock=Stock(product=product, size=size, units=units, size_system=system),
        client_sizes=worn,
    )


def numpy_limit(data: Synthetic) -> float:
    """Return the seconds of the plain matrix product, block by block into one output."""
    out = np.empty((BLOCK, PRODUCTS), dtype=np.float32)
    right = data.products.T
    started = time.perf_counter()
    for start in range(0, data.clients.shape[0], BLOCK):
        left = data.clients[start : start + BLOCK]
        np.matmul(left, right, out=out[: left.shape[0]])
    return time.perf_counter() - started


def extramile_match(data: Synthetic, *, warm: bool) -> tuple[float, int]:
    """Return the seconds of scoring and allocation, and the offers made."""
    right = data.products.T
    early = np.random.default_rng(SEED).random(PRODUCTS).astype(np.float32)
    early /= early.sum()
    out = np.empty((BLOCK, PRODUCTS), dtype=np.float32)  # each block is used up before the next

    def score(rows: np.ndarray) -> np.ndarray:
        scores = out[: rows.size]
        np.matmul(data.clients[rows[0] : rows[-1] + 1], right, out=scores)  # rows consecutive
        if warm:
            mix_early(scores, early, 0.9)
        return scores

    started = time.perf_counter()
    offers = match_arrivals(
        score,
        np.arange(data.clients.shape[0]),
        stock=data.stock,
        client_sizes=data.client_sizes,
        block=BLOCK,
    )
    return time.perf_counter() - started, len(offers)


def gflops(clients: int, seconds: float) -> float:
    """Return the rate of the clients x products x width product in GFLOP/s."""
    return 2 * clients * PRODUCTS * WIDTH / seconds / 1e9


def run(quick: bool) -> tuple[Table, dict[str, Any]]:
    """Time numpy's product, then extramile's cold and warm matching; return the table."""
    clients = QUICK_CLIENTS if quick else CLIENTS
    say(f"arrivals: drawing {clients:,} clients x {WIDTH} features, {PRODUCTS:,} products")
    data = synthetic(clients, np.random.default_rng(SEED))
    best: dict[str, float] = {}
    offers: dict[str, int] = {}
    for round_ in range(1, ROUNDS + 1):
        say(f"arrivals: round {round_} of {ROUNDS}: numpy matrix product (the limit)")
        best["numpy"] = min(best.get("numpy", np.inf), numpy_limit(data))
        for side in ("cold", "warm"):
            say(f"arrivals: round {round_} of {ROUNDS}: extramile {side}")
            seconds, offers[side] = extramile_match(data, warm=side == "warm")
            best[side] = min(best.get(side, np.inf), seconds)
    limit, cold, warm = best["numpy"], best["cold"], best["warm"]
    cold_offers, warm_offers = offers["cold"], offers["warm"]
    rate = gflops(clients, limit)
    table = Table(
        title=(
            f"Arrival scoring and allocation: {PRODUCTS:,} new products x {clients:,} clients, "
            f"width {WIDTH}, float32"
        ),
        header=["side", "seconds", "GFLOP/s", "of numpy", "offers"],
    )
    table.add("numpy matrix product (limit)", f"{limit:.2f}", f"{rate:.1f}", "100%", "-")
    numbers: dict[str, Any] = {
        "clients": clients,
        "products": PRODUCTS,
        "width": WIDTH,
        "numpy seconds": round(limit, 3),
        "numpy GFLOP/s": round(rate, 2),
    }
    for side, seconds, offers in (("cold", cold, cold_offers), ("warm", warm, warm_offers)):
        achieved = gflops(clients, seconds)
        table.add(
            f"extramile {side}: score + allocate",
            f"{seconds:.2f}",
            f"{achieved:.1f}",
            f"{achieved / rate:.0%}",
            f"{offers:,}",
        )
        numbers[f"extramile {side} seconds"] = round(seconds, 3)
        numbers[f"extramile {side} GFLOP/s"] = round(achieved, 2)
        numbers[f"extramile {side} share of numpy"] = round(achieved / rate, 3)
        numbers[f"extramile {side} offers"] = offers
    table.notes += [
        f"numpy: X @ Y.T in blocks of {BLOCK:,} clients into one preallocated output. The "
        f"sides run in turn, {ROUNDS} rounds, and each side's fastest run counts (the machine "
        "may be shared). extramile: match_arrivals with the "
        "same product per block, then per-variant shortlists, sizes, 2 offers per unit, 3 "
        "products per client and the allocation; warm also mixes each block with early-sales "
        "shares (a softmax per client).",
        f"Stock: {len(data.stock.units):,} variants, {int(data.stock.units.sum()):,} units; "
        "GFLOP/s counts 2 x clients x products x width for every side.",
    ]
    numbers["blocks"] = len(client_blocks(np.arange(clients), BLOCK))
    return table, numbers
