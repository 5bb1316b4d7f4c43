"""At the end of a pytest process the harness's plugin collects garbage once and freezes what is alive
(pytest's own five collections over the whole heap took seconds). What a finalizer of leftover garbage
raises must still be reported, as pytest reports it without the plugin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_LEAKING_TEST = """
import gc


class Leaked:
    def __init__(self):
        self.me = self  # a cycle: only the collector frees it

    def __del__(self):
        raise RuntimeError("the finalizer of leftover garbage raised")


def test_leaves_garbage_to_the_end():
    gc.disable()  # no collection before the process ends
    Leaked()
"""


def test_what_a_finalizer_of_garbage_left_to_the_end_raises_is_still_reported(tmp_path: Path) -> None:
    (tmp_path / "test_leak.py").write_text(_LEAKING_TEST, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_leak.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = run.stdout + run.stderr
    assert "1 passed" in output, output[-2000:]
    assert "PytestUnraisableExceptionWarning" in output, output[-2000:]
    assert "the finalizer of leftover garbage raised" in output, output[-2000:]
