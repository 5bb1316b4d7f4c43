"""The simulators package's errors: one root, so a caller can catch whatever a simulator raises with
one clause. Each keeps the builtin base its callers already catch.

    SimulatorError (Exception)                root
    ├── ClockError (ValueError)               a clock operation would break monotonic virtual time
    ├── SimulatedConnectionDrop               a fault rule drops the connection mid-answer
    └── PsrmUnavailable                       the debtor simulator could not reach PSRM; try again later

Not here on purpose: `simulators.kernel.runtime._DropRequested` (a private signal inside the kernel)
and `contracts.problems.Problem` (a value a simulator raises to answer problem+json).
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Root of the simulators package's errors."""
