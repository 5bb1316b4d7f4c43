"""The simulator kernel: what FBS, the debtor systems, PSRM and the payment solution share.

Virtual clock, per-session state, fault rules, request journal, bearer auth, idempotent replay by
transaction id, problem+json errors, the `/_sim/` control plane, and the one app factory.
"""

from contracts.problems import PROBLEM_MEDIA_TYPE, Problem, ProblemDetail, problem_responses
from contracts.wire import (
    Cpr,
    Cvr,
    Ident,
    IsoDate,
    IsoDateTime,
    Oere,
    OereOrZero,
    OutModel,
    SignedOere,
    StrictModel,
    UuidStr,
    Whole,
    ensure_valid_cvr,
)

from .app import create_simulator_app, generated_openapi
from .auth import DEV_TOKEN, Principal
from .clock import COPENHAGEN, VirtualClock
from .control import move_session_clock
from .faults import CALLBACK_FAULTS, FaultKind, FaultRuleIn
from .headers import HeaderBlock, HeaderBlockDep, KommuneCvr, ensure_may_act
from .lean_route import LeanRoute
from .runtime import Call, CallDep, SimRuntime, SimulatorSpec
from .sessions import Session

__all__ = [
    "CALLBACK_FAULTS",
    "COPENHAGEN",
    "DEV_TOKEN",
    "PROBLEM_MEDIA_TYPE",
    "Call",
    "CallDep",
    "Cpr",
    "Cvr",
    "FaultKind",
    "FaultRuleIn",
    "HeaderBlock",
    "HeaderBlockDep",
    "Ident",
    "IsoDate",
    "IsoDateTime",
    "KommuneCvr",
    "LeanRoute",
    "Oere",
    "OereOrZero",
    "OutModel",
    "Principal",
    "Problem",
    "ProblemDetail",
    "Session",
    "SignedOere",
    "SimRuntime",
    "SimulatorSpec",
    "StrictModel",
    "UuidStr",
    "VirtualClock",
    "Whole",
    "create_simulator_app",
    "ensure_may_act",
    "ensure_valid_cvr",
    "generated_openapi",
    "move_session_clock",
    "problem_responses",
    "whole",
]
