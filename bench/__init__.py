"""Benchmarks: `make bench` starts its own mesh and prints figures, each beside a baseline measured in the same run."""
