"""Contracts: the shared vocabulary of the harness — OpenAPI specs, requirement catalogue, identity
rules, municipalities, the vendor profiles and their capabilities, synthetic data, the wire conventions
(problem+json, strict JSON types) — and the contract checks. Imports nothing else of ours."""

from .errors import ContractError
from .identity import (
    CPR_PATTERN,
    CVR_PATTERN,
    cvr_check_digit,
    is_valid_cpr,
    is_valid_cvr,
    mask_cpr,
    mask_cpr_in_text,
)
from .municipalities import Municipality, by_code, by_cvr, for_vendor, load_municipalities
from .profile import CAPABILITIES, PROFILE_NAMES, Profile, ProfileError, load_profile, profile_capabilities
from .requirements import Requirement, load_requirements

__all__ = [
    "CAPABILITIES",
    "CPR_PATTERN",
    "CVR_PATTERN",
    "PROFILE_NAMES",
    "ContractError",
    "Municipality",
    "Profile",
    "ProfileError",
    "Requirement",
    "by_code",
    "by_cvr",
    "cvr_check_digit",
    "for_vendor",
    "is_valid_cpr",
    "is_valid_cvr",
    "load_municipalities",
    "load_profile",
    "load_requirements",
    "mask_cpr",
    "mask_cpr_in_text",
    "profile_capabilities",
]
