"""Benchmarks for the campaign app; run ``python -m bench.run`` (see bench/README.md)."""
