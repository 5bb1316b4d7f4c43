"""`python -m bench`: run every benchmark with its defaults (the engine's takes several minutes)."""

from bench import debtor_registration, engine_throughput

debtor_registration.main([])
engine_throughput.main([])
