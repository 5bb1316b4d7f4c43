"""Two import rules of ../shared/DESIGN.md, checked on the source rather than trusted: no module under
harness/certification/ imports the simulators (certifying a vendor's real system asks harness/topology.py
for the simulated counterparts it runs), and contracts/ imports nothing else of ours (the vendor profile
and its capabilities live there because a simulator and certification of a real vendor both need them).

Imports are read with `ast`, relative ones resolved against the module's package, and string literals
given to `import_module`/`__import__` count as imports too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUR_PACKAGES = ("contracts", "simulators", "integration", "scenarios", "harness", "bench", "tests")


def imported_modules(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file at `path` (a module under `root`)."""
    package = list(path.relative_to(root).parent.parts)  # a module's package; an __init__.py's own
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            if node.module or base:
                yield node.lineno, ".".join([*base, *([node.module] if node.module else [])])
            else:  # `from ... import simulators`, from the top
                for alias in node.names:
                    yield node.lineno, alias.name
        elif (
            isinstance(node, ast.Call)
            and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def offending_imports(folder: Path, forbidden: tuple[str, ...], root: Path = ROOT) -> list[str]:
    """`file:line module` for each import under `folder` of a package in `forbidden` (or below it)."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        for line, name in imported_modules(path, root):
            if name.split(".")[0] in forbidden:
                found.append(f"{path.relative_to(root)}:{line} {name}")
    return sorted(set(found))


def test_no_module_under_harness_certification_imports_the_simulators() -> None:
    assert offending_imports(ROOT / "harness" / "certification", ("simulators",)) == []


def test_contracts_import_nothing_else_of_ours() -> None:
    others = tuple(p for p in OUR_PACKAGES if p != "contracts")
    assert offending_imports(ROOT / "contracts", others) == []


def test_the_check_sees_absolute_relative_and_dynamic_imports(tmp_path: Path) -> None:
    folder = tmp_path / "harness" / "certification"
    folder.mkdir(parents=True)
    (folder / "a.py").write_text("import simulators.debtor\nfrom os import path\n", encoding="utf-8")
    (folder / "b.py").write_text("from ... import simulators\n", encoding="utf-8")
    (folder / "c.py").write_text(
        "from importlib import import_module\nimport_module('simulators.psrm.app')\n", encoding="utf-8"
    )
    (folder / "d.py").write_text("from ..topology import simulator_server\n", encoding="utf-8")
    assert offending_imports(folder, ("simulators",), root=tmp_path) == [
        "harness/certification/a.py:1 simulators.debtor",
        "harness/certification/b.py:1 simulators",
        "harness/certification/c.py:2 simulators.psrm.app",
    ]
