"""A synthetic city and outbreak for the demo and the benchmarks."""
