"""Start the simulated world: FBS, PSRM, the five debtor-system profiles and the payment solution.

Each runs as a real uvicorn server on 127.0.0.1. The debtor simulators are wired to PSRM and the
payment solution to the debtor simulators by URL, exactly as a vendor's system would be configured,
so nothing talks to anything in-process.

This is where the harness turns simulators into servers (`simulator_server`): certification asks
here for the PSRM and the profile's debtor simulator it runs, and so imports no simulator itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self

from contracts.profile import PROFILE_NAMES
from simulators import factory
from simulators.kernel import DEV_TOKEN, Principal

from .servers import ServerThread, stop_all


@dataclass
class SimulatedWorld:
    servers: dict[str, ServerThread] = field(default_factory=dict)
    psrm_url: str = ""  # the PSRM the debtor simulators hand over to (a server of this world, or given)

    def url(self, name: str) -> str:
        return self.servers[name].url

    @property
    def debtor_urls(self) -> dict[str, str]:
        return {p: self.servers[f"debtor-{p}"].url for p in PROFILE_NAMES if f"debtor-{p}" in self.servers}

    def drop_session(self, name: str, session: str) -> None:
        """Forget `session` in this world's simulator `name`, in process (`SessionRegistry.drop`)."""
        self.servers[name].app.state.sim.sessions.drop(session)

    def set_session(self, name: str, session: str, settings: dict[str, Any]) -> None:
        """Set settings of `session` (made if new) in this world's simulator `name`, in process: for settings
        the harness itself chose (no check a `PATCH /_sim/settings` would make is needed)."""
        self.servers[name].app.state.sim.sessions.get(session).settings.update(settings)

    def stop(self) -> None:
        stop_all(reversed(list(self.servers.values())))
        self.servers.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _port(ports: dict[str, int] | None, name: str) -> int:
    return (ports or {}).get(name, 0)


def scoped_tokens(scoped: dict[str, tuple[str, ...]]) -> dict[str, Principal]:
    """A simulator's tokens: the development token (every municipality) and each of `scoped`, a token
    that may act only for the municipalities (CVRs) given — another municipality's credential."""
    tokens = {DEV_TOKEN: Principal("dev")}
    tokens.update({token: Principal(f"scoped-{i}", frozenset(cvrs)) for i, (token, cvrs) in enumerate(scoped.items())})
    return tokens


def simulator_server(
    kind: str,
    *,
    name: str | None = None,
    port: int = 0,
    log_level: str = "warning",
    host: str = "127.0.0.1",
    **settings: Any,
) -> ServerThread:
    """A server (not yet started) for one simulator: `kind` is fbs, psrm, debtor or payment, `settings`
    go to its app factory (for a debtor: `profile`, `psrm_url`, `callback_url`, …); `host` is where it listens."""
    return ServerThread(factory(kind)(**settings), name=name or kind, host=host, port=port, log_level=log_level)


def start_world(
    *,
    profiles: tuple[str, ...] = PROFILE_NAMES,
    callback_url: str | None = None,
    ports: dict[str, int] | None = None,
    debtor_settings: dict[str, Any] | None = None,
    log_level: str = "warning",
    psrm_url: str | None = None,
    vendor_debtors: dict[str, tuple[str, str]] | None = None,
) -> SimulatedWorld:
    """Start every simulator (or the given debtor profiles) and wire them together.

    `log_level` of the servers: scenarios inject dropped connections on purpose and keep their own
    evidence, so they run the servers at "critical". `psrm_url`: a PSRM already running (the one a
    vendor's system is configured with) instead of a new one. `vendor_debtors`: vendors' own debtor
    systems, by profile, as (URL, token): the payment solution talks to them with their token.
    """
    world = SimulatedWorld()
    try:
        world.servers["fbs"] = simulator_server("fbs", port=_port(ports, "fbs"), log_level=log_level).start()
        if psrm_url is None:
            world.servers["psrm"] = simulator_server("psrm", port=_port(ports, "psrm"), log_level=log_level).start()
        world.psrm_url = psrm_url or world.url("psrm")
        for profile in profiles:
            name = f"debtor-{profile}"
            world.servers[name] = simulator_server(
                "debtor",
                name=name,
                port=_port(ports, name),
                log_level=log_level,
                profile=profile,
                psrm_url=world.psrm_url,
                callback_url=callback_url,
                **(debtor_settings or {}),
            ).start()
        payment_settings = {"debtor_url_" + p.replace("-", "_"): url for p, url in world.debtor_urls.items()}
        for profile, (url, token) in (vendor_debtors or {}).items():
            payment_settings["debtor_url_" + profile.replace("-", "_")] = url
            payment_settings["debtor_token_" + profile.replace("-", "_")] = token
        world.servers["payment"] = simulator_server("payment", port=_port(ports, "payment"), **payment_settings).start()
    except Exception:
        world.stop()
        raise
    return world
