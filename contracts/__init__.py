"""Contracts: the shared vocabulary of the harness — OpenAPI specs, requirement catalogue, identity
rules, municipalities, synthetic data, the wire conventions (problem+json, strict JSON types) — and the
contract checks. Imports nothing else of ours."""

from .identity import (
    CPR_PATTERN,
    CVR_PATTERN,
    cvr_check_digit,
    is_valid_cpr,
    is_valid_cvr,
    mask_cpr,
    mask_cpr_in_text,
)
from .municipalities import VENDOR_PROFILES, Municipality, by_code, by_cvr, for_vendor, load_municipalities
from .requirements import Requirement, load_requirements

__all__ = [
    "CPR_PATTERN",
    "CVR_PATTERN",
    "VENDOR_PROFILES",
    "Municipality",
    "Requirement",
    "by_code",
    "by_cvr",
    "cvr_check_digit",
    "for_vendor",
    "is_valid_cpr",
    "is_valid_cvr",
    "load_municipalities",
    "load_requirements",
    "mask_cpr",
    "mask_cpr_in_text",
]
