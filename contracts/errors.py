"""The contracts package's errors: one root, so a caller can catch whatever a contract check or a
contract file raises with one clause. Each keeps the builtin base its callers already catch.

    ContractError (RuntimeError)              root
    ├── ContractFileError                     a contract (OpenAPI) file is missing or not valid YAML
    ├── ProfileError (ValueError)             a vendor profile file is missing or invalid
    ├── MunicipalityDataError (ValueError)    the municipality table is inconsistent
    ├── RequirementCatalogueError (ValueError) the requirement catalogue is invalid
    └── PactCheckError                        the pact files are missing or unreadable

`contracts.problems.Problem` is not here on purpose: it is not an error of this package but a value a
server raises to answer problem+json (a business rejection).
"""

from __future__ import annotations


class ContractError(RuntimeError):
    """Root of the contracts package's errors."""


class ContractFileError(ContractError):
    """A contract file is missing or not valid YAML."""
