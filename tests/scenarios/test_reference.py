"""The generated vocabulary reference (docs/scenario-vocabulary.md) is what the registry generates now."""

from __future__ import annotations

from scenarios.reference import REFERENCE_FILE, render
from scenarios.vocabulary import actions


def test_the_committed_reference_is_what_the_vocabulary_generates() -> None:
    assert REFERENCE_FILE.read_text(encoding="utf-8") == render(), "run: python -m scenarios.reference"


def test_every_action_is_in_it_and_every_query_says_what_it_returns() -> None:
    text = render()
    for name, spec in actions().items():
        section = text.split(f"### `{name}` ({spec.kind})", 1)
        assert len(section) == 2, f"{name} is missing from the reference"
        if spec.kind == "query":
            assert "Returns " in section[1].split("### ", 1)[0], f"{name} does not say what it returns"
    assert "`sidsteRettidigeBetalingsdato`" in text.split("### `debtor.claim`", 1)[1].split("### ", 1)[0]
