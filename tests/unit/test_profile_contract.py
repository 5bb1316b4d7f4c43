"""The vendor profiles as a contract: the shipped files are found in contracts/profiles/ and name
themselves, and the one list of capability names is exactly what the profiles can have — what a
scenario may put under `requires:` and what the harness says each profile offers."""

from __future__ import annotations

import pytest

from contracts.profile import (
    CAPABILITIES,
    PROFILE_NAMES,
    ProfileError,
    load_profile,
    profile_capabilities,
    profile_path,
)
from scenarios.schema import build_schema


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_each_profile_ships_in_contracts_and_names_itself(name: str) -> None:
    assert profile_path(name).parent.parts[-2:] == ("contracts", "profiles")
    assert profile_path(name).is_file()
    assert load_profile(name).name == name


def test_an_unknown_profile_is_refused_with_the_known_names() -> None:
    with pytest.raises(ProfileError, match="known: kmd-opus, prisme-2015-betaling, prisme-2015, prisme-2009, eg"):
        load_profile("visma")


def test_the_capability_list_is_exactly_what_the_profiles_can_have() -> None:
    had = {name: profile_capabilities(name) for name in PROFILE_NAMES}
    assert set().union(*had.values()) == set(CAPABILITIES)
    assert had["kmd-opus"] == {"b03_payment", "realtime_callbacks", "answer_time_limit"}
    assert had["prisme-2009"] == {"no_b03_payment", "nightly_batch_callbacks"}


def test_the_scenario_language_offers_the_profiles_and_capabilities_of_the_contract() -> None:
    properties = build_schema()["properties"]
    assert properties["profiles"]["items"]["enum"] == list(PROFILE_NAMES)
    assert properties["requires"]["items"]["enum"] == list(CAPABILITIES)
