"""The data lake: versioned Iceberg tables typed from the data contract, behind a small interface.

Callers depend on `Lake` and `open_lake` only, so another engine (e.g. Spark on CML) can be added
without changing them.
"""

from __future__ import annotations

from cml_mlops.config import ProjectConfig
from cml_mlops.errors import ConfigError, LakeError
from cml_mlops.lake.arrow_schema import arrow_schema
from cml_mlops.lake.base import Lake, Snapshot
from cml_mlops.lake.pyiceberg_lake import PyIcebergLake

__all__ = ["Lake", "LakeError", "PyIcebergLake", "Snapshot", "arrow_schema", "open_lake"]


def open_lake(config: ProjectConfig) -> Lake:
    """The lake configured in `config.lake` (engine, catalog, warehouse, namespace)."""
    engine = config.lake.engine
    if engine == "pyiceberg":
        return PyIcebergLake(
            catalog_name=config.lake.catalog_name,
            catalog_uri=config.catalog_uri(),
            warehouse=config.warehouse_uri(),
            namespace=config.lake.namespace,
        )
    # Unreachable while the config allows only "pyiceberg"; guards a new engine value without a branch.
    raise ConfigError(f"unknown lake.engine {engine!r}: the supported engine is 'pyiceberg'")
