"""The integration engine's errors: one root, so a caller can catch whatever the engine raises with one
clause. Each keeps the builtin base its callers already catch.

    EngineError (Exception)                   root
    ├── EngineSetupError (ValueError)         the configuration would trust or present credentials it
    │                                         must not; nothing started (settings.py)
    └── RoutingError (LookupError)            no usable route; the reason goes back to FBS (routing.py)

Expected business outcomes (a debtor's rejection, a quarantined posting) are values, not exceptions.
Not here on purpose: `integration.api._DuplicateKey`, a private signal of the JSON reader.
"""

from __future__ import annotations


class EngineError(Exception):
    """Root of the integration engine's errors."""
