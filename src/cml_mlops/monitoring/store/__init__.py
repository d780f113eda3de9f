"""The monitoring store's tables and writers: migrations, the buffered `PredictionLog`, delayed labels, spills.

Readers (monitoring checks, dashboards) query the tables of `cml_mlops.monitoring.schema` with SQL; they call
`migrate(engine)` (or `open_store(config)`) first so that the tables exist at the current revision.
"""

from cml_mlops.monitoring.store.connect import open_store
from cml_mlops.monitoring.store.errors import SchemaMismatch, StoreError, StoreUnavailable, UnknownPredictions
from cml_mlops.monitoring.store.labels import LabelResult, record_labels
from cml_mlops.monitoring.store.migration import VERSION_TABLE, MigrationResult, head_revision, migrate
from cml_mlops.monitoring.store.records import InvalidRecord, LabelRecord, PredictionRecord
from cml_mlops.monitoring.store.spill import ReplayResult, read_spill, replay_spill
from cml_mlops.monitoring.store.writer import LogSummary, PredictionLog

__all__ = [
    "VERSION_TABLE",
    "InvalidRecord",
    "LabelRecord",
    "LabelResult",
    "LogSummary",
    "MigrationResult",
    "PredictionLog",
    "PredictionRecord",
    "ReplayResult",
    "SchemaMismatch",
    "StoreError",
    "StoreUnavailable",
    "UnknownPredictions",
    "head_revision",
    "migrate",
    "open_store",
    "read_spill",
    "record_labels",
    "replay_spill",
]
