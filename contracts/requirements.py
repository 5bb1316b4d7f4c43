"""The requirement catalogue (`requirements.yaml`): stable IDs that scenarios, checks and reports cite."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

CATALOGUE = Path(__file__).resolve().parent / "requirements.yaml"


class RequirementCatalogueError(ValueError):
    """The catalogue is malformed: a duplicate ID or a missing field."""


@dataclass(frozen=True)
class Requirement:
    id: str
    area: str
    text: str


@lru_cache(maxsize=1)
def load_requirements() -> dict[str, Requirement]:
    try:
        rows = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))["requirements"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise RequirementCatalogueError(f"{CATALOGUE}: {exc}") from exc
    catalogue: dict[str, Requirement] = {}
    for index, row in enumerate(rows):
        missing = [key for key in ("id", "area", "text") if not row.get(key)]
        if missing:
            raise RequirementCatalogueError(f"{CATALOGUE}: entry {index + 1} lacks {', '.join(missing)}")
        if row["id"] in catalogue:
            raise RequirementCatalogueError(f"{CATALOGUE}: duplicate requirement ID {row['id']}")
        catalogue[row["id"]] = Requirement(row["id"], row["area"], row["text"])
    return catalogue
