"""Helpers that tests and benches share (test dependencies only; the application never imports them)."""
