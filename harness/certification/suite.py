"""The suite a certificate names: every file that runs or judges a check, found from the code itself.

A certificate's suite digest must change whenever the harness would judge differently — a matcher, the
scenario runner, an action, a probe, the verdict, the engine or a simulator that plays a counterpart —
so the set of files is computed, never kept by hand:

1. the modules certification imports: starting from every module of `harness/certification/`, the
   closure of the first-party imports (read from the source with `ast`, wherever they stand: inside
   functions too), resolved against the project root;
2. every top-level package that closure reaches other than `harness` — `contracts`, `scenarios`,
   `integration`, `simulators` — is taken whole: each `.py`, `.yaml`, `.yml`, `.json`, `.j2`, `.toml`,
   `.mako` file under its folder (the scenario suites, templates, data and modules loaded by name such
   as the simulators' apps, which an import graph cannot see);
3. of `harness` itself (the composition package, which also holds the CLI, the rollout board and other
   commands that judge nothing) the reached modules and the whole `harness/certification/` folder (its
   report template included), and the schemathesis configuration the fuzzing runs with.
Left out are the files a certificate digests on their own — the contracts it names, the requirement
catalogue, the consumer pacts and the vendor profiles — so that, say, a change to EG's profile does not
invalidate KMD Opus's certificate, while it does invalidate EG's.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENTRY = "harness/certification"  # the package whose imports decide the suite
COMPOSITION = "harness"  # the top-level package taken module by module, not whole
SUFFIXES = frozenset({".py", ".yaml", ".yml", ".json", ".j2", ".toml", ".mako"})
RUN_CONFIG = ("schemathesis.toml",)  # read by contracts/checks/fuzz.py wherever it runs from
_SKIP_DIRS = frozenset({"__pycache__"})


def _package_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in SUFFIXES and not _SKIP_DIRS & set(path.parts):
            yield path


def _module_file(root: Path, name: str) -> Path | None:
    base = root.joinpath(*name.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(root: Path, path: Path) -> tuple[str, ...]:
    """The module names a file imports (absolute, relative ones resolved), and their parent packages."""
    return _imports_in(str(path), _module_name(root, path), path.name == "__init__.py", path.read_bytes())


@functools.lru_cache(maxsize=4096)
def _imports_in(filename: str, name: str, is_package: bool, source: bytes) -> tuple[str, ...]:
    """`_imported` for one module's source, kept by its file, name and bytes: parsing is most of a
    digest's cost and every certificate made or verified takes one; an edited file is another key."""
    package = name.split(".") if is_package else name.split(".")[:-1]
    names: list[str] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found = [module, *(f"{module}.{alias.name}" for alias in node.names)]
        else:
            continue
        for full in found:
            parts = full.split(".")
            names += (".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return tuple(names)


def reached_modules(root: Path | None = None) -> dict[str, Path]:
    """Every first-party module certification imports, directly or not, by name (under `root`, by
    default this installed harness's project folder)."""
    root = root or PROJECT_ROOT
    pending = [_module_name(root, p) for p in _package_files(root / ENTRY) if p.suffix == ".py"]
    reached: dict[str, Path] = {}
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        path = _module_file(root, name)
        if path is None:  # not ours (the standard library, an installed package) or not a module
            continue
        reached[name] = path
        pending.extend(n for n in _imported(root, path) if n not in reached)
    return reached


def _separately_digested(root: Path) -> set[Path]:
    """Files the certificate digests on their own (certificate.py), under `root`."""
    contracts = root / "contracts"
    from .certificate import CONTRACTS_USED  # the contract files it names

    return {
        contracts / "requirements.yaml",
        *(contracts / "openapi" / f"{name}.yaml" for name in CONTRACTS_USED),
        *(contracts / "pacts").glob("*.json"),
        *(contracts / "profiles").glob("*.yaml"),
    }


def suite_files(root: Path | None = None) -> dict[str, Path]:
    """The suite's files by their path relative to `root` (posix), as the module doc describes."""
    root = root or PROJECT_ROOT
    modules = reached_modules(root)
    packages = sorted({name.split(".")[0] for name in modules} - {COMPOSITION})
    files: list[Path] = [path for name, path in modules.items() if name.split(".")[0] == COMPOSITION]
    files += _package_files(root / ENTRY)
    for package in packages:
        files += _package_files(root / package)
    files += [root / name for name in RUN_CONFIG if (root / name).is_file()]
    skipped = _separately_digested(root)
    return {path.relative_to(root).as_posix(): path for path in files if path not in skipped}


def digest_files(files: Iterable[tuple[str, Path]]) -> str:
    """One digest over named files: each name and that file's own sha256, in name order."""
    listing = "".join(f"{name} {hashlib.sha256(path.read_bytes()).hexdigest()}\n" for name, path in sorted(files))
    return "sha256:" + hashlib.sha256(listing.encode()).hexdigest()


def suite_digest(root: Path | None = None) -> str:
    """The digest a certificate names as its suite (`root`: the project folder, default this harness's)."""
    return digest_files(suite_files(root).items())
