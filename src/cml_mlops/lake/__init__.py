"""The data lake: versioned Iceberg tables typed from the data contract, behind a small interface.

Callers depend on `Lake` and `open_lake` only: the engine (PyIceberg here, Spark here or on CML) is
`lake.engine`. The Spark engine is imported only when chosen, so the embedded default stays light.
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
    if engine == "spark":
        from cml_mlops.lake.spark_lake import SparkLake
        from cml_mlops.lake.spark_session import SparkSettings

        spark = config.lake.spark
        return SparkLake(
            catalog_name=config.lake.catalog_name,
            catalog_uri=config.catalog_uri(),
            warehouse=config.warehouse_uri(),
            namespace=config.lake.namespace,
            settings=SparkSettings(spark.profile, spark.master, spark.jdbc_jar_dir, dict(spark.conf)),
        )
    # Unreachable while the config allows only these; guards a new engine value without a branch.
    raise ConfigError(f"unknown lake.engine {engine!r}: the supported engines are 'pyiceberg' and 'spark'")
