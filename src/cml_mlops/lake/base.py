"""The lake interface: versioned tables that callers use without knowing the engine behind them.

Every write is all or nothing: it commits exactly one new snapshot, or raises LakeError and leaves the
table at its previous snapshot. Table names are bare; the namespace belongs to the lake.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

import pandas as pd
import pyarrow as pa

from cml_mlops.errors import LakeError


class NoSuchTable(LakeError):
    """The table is not in the catalog (engines raise it where the catalog answers "absent" rather than failing)."""


@dataclass(frozen=True)
class Snapshot:
    """One committed version of a table, as recorded in its snapshot summary."""

    snapshot_id: int
    parent_id: int | None
    committed_at: datetime  # timezone-aware, UTC
    operation: str  # "append", "overwrite", "delete" or "replace"
    added_rows: int
    total_rows: int


class Lake(abc.ABC):
    """Versioned tables in one namespace. Every failure is a LakeError with an actionable message."""

    def table_exists(self, table: str) -> bool:
        """Whether the table is in the catalog (a table whose files are gone raises LakeError)."""
        try:
            self._load(table)
        except NoSuchTable:
            return False
        return True

    @abc.abstractmethod
    def _load(self, table: str) -> object:
        """The engine's handle of the table; NoSuchTable when the catalog does not have it."""

    @abc.abstractmethod
    def create_or_replace(self, table: str, frame: pd.DataFrame, schema: pa.Schema) -> Snapshot:
        """Make `frame` the table's whole content with `schema`, keeping the earlier snapshots readable."""

    @abc.abstractmethod
    def append(self, table: str, frame: pd.DataFrame) -> Snapshot:
        """Add the rows of `frame`, whose columns must match the table's schema, as one new snapshot."""

    @abc.abstractmethod
    def snapshots(self, table: str) -> list[Snapshot]:
        """Every snapshot of the table, oldest first."""

    @abc.abstractmethod
    def current_snapshot(self, table: str) -> Snapshot | None:
        """The snapshot readers see now, or None for a table without data."""

    @abc.abstractmethod
    def read(self, table: str, snapshot_id: int | None = None) -> pd.DataFrame:
        """The table's rows at a snapshot (default: the current one), columns in schema order."""

    @abc.abstractmethod
    def read_increment(self, table: str, from_snapshot_id: int, to_snapshot_id: int | None = None) -> pd.DataFrame:
        """The rows appended after `from_snapshot_id` up to and including `to_snapshot_id` (default current).

        Refuses (LakeError) a range that contains anything but appends, since its rows would not be
        just "the new data".
        """

    @abc.abstractmethod
    def drop(self, table: str) -> None:
        """Remove the table, its history and its files."""

    @abc.abstractmethod
    def schema(self, table: str) -> pa.Schema:
        """The table's current schema."""

    def close(self) -> None:  # noqa: B027 - optional hook, most engines hold nothing
        """Release connections held by the engine."""

    def __enter__(self) -> Lake:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
