"""Composition: start the simulators and the engine, certify, report, and the `oir` command line.

Nothing imports `harness` except `tests/` and `bench/`: it is the top of the house.
"""
