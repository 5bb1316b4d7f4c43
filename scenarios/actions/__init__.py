"""Implementations of the step vocabulary, one module per actor; importing this package registers them."""

from . import clock_faults, debtor, engine, fbs, psrm_payment

__all__ = ["clock_faults", "debtor", "engine", "fbs", "psrm_payment"]
