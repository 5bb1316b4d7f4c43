"""What `oir certify` prints, in a CI log (stdout not a terminal) and in a terminal 80 columns wide:
one line per step as it starts (never 35–55 s of silence), then per profile what failed first — each
FAILED or ERROR check with its requirements — and every requirement outcome, with no requirement ID or
path cut; the verdict and the labels in judge.py's words."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from contracts.requirements import load_requirements
from harness.certification.console_report import certify_progress, print_result, print_table
from harness.certification.run import STEPS
from tests.support.known_run import failing_run

LONG = Path("/var/ci/builds/vendor-group/debtor-system/certification-reports-of-this-pipeline-run")


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=80, force_terminal=terminal, color_system=None), out


def test_without_a_terminal_each_step_is_a_line_as_it_starts() -> None:
    """Before: a transient progress bar, which prints nothing to a CI log until the profile is done."""
    console, out = _console(terminal=False)
    with certify_progress(console, "eg") as step:
        step("contract fuzzing (schemathesis, oir-debitor-v3)")
        first = out.getvalue()  # already there, before the next step starts
        step("probe registration")
    assert re.fullmatch(r"eg \[1/\d+\] contract fuzzing \(schemathesis, oir-debitor-v3\) \(\d+ s\)\n", first)
    lines = out.getvalue().splitlines()
    assert lines[1].startswith(f"eg [2/{STEPS}] probe registration (")


def test_the_result_names_what_failed_first_and_cuts_no_id_or_path() -> None:
    """Before: a table squeezed to 80 columns split paths and requirement IDs mid-word."""
    result = failing_run()
    for terminal in (False, True):
        console, out = _console(terminal)
        print_result(console, result, LONG / "kmd-opus", LONG / "kmd-opus" / "certificate.json")
        print_table(console, [result])
        text = out.getvalue()
        lines = text.splitlines()
        assert lines[0].startswith("kmd-opus: NOT_CERTIFIED")
        assert lines[1].startswith("  FAILED: own-accounts-only [B01-OWN-ACCOUNTS-ONLY]: ")
        scenario = lines.index(
            "  FAILED: scenario annulment-closes-the-account [B01R-ACCOUNT-CLOSED]: "
            "kontoLukket: expected True, saw False after 20 s"
        )
        callback = "no callback reached http://127.0.0.1:8701/daekningafskrivning during this scenario"
        assert lines[scenario + 1] == f"    {callback}"
        assert lines[scenario + 2].startswith("  ERROR: payment-callback [B01R-PAYMENT, B03-PAY]: harness error")
        assert f"  report: {LONG}/kmd-opus/index.html" in lines  # one whole line, however long
        assert f"  certificate: {LONG}/kmd-opus/certificate.json" in lines
        not_verified = next(line for line in lines if line.startswith("  NOT VERIFIED: "))
        listed = not_verified.removeprefix("  NOT VERIFIED: ").split(", ")
        assert set(listed) == set(result.judgement.not_verified) and set(listed) <= set(load_requirements())
        assert "NOT CERTIFIED" not in text and "FAIL " not in text
        if terminal:  # a table too, of short cells only
            assert "3 FAILED" in text and "1 ERROR" in text
