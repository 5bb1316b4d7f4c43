"""One YAML loader for the contract and data files (OpenAPI, profiles, requirements, municipalities,
sortiment, rollout plans): libyaml's C parser where PyYAML was built with it — about six times faster on
the contracts, which every command and every test process parses — and the pure-Python parser
otherwise. Both load the same safe subset and raise the same `yaml.YAMLError`s."""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """`yaml.safe_load`, with the C parser when it is there."""
    return yaml.load(text, Loader=SafeLoader)
