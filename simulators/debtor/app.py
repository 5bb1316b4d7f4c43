"""The debtor simulator app: one ØiR v3 implementation, parameterised by a vendor profile file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from contracts.profile import Profile, load_profile
from contracts.specs import load_spec
from simulators.kernel import Principal, SimulatorSpec, create_simulator_app

from .jobs import make_next_call, make_quiet_until, make_runner
from .ledger import DebtorBooks
from .misbehaviour import MISBEHAVIOURS, TEST_CONTROL_MISBEHAVIOURS, BadInputAs500
from .routes import router
from .testcontrol import router as test_control_router
from .views import export

TEST_CONTROL_CONTRACT = "oir-testkontrol-v1"  # served at /testkontrol/openapi.json

SETTINGS_DEFAULTS: dict[str, Any] = {
    "callback_url": None,  # the fagsystem's DækningAfskrivning endpoint (the engine)
    "callback_token": "oir-dev-token",
    "psrm_url": None,  # PSRM's base URL
    "psrm_token": "oir-dev-token",
    "serve_all_municipalities": False,  # True: act for every municipality, not only the profile's
    "disabled_products": "",  # comma-separated product codes not (yet) set up in this sortiment
    "misbehaviour": None,  # one switch of misbehaviour.MISBEHAVIOURS (or TEST_CONTROL_…) that breaks one behaviour
}


@dataclass
class DebtorSpec(SimulatorSpec):
    profile: Profile | None = None


def create_app(
    profile: str = "kmd-opus",
    *,
    tokens: dict[str, Principal] | None = None,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    **settings: Any,
) -> FastAPI:
    loaded = load_profile(profile)
    spec = DebtorSpec(
        name=f"debtor:{loaded.name}",
        title=f"ØiR debitorsystem – {loaded.product} (simulated)",
        description=f"Simulated debtor system, profile {loaded.name}. " + " ".join(loaded.notes),
        contract="oir-debitor-v3",
        routers=[router, test_control_router],  # test control beside the contract, not under /_sim/
        state_factory=DebtorBooks,
        settings_defaults=SETTINGS_DEFAULTS,
        on_clock=make_runner(loaded),
        quiet_until=make_quiet_until(loaded),
        next_call=make_next_call(loaded),
        export_state=lambda session: export(session.state),
        profile=loaded,
    )
    switches = (*MISBEHAVIOURS, *TEST_CONTROL_MISBEHAVIOURS)
    if settings.get("misbehaviour") not in (None, *switches):
        raise ValueError(f"unknown misbehaviour {settings['misbehaviour']!r}; known: {', '.join(switches)}")
    app = create_simulator_app(spec, tokens=tokens, settings=settings, transports=transports)
    app.add_middleware(BadInputAs500, runtime=app.state.sim)
    test_control = load_spec(TEST_CONTROL_CONTRACT)

    @app.get("/testkontrol/openapi.json", include_in_schema=False)
    async def _test_control_contract() -> JSONResponse:
        return JSONResponse(test_control)

    return app
