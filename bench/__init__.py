"""Benchmarks that print tables (run from the repo root)."""
