"""Vendor-mode certifications: the debtor simulator wrapped as a vendor's real system (no `/_sim/`, no
sessions) behind `oir certify --debtor-url`, one certification per case. They take minutes, so they run
in an invocation of their own (`.ci/run`: `python -m pytest tests/vendor_mode`), not in the README's
default test command."""

from tests.certification.conftest import oir_home  # noqa: F401  (the harness's key in a temporary OIR_HOME)
