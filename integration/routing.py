"""Routing: which debtor system serves each of the 98 municipalities, with what credentials, limits
and sortiment mapping. An unknown municipality, an unconfigured route or an unmapped claim type is
an answer (a rejection for FBS), never a silent drop.

Trust is never a default: a route without a callback token accepts no callback at all. The public
development token `oir-dev-token` (what the simulators accept) is trusted on callbacks only in a
table built with `dev=True`, which says so in `development` and `warnings` (shown by /health).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from contracts.municipalities import Municipality, by_cvr, load_municipalities
from contracts.yaml_data import safe_load

from .errors import EngineError

DEV_TOKEN = "oir-dev-token"  # the public token of a local, simulated world; never a production credential
SORTIMENT_FILE = Path(__file__).resolve().parent / "sortiment.yaml"


@lru_cache(maxsize=1)
def default_sortiment() -> dict[str, str]:
    return dict(safe_load(SORTIMENT_FILE.read_text(encoding="utf-8"))["default"])


@dataclass(frozen=True)
class Route:
    municipality: Municipality
    debtor_url: str | None
    token: str
    callback_token: str | None = None  # what this route's debtor system presents on callbacks (None: none accepted)
    timeout_s: float = 30.0
    failure_threshold: int = 5  # consecutive failures that open the circuit
    cooldown_s: float = 60.0  # how long an open circuit leaves the debtor system alone
    rate_per_s: float | None = None  # at most this many requests a second (None: no limit)
    products: dict[str, str] = field(default_factory=default_sortiment)

    @property
    def configured(self) -> bool:
        return bool(self.debtor_url)


class RoutingError(EngineError, LookupError):
    """No usable route: the reason goes back to FBS as a rejection."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


@dataclass
class RoutingTable:
    routes: dict[str, Route]  # by municipality CVR
    development: bool = False  # built with dev=True: public development tokens may be trusted
    warnings: list[str] = field(default_factory=list)  # what an operator must know about this table's trust

    @classmethod
    def from_vendor_urls(
        cls,
        debtor_urls: dict[str, str],
        *,
        token: str = DEV_TOKEN,
        callback_tokens: dict[str, str] | None = None,
        overrides: dict[str, dict[str, Any]] | None = None,
        tokens: dict[str, str] | None = None,
        dev: bool = False,
    ) -> RoutingTable:
        """One route per municipality, to its vendor's debtor URL; `overrides` by municipality code.

        `token` is the engine's credential at every debtor system unless `tokens` has one for the vendor
        (the default is the simulators' public token: `integration.service.build_engine`, which builds the
        engine commands' engine, requires a real one outside development). A vendor without an entry in
        `callback_tokens` can deliver no callback — unless `dev`, when it may present `DEV_TOKEN`.
        """
        routes = {}
        trusted_dev = set()
        for municipality in load_municipalities():
            vendor = municipality.vendor
            settings: dict[str, Any] = {
                "debtor_url": debtor_urls.get(vendor),
                "token": (tokens or {}).get(vendor, token),
            }
            if callback_tokens and vendor in callback_tokens:
                settings["callback_token"] = callback_tokens[vendor]
            elif dev and vendor in debtor_urls:
                settings["callback_token"] = DEV_TOKEN
            settings.update((overrides or {}).get(municipality.code, {}))
            route = Route(municipality=municipality, **settings)
            if route.configured and route.callback_token == DEV_TOKEN:
                trusted_dev.add(vendor)
            routes[municipality.cvr] = route
        warnings = []
        if trusted_dev:
            warnings.append(
                f"callbacks with the public development token {DEV_TOKEN!r} are accepted for "
                f"{', '.join(sorted(trusted_dev))}: anyone who can reach this engine can post or write off claims"
            )
        return cls(routes, development=dev, warnings=warnings)

    def route_for(self, municipality_cvr: str) -> Route:
        route = self.routes.get(municipality_cvr)
        if route is None:
            name = by_cvr(municipality_cvr)
            raise RoutingError(
                "OIR-ROUTE-UNKNOWN-MUNICIPALITY",
                f"no route for municipality CVR {municipality_cvr}" + (f" ({name.name})" if name else ""),
            )
        if not route.configured:
            raise RoutingError(
                "OIR-ROUTE-NOT-CONFIGURED", f"the route of {route.municipality.name} has no debtor system configured"
            )
        return route

    def product_for(self, route: Route, claim_type: str) -> str:
        product = route.products.get(claim_type)
        if product is None:
            raise RoutingError(
                "OIR-ROUTE-UNMAPPED-CLAIM-TYPE",
                f"{route.municipality.name} has no product for FBS claim type {claim_type}",
            )
        return product
