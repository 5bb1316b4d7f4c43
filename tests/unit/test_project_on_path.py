"""The processes tests and benchmarks start find the project first on PYTHONPATH and keep what the caller put
there after it: a plugin or profiler hook on the developer's path reaches them (it was replaced before)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.environment import ROOT, with_project_on_path


def test_a_module_on_the_callers_path_reaches_the_process_and_the_project_comes_first(tmp_path: Path) -> None:
    (tmp_path / "callers_hook.py").write_text("WHERE = 'the caller put me here'\n")
    (tmp_path / "contracts.py").write_text("raise SystemExit('the caller shadowed the project')\n")
    env = with_project_on_path({**os.environ, "PYTHONPATH": str(tmp_path)})
    shown = subprocess.run(
        [sys.executable, "-c", "import callers_hook, contracts; print(callers_hook.WHERE); print(contracts.__file__)"],
        env=env,
        cwd=tmp_path.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert shown[0] == "the caller put me here"
    assert Path(shown[1]).is_relative_to(ROOT)  # the project's package, not the caller's module of that name
    assert env["PYTHONPATH"].split(os.pathsep) == [str(ROOT), str(tmp_path)]


def test_without_a_path_of_the_callers_the_project_alone_is_on_it() -> None:
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    assert with_project_on_path(env)["PYTHONPATH"] == str(ROOT)
