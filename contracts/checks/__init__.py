"""Contract checks: drift between code and contract, schemathesis fuzzing, Pact verification."""

from .drift import OperationShape, compare_openapi, operation_shapes

__all__ = ["OperationShape", "compare_openapi", "operation_shapes"]
