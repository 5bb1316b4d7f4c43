"""The step vocabulary: which actors exist, what each can do, and which arguments each action takes.

One registry serves three readers: the JSON Schema (generated from it), the loader (which checks
every step against it and suggests the nearest name), and the runner (which calls the registered
implementation). An action is either an *act* (changes the world) or a *query* (reads it; only
queries may stand in an `expect`, because an expectation may be polled).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .fields import Returns

ACTORS = ("fbs", "engine", "debtor", "payment", "psrm", "clock", "faults")
ArgType = Literal["ref", "str", "int", "money", "date", "datetime", "bool", "mapping", "list", "any", "duration"]
# Keys every act accepts besides its own arguments.
STEP_KEYS = ("as", "status", "code", "that", "covers", "when")


@dataclass(frozen=True)
class Arg:
    type: ArgType
    required: bool = False
    choices: tuple[str, ...] = ()
    doc: str = ""
    items: dict[str, Arg] | None = None  # for a list of mappings: the keys each item takes


@dataclass(frozen=True)
class Action:
    actor: str
    name: str
    kind: Literal["act", "query"]
    args: dict[str, Arg]
    doc: str
    run: Callable[..., Any]
    # uses an operation only the simulator of its actor's system has (a citizen's bank transfer at the
    # debtor, a coverage at PSRM); the clock and faults actors act on every simulated system
    simulated: bool = False
    primary: str | None = None  # the argument a bare value stands for (`fbs.claim: fee`)
    response: Returns | None = None  # a query: what it answers in the contract (`that:` is checked on it)
    # a simulated action a vendor's system can serve through its test control (`oir-testkontrol-v1`):
    # moving the business date, a citizen's bank transfer, what the system sent
    test_control: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.actor}.{self.name}"


REGISTRY: dict[str, Action] = {}


@dataclass
class _Spec:
    args: dict[str, Arg] = field(default_factory=dict)


def action(
    full_name: str,
    kind: Literal["act", "query"] = "act",
    *,
    args: dict[str, Arg] | None = None,
    simulated: bool = False,
    primary: str | None = None,
    response: Returns | None = None,
    test_control: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register an implementation `fn(ctx, **args)` under `actor.name`."""
    actor, _, name = full_name.partition(".")
    if actor not in ACTORS or not name:
        raise ValueError(f"bad action name {full_name!r}")

    clash = set(args or {}) & set(STEP_KEYS)
    if clash:
        raise ValueError(f"{full_name}: argument names {sorted(clash)} are step keys")

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY[full_name] = Action(
            actor=actor,
            name=name,
            kind=kind,
            args=dict(args or {}),
            doc=(fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else "",
            run=fn,
            simulated=simulated,
            primary=primary,
            response=response,
            test_control=test_control,
        )
        return fn

    return register


def actions() -> dict[str, Action]:
    """Every registered action (importing the implementations registers them)."""
    from . import actions as _implementations  # noqa: F401 - registers on import

    return REGISTRY
