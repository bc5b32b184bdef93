"""Benchmarks: extramile timed beside its peers on the same data (`python -m bench`)."""
