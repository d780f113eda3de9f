"""Errors raised by the CML API v2 client."""

from __future__ import annotations

from cml_mlops.errors import CmlMlopsError


class CmlApiError(CmlMlopsError):
    """An API v2 call failed: carries the HTTP status (0 = no response) and the API's `message`."""

    def __init__(self, status: int, message: str, *, code: int | None = None, operation: str = "") -> None:
        self.status = status
        self.message = message
        self.code = code  # gRPC code from the runtimeError body, when there was one
        self.operation = operation
        prefix = f"{operation}: " if operation else ""
        super().__init__(f"{prefix}CML API error {status}: {message}")
