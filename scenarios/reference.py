"""The scenario vocabulary as a reference document (`docs/scenario-vocabulary.md`), generated from the
registry the loader and runner use, so it cannot drift from what a scenario may write: every actor,
every action and query with its arguments, and for each query the fields it returns — read from the
contract that defines the answer where there is one, stated by the harness where the query is its own.

`python -m scenarios.reference` rewrites the file; a test fails when the committed one differs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from contracts.specs import load_spec

from .loader import EXPECT_KEYS, MATCHERS
from .vocabulary import ACTORS, STEP_KEYS, Action, Arg, actions

REFERENCE_FILE = Path(__file__).resolve().parents[1] / "docs" / "scenario-vocabulary.md"

# What each query returns: (contract, schema, "list" when a list of them, extra fields the harness adds),
# or the harness's own description of the fields for queries of harness state.
CONTRACT_ANSWERS: dict[str, tuple[str, str, bool, tuple[str, ...]]] = {
    "fbs.claim": ("fbs", "FordringOut", False, ()),
    "fbs.borrower": ("fbs", "LaanerStatusOut", False, ()),
    "debtor.claim": ("oir-debitor-v3", "FordringOut", False, ("debitorkontoId", "kontoStatus", "haeftelse")),
    "debtor.accounts": ("oir-debitor-v3", "DebitorkontoOut", True, ()),
    "debtor.callbacks": ("oir-debitor-v3", "CallbackOut", True, ()),
    "fbs.balance_statements": ("fbs", "SaldoopgoerelseOut", True, ()),
    "payment.overview": ("payment", "OverblikOut", False, ()),
    "psrm.claim": ("psrm-fordringshaver", "PsrmFordringOut", False, ()),
    "psrm.receipts": ("psrm-fordringshaver", "KvitteringOut", False, ()),
}
HARNESS_ANSWERS: dict[str, str] = {
    "clock.now": "`now` (ISO instant), `date`, `business_day` and `bank_day` (true or false)",
    "debtor.journal": "a list of journal entries (the sim-control contract's `JournalOut.entries`): "
    "`operation`, `direction`, `status`, `requestBody`, `responseBody`, … with CPR numbers masked",
    "psrm.journal": "a list of journal entries, as `debtor.journal`",
    "engine.outbox": "a list, oldest first: `kind`, `target`, `claim`, `status`, `attempts`, `lastStatus`, "
    "`code`, `transactionId`",
    "debtor.lookup": "`status` (the HTTP status of B_02 DebitorForespoergsel), `code` (a refusal's problem "
    "code) and `debitorkonti` (a list of `DebitorkontoResumeOut` of `contracts/openapi/oir-debitor-v3.yaml`)",
    "engine.summary": "a mapping of message kind to a mapping of status to count: `{REGISTER: {DONE: 1000}}`",
}


def _properties(contract: str, schema: str) -> dict[str, Any]:
    spec = load_spec(contract)
    node: dict[str, Any] = spec["components"]["schemas"][schema]
    properties: dict[str, Any] = {}
    for part in [node, *node.get("allOf", [])]:
        resolved = spec["components"]["schemas"][part["$ref"].rsplit("/", 1)[-1]] if "$ref" in part else part
        properties.update(resolved.get("properties", {}))
    return properties


def _fields(contract: str, schema: str) -> list[str]:
    return sorted(_properties(contract, schema))


def _item_fields(contract: str, schema: str) -> str:
    """The fields of the items of an answer's lists (a balance statement's claims, a claim's postings):
    `; each of fordringer: …`."""
    lists = {
        name: prop["items"]["$ref"].rsplit("/", 1)[-1]
        for name, prop in _properties(contract, schema).items()
        if prop.get("type") == "array" and "$ref" in prop.get("items", {})
    }
    return "".join(
        f"; each of `{name}`: " + ", ".join(f"`{f}`" for f in _fields(contract, item))
        for name, item in sorted(lists.items())
    )


def _argument(name: str, arg: Arg, primary: str | None) -> str:
    parts = [f"`{name}`", arg.type]
    if arg.required:
        parts.append("required")
    if arg.choices:
        parts.append("one of " + ", ".join(f"`{c}`" for c in arg.choices))
    if name == primary:
        parts.append("primary: a bare value stands for it")
    text = " · ".join(parts)
    return f"{text} — {arg.doc}" if arg.doc else text


def _answer(name: str) -> str:
    if name in CONTRACT_ANSWERS:
        contract, schema, many, extra = CONTRACT_ANSWERS[name]
        fields = ", ".join(f"`{f}`" for f in [*_fields(contract, schema), *extra])
        shape = f"a list of `{schema}`" if many else f"`{schema}`"
        added = f" (the harness adds {', '.join(f'`{e}`' for e in extra)})" if extra else ""
        return f"{shape} of `contracts/openapi/{contract}.yaml`{added}: {fields}{_item_fields(contract, schema)}"
    return HARNESS_ANSWERS[name]


def _entry(action: Action) -> list[str]:
    lines = [f"### `{action.full_name}` ({action.kind})", "", action.doc.strip() or "(no description)", ""]
    if action.simulated:
        lines += ["Needs the simulator of its system (not run against a vendor's real system).", ""]
    if action.args:
        lines += [f"- {_argument(n, a, action.primary)}" for n, a in action.args.items()] + [""]
    else:
        lines += ["No arguments.", ""]
    if action.kind == "query":
        lines += [f"Returns {_answer(action.full_name)}.", ""]
    return lines


def render() -> str:
    registry = actions()
    lines = [
        "# Scenario vocabulary",
        "",
        "Generated from the step registry by `python -m scenarios.reference`; do not edit by hand (a test",
        "compares it with what the code generates).",
        "",
        "- A world starts at **2026-01-05 09:00 Copenhagen time** (a Monday) unless the scenario says `start:`.",
        "- `clock.advance` moves every simulated system together and then **cycles the engine once** (and after",
        "  every step shorter than a day on which it has work), as a continuously running engine would; `within:`",
        "  on an `expect` cycles the engine between polls. Days on which no simulator's jobs call another system",
        "  pass in one step; each job still happens on its own day.",
        "- In a world of simulators alone, an `expect` that does not match stops polling before `within:` once the",
        "  world has settled (no debtor is sending a due callback and the engine has nothing due): what it sees",
        "  then can no longer change until the clock moves, so it fails at once. Against a vendor's system it",
        "  polls for the whole `within:`.",
        f"- Keys every act takes besides its own arguments: {', '.join(f'`{k}`' for k in STEP_KEYS)}.",
        f"- Keys of an `expect` besides its one query: {', '.join(f'`{k}`' for k in EXPECT_KEYS)}.",
        f"- Matchers in `that:`/`stop_if:`: {', '.join(f'`{m}`' for m in MATCHERS)}.",
        "",
    ]
    for actor in ACTORS:
        lines += [f"## {actor}", ""]
        for name in sorted(n for n in registry if n.startswith(actor + ".")):
            lines += _entry(registry[name])
    return "\n".join(lines).rstrip("\n") + "\n"


def write_reference() -> Path:
    REFERENCE_FILE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE_FILE.write_text(render(), encoding="utf-8")
    return REFERENCE_FILE


if __name__ == "__main__":
    print(f"wrote {write_reference()}", file=sys.stderr)
