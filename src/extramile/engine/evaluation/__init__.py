"""`extramile evaluate`: the models beside their baselines on public data, same run, same split.

Each task module (arrivals, cold_start, next_purchase, timing, complements) has
`run(dataset: str, split: datetime.date | None, progress) -> list[Row]`; cli.py prints the rows
as a table, or as JSON lines with --json. The splits are documented in docs/evaluation.md.
"""
