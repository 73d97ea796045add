"""Generators of small benchmarks in the real on-disk formats."""
