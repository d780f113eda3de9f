"""Errors of the monitoring store: each says what is wrong with the store, and never shows its password."""

from __future__ import annotations

from cml_mlops.errors import CmlMlopsError


class StoreError(CmlMlopsError):
    """The monitoring store cannot be used as asked."""


class StoreUnavailable(StoreError):
    """The store's database does not answer (wrong DSN, server down, no such database)."""


class SchemaMismatch(StoreError):
    """The database holds tables of the store's names that do not have the store's shape; nothing was changed."""


class UnknownPredictions(StoreError):
    """Labels name prediction ids the store does not have; nothing was written."""

    def __init__(self, message: str, unknown: list[str]) -> None:
        super().__init__(message)
        self.unknown = unknown
