"""`extramile evaluate TASK --dataset NAME [--split YYYY-MM-DD] [--json]`."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import sys

from extramile.engine.evaluation.metrics import Row

# Task name on the command line -> module under extramile.engine.evaluation, and its data sets.
TASKS = {
    "arrivals": ("arrivals", ("ta-feng",)),
    "cold-start": ("cold_start", ("ta-feng",)),
    "next-purchase": ("next_purchase", ("ta-feng",)),
    "timing": ("timing", ("cdnow", "cdnow-full")),
    "complements": ("complements", ("ta-feng",)),
    "tune-arrivals": ("tune_arrivals", ("ta-feng",)),
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="extramile evaluate",
        description="Our models beside their baselines on public data (docs/evaluation.md).",
    )
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("--dataset", required=True, help="ta-feng, cdnow or cdnow-full")
    parser.add_argument(
        "--split",
        type=dt.date.fromisoformat,
        default=None,
        help="first day of the test period (a month start for Ta-Feng; default per task)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per metric")
    args = parser.parse_args(argv)
    datasets = TASKS[args.task][1]
    if args.dataset not in datasets:
        parser.error(f"{args.task} runs on {', '.join(datasets)}, not {args.dataset}")
    return args


def table(rows: list[Row]) -> str:
    """Return the rows as a plain-text table, one line per method and metric."""
    header = ("method", "metric", "value", "seconds")
    lines = [(r.method, r.metric, f"{r.value:.4f}", f"{r.seconds:.2f}") for r in rows]
    widths = [max(len(x) for x in column) for column in zip(header, *lines, strict=True)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)) for line in lines]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    """Run one evaluation task and print its rows."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    module = importlib.import_module(f"extramile.engine.evaluation.{TASKS[args.task][0]}")

    def progress(message: str) -> None:
        sys.stderr.write(f"[{args.task}] {message}\n")
        sys.stderr.flush()

    rows: list[Row] = module.run(args.dataset, args.split, progress)
    if args.json:
        for row in rows:
            sys.stdout.write(json.dumps(row.as_dict()) + "\n")
    else:
        sys.stdout.write(f"{args.task} on {args.dataset}\n{table(rows)}\n")


if __name__ == "__main__":
    main()
