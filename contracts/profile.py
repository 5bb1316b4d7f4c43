"""Vendor profiles: what makes KMD Opus, the Prisme variants and EG differ, as data.

The debtor simulator is one implementation of ØiR v3; a profile file says whether the system has a
payment solution (B_03), whether payment notices go out in real time or in a nightly batch, how long
it waits for an answer, its reminder schedule and fees, interest, PSRM handover rules and sortiment.

A contract, not a simulator's detail: certifying a vendor's real system reads the same files (its
capabilities, its accepted deviations, the digest in the certificate) without loading the simulator.
`PROFILE_NAMES` and `CAPABILITIES` are the one list of each that the municipality table, the scenario
language and the harness derive from. The files are `profiles/<name>.yaml` beside this module.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ContractError
from .yaml_data import safe_load

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
PROFILE_NAMES: tuple[str, ...] = ("kmd-opus", "prisme-2015-betaling", "prisme-2015", "prisme-2009", "eg")
# what a scenario may require of a profile (`requires:`); `profile_capabilities` says which a profile has
CAPABILITIES: tuple[str, ...] = (
    "b03_payment",  # the debtor system has a payment solution (DebitorIndbetaling)
    "no_b03_payment",
    "realtime_callbacks",
    "nightly_batch_callbacks",
    "answer_time_limit",  # the debtor system gives up waiting for an answer (KMD Opus: 5 minutes)
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Capabilities(_Frozen):
    b03_payment: bool
    payment_login: str | None = None


class CallbackPolicy(_Frozen):
    mode: Literal["realtime", "nightly_batch"]
    batch_time: str = Field(pattern=r"^[0-2][0-9]:[0-5][0-9]$")


class InvoicePolicy(_Frozen):
    payment_days: int = Field(ge=1)
    overview_delay_days: int = Field(ge=0)


class Reminder(_Frozen):
    after_days: int = Field(ge=1)
    fee_oere: dict[str, int] = Field(default_factory=dict)


class InterestPolicy(_Frozen):
    annual_rate_bp: int = Field(ge=0)
    period_days: int = Field(ge=1)


class PsrmPolicy(_Frozen):
    handover_after_last_reminder_days: int = Field(ge=0)
    min_oere: int = Field(ge=0)
    recoverable_products: tuple[str, ...]
    notification_fetch_days: int = Field(ge=1)


class Deviation(_Frozen):
    """A known deviation KOMBIT accepted for a while: a failure citing only such requirements is reported
    as an accepted deviation (never as a pass) until the deviation expires."""

    requirement: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    expires: date

    def active_on(self, day: date) -> bool:
        return day <= self.expires


class Profile(_Frozen):
    name: str
    vendor: str
    product: str
    municipalities: int
    capabilities: Capabilities
    callbacks: CallbackPolicy
    answer_time_limit_s: int | None
    invoice: InvoicePolicy
    reminders: tuple[Reminder, ...]
    interest: InterestPolicy
    psrm: PsrmPolicy
    sortiment: tuple[str, ...]
    callback_retry_minutes: tuple[int, ...]
    notes: tuple[str, ...] = ()
    quirks: tuple[str, ...] = ()
    deviations: tuple[Deviation, ...] = ()


class ProfileError(ContractError, ValueError):
    """A profile file is missing or malformed."""


def profile_path(name: str) -> Path:
    return PROFILE_DIR / f"{name}.yaml"


@cache
def load_profile(name: str) -> Profile:
    path = profile_path(name)
    if name not in PROFILE_NAMES and not path.exists():
        raise ProfileError(f"unknown profile {name!r}; known: {', '.join(PROFILE_NAMES)}")
    try:
        raw = safe_load(path.read_text(encoding="utf-8"))
        return Profile.model_validate(raw)
    except FileNotFoundError as exc:
        raise ProfileError(f"no profile file {path}") from exc
    except (yaml.YAMLError, ValidationError) as exc:
        raise ProfileError(f"{path}: {exc}") from exc


def profile_capabilities(profile: str) -> frozenset[str]:
    """The capability names scenarios may require, from the vendor profile file."""
    loaded = load_profile(profile)
    capabilities = {"b03_payment" if loaded.capabilities.b03_payment else "no_b03_payment"}
    capabilities.add("realtime_callbacks" if loaded.callbacks.mode == "realtime" else "nightly_batch_callbacks")
    if loaded.answer_time_limit_s is not None:
        capabilities.add("answer_time_limit")
    return frozenset(capabilities)
