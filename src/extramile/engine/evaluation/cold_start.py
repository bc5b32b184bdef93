"""`extramile evaluate cold-start --dataset ta-feng`: new products, no sale of them known.

The same split, clients and relevant products as the arrivals task (arrivals.py), but every
method knows only the lines before the split: a new product is its attributes alone (its
subclass path, its price on its first day of sale and, for extramile, the maker read from its
barcode).

Methods, all computed here on the same split:
- extramile: extramile.engine.arrivals in its cold mode;
- popularity: the lines of the product's subclass before the split;
- subclass affinity (subclass popularity ties): the client's lines in the product's subclass,
  ties broken by the subclass's lines;
- LightFM (subclass features): WARP on the lines before the split, products described by their
  subclass and price decile only, 32 components, 20 epochs, seed 0;
- extramile (subclass + price only): ours without the makers read from the barcodes.
"""

from __future__ import annotations

import datetime as dt

from extramile.engine.evaluation.arrivals import (
    Scorer,
    affinity,
    broadcast,
    evaluate,
    extramile_scores,
    lightfm_scores,
    load_task,
    size_rows,
    subclass_lines,
    subclass_popularity,
)
from extramile.engine.evaluation.metrics import Progress, Row

TASK = "cold-start"


def run(dataset: str, split: dt.date | None, progress: Progress) -> list[Row]:
    """Rank the new products from their attributes alone; one row per method."""
    data, task = load_task(dataset, split, progress)
    popular = subclass_popularity(data, task)
    methods: dict[str, Scorer] = {
        "extramile": lambda: extramile_scores(data, task, warm=False),
        "popularity": lambda: broadcast(popular, task),
        "subclass affinity (subclass popularity ties)": lambda: affinity(
            data, task, subclass_lines(data, task.train, task.clients), popular
        ),
        "LightFM (subclass features)": lambda: lightfm_scores(data, task, task.train),
        "extramile (subclass + price only)": lambda: extramile_scores(
            data, task, warm=False, makers=False
        ),
    }
    return size_rows(TASK, dataset, task) + evaluate(TASK, dataset, task, methods, progress)
