"""Helpers shared by the tests and the benchmarks in bench/ (never imported by the app)."""
