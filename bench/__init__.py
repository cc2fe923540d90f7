"""Benchmarks behind `make bench`: each module times one operation against a same-run baseline."""
