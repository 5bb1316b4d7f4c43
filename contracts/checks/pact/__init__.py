"""Pact provider verification: replay the committed consumer pacts against a provider's URL.

Split along its seams: `requirements` (where the pact files are and which requirement IDs each
interaction covers), `results` (what a verification found), `states` (provider states through the
provider's public API, and the local server the verifier calls them on) and `verify` (the verifier
call). The public names are re-exported here: `from contracts.checks.pact import verify_provider`.
"""

from .requirements import (
    B03_CONSUMER,
    INTERACTION_REQUIREMENTS,
    PACT_DIR,
    PROVIDERS,
    PactCheckError,
    pact_files,
    pact_interactions,
)
from .results import NOT_RUN_REASON, InteractionResult, PactVerification
from .states import (
    DEBTOR_ACCOUNT_STATES,
    DEFAULT_STATES,
    NEW_BORROWER_STATE,
    ProviderContext,
    StateHandler,
    StateServer,
    create_fbs_claim,
)
from .verify import verify_provider

__all__ = [
    "B03_CONSUMER",
    "DEBTOR_ACCOUNT_STATES",
    "DEFAULT_STATES",
    "INTERACTION_REQUIREMENTS",
    "NEW_BORROWER_STATE",
    "NOT_RUN_REASON",
    "PACT_DIR",
    "PROVIDERS",
    "InteractionResult",
    "PactCheckError",
    "PactVerification",
    "ProviderContext",
    "StateHandler",
    "StateServer",
    "create_fbs_claim",
    "pact_files",
    "pact_interactions",
    "verify_provider",
]
