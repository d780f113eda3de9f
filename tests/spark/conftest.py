"""Fixtures of the Spark tests: one local Spark session per test process, lakes of both engines on one catalog.

Every lake gets a catalog name of its own: Spark caches a catalog once used, so a name must keep its database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cml_mlops.lake import PyIcebergLake
from cml_mlops.lake.spark_lake import SparkLake
from cml_mlops.lake.spark_session import SparkSettings, spark_session
from tests.lake.conftest import postgres_catalog_uri, sqlite_catalog_uri

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["postgres_catalog_uri", "sqlite_catalog_uri"]

NAMESPACE = "spark_tests"
# Small and quiet: one core for Spark leaves the other to xdist's second worker.
TEST_SETTINGS = SparkSettings(master="local[1]", conf={"spark.sql.shuffle.partitions": "1"})


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = spark_session(TEST_SETTINGS)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog_uri(request: pytest.FixtureRequest) -> str:
    """The catalog URL, once for each supported catalog database."""
    return str(request.getfixturevalue(f"{request.param}_catalog_uri"))


@pytest.fixture
def catalog_name() -> str:
    return f"cat_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse"


@pytest.fixture
def engines(
    spark: SparkSession, catalog_name: str, catalog_uri: str, warehouse: Path
) -> Iterator[tuple[PyIcebergLake, SparkLake]]:
    """Both engines on one catalog database under one catalog name."""
    with (
        PyIcebergLake(catalog_name, catalog_uri, str(warehouse), NAMESPACE) as pyiceberg,
        SparkLake(catalog_name, catalog_uri, str(warehouse), NAMESPACE, TEST_SETTINGS) as on_spark,
    ):
        yield pyiceberg, on_spark


@pytest.fixture
def spark_lake(spark: SparkSession, catalog_name: str, sqlite_catalog_uri: str, warehouse: Path) -> SparkLake:
    """A Spark lake on SQLite only, for behaviours that do not depend on the catalog database."""
    return SparkLake(catalog_name, sqlite_catalog_uri, str(warehouse), NAMESPACE, TEST_SETTINGS)
