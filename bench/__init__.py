"""Benchmark scripts: each starts the real app, measures, and prints its numbers."""
