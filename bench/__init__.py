"""Benchmarks, each with its own command (`python -m bench`); never timed assertions inside tests."""
