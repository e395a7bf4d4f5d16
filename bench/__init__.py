"""Reproducible benchmarks, one module per capability; run with `python -m bench NAME`."""
