"""The harness package's errors: one root, so a caller can catch whatever the composition raises with
one clause. Each keeps the builtin base its callers already catch.

    HarnessError (Exception)                          root
    ├── ServerError (RuntimeError)                    a server thread did not start (servers.py)
    ├── PostgresUnavailable (RuntimeError)            no throwaway PostgreSQL cluster (postgres.py)
    ├── RolloutError (ValueError)                     a routes file or certificate folder is unusable
    ├── ContractCheckError (ValueError)               `oir contracts`: unknown provider/spec, URL silent
    ├── CertificationError (RuntimeError)             certification/errors.py
    │   ├── TargetUnreachableError
    │   ├── PreflightError                            before any check: token refused, callback address dead
    │   ├── CounterpartStartError
    │   ├── SigningKeyError
    │   ├── CertificateFileError
    │   └── PactFilesError
    ├── ProbeFailure (AssertionError)                 a probe saw what the contract forbids; caught
    │                                                 where the probe runs (certification/probes.py)
    └── ProbeNotRun                                   a probe this target cannot run; caught there too

Not under the root on purpose: `scenario_world.SimulatedCrash` is a BaseException, so that no
`except Exception` in the engine can swallow the simulated crash.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Root of the harness package's errors."""
