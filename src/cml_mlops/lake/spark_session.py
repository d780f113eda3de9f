"""The Spark session of the Spark lake engine, and the Iceberg catalog registered in it.

One session per process (Spark allows one SparkContext): `spark_session()` starts it with the Iceberg runtime
jar and the JDBC drivers on the class path, or reuses the running one (e.g. the session a CML data connection
handed out). `register_catalog()` adds an Iceberg JdbcCatalog on the same database as PyIceberg's SqlCatalog,
under the same name, so both engines see the same tables.

Two profiles: `local` (a local[N] master, jars from Python packages and /usr/share/java) and `cml` (the
workspace's Spark add-on on Kubernetes: the data lake's Hive Metastore behind SparkSessionCatalog).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pyiceberg.catalog.sql import SqlCatalog
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from cml_mlops.errors import LakeError
from cml_mlops.lake.pyiceberg_lake import first_line, prepare_sqlite_folder

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ICEBERG_RUNTIME_JAR = "iceberg-spark-runtime-3.5_2.12-1.10.2.jar"
ICEBERG_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
JDBC_CATALOG = "org.apache.iceberg.jdbc.JdbcCatalog"
DEFAULT_JDBC_JAR_DIR = "/usr/share/java"
# JDBC driver jar (Debian's name under /usr/share/java) and the Debian package that ships it, per database.
JDBC_DRIVERS = {
    "sqlite": ("sqlite-jdbc.jar", "libxerial-sqlite-jdbc-java"),
    "postgresql": ("postgresql.jar", "libpostgresql-jdbc-java"),
}
INSTALL_HINT = "install the Spark extra (`pip install 'cml-mlops[spark]'`)"
SYSTEM_HINT = "run `bash ci/ensure_system_tools.sh` as root (Debian)"

# Small, quiet and deterministic for a laptop or CI: no UI, few shuffle partitions, UTC timestamps.
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.memory": "2g",
}
# In a CML session with the Spark add-on: Iceberg in the data lake's Hive Metastore (cml-production.md, §3).
CML_CONF = {
    "spark.sql.catalog.spark_catalog": "org.apache.iceberg.spark.SparkSessionCatalog",
    "spark.sql.catalog.spark_catalog.type": "hive",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


@dataclass(frozen=True)
class SparkSettings:
    """How to start Spark: `local` on this machine, or `cml` inside a workspace session with the Spark add-on."""

    profile: Literal["local", "cml"] = "local"
    master: str = "local[2]"
    jdbc_jar_dir: str = DEFAULT_JDBC_JAR_DIR
    conf: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class JdbcCatalogSettings:
    """The Iceberg JdbcCatalog properties for a PyIceberg SqlCatalog URL (the password stays out of the URI)."""

    backend: str
    uri: str
    user: str | None
    password: str | None


def jdbc_catalog(catalog_uri: str) -> JdbcCatalogSettings:
    """Translate PyIceberg's SQLAlchemy URL into the JDBC URL of the same database."""
    try:
        url = make_url(catalog_uri)
    except ArgumentError as exc:
        raise LakeError(f"lake.catalog_uri is not a valid SQLAlchemy URL: {exc}") from exc
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise LakeError("the Spark engine needs a SQLite catalog in a file, not in memory: set lake.catalog_uri")
        return JdbcCatalogSettings("sqlite", f"jdbc:sqlite:{Path(url.database).resolve()}", None, None)
    if backend == "postgresql":
        port = f":{url.port}" if url.port else ""
        uri = f"jdbc:postgresql://{url.host or 'localhost'}{port}/{url.database}"
        return JdbcCatalogSettings("postgresql", uri, url.username, url.password)
    raise LakeError(f"the Spark engine supports SQLite and PostgreSQL catalogs, not {backend!r}: set lake.catalog_uri")


def spark_session(settings: SparkSettings, backend: str | None = None) -> SparkSession:
    """The process's Spark session: the running one, else a new one configured for `settings.profile`.

    `backend` ("sqlite" or "postgresql") is the catalog database whose JDBC driver must be on the class path.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise LakeError(f"lake.engine 'spark' needs pyspark 3.5: {INSTALL_HINT}") from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        if backend is not None and settings.profile == "local":
            _check_driver(backend, (active.conf.get("spark.jars", "") or "").split(","))
        return active
    _check_java()
    logging.getLogger("py4j").setLevel(logging.WARNING)  # its INFO lines would end every command's output
    jars = local_jars(settings.jdbc_jar_dir) if settings.profile == "local" else []
    if backend is not None and settings.profile == "local":
        _check_driver(backend, jars)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # else pandas UDF workers start a python without pandas
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName("cml-mlops").config("spark.sql.extensions", ICEBERG_EXTENSIONS)
    if settings.profile == "local":
        builder = builder.master(settings.master).config("spark.jars", ",".join(jars))
        defaults = LOCAL_CONF
    else:
        defaults = CML_CONF
    for key, value in {**defaults, **settings.conf}.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # py4j reports a JVM that did not start as a bare Exception
        raise LakeError(
            f"Spark did not start: {first_line(exc)}. Check that Java 17 runs (`java -version`) and JAVA_HOME"
        ) from exc


def local_jars(jdbc_jar_dir: str) -> list[str]:
    """The Iceberg runtime jar (from the `spark` extra) and the JDBC drivers found in `jdbc_jar_dir`."""
    try:
        from snowpark_connect_deps_iceberg import get_jar_path
    except ImportError as exc:
        raise LakeError(f"the Iceberg runtime jar for Spark is missing: {INSTALL_HINT}") from exc
    runtime = Path(str(get_jar_path(ICEBERG_RUNTIME_JAR)))
    if not runtime.is_file():
        raise LakeError(f"{ICEBERG_RUNTIME_JAR} is missing from snowpark-connect-deps-iceberg: {INSTALL_HINT}")
    drivers = [Path(jdbc_jar_dir) / jar for jar, _ in JDBC_DRIVERS.values()]
    return [str(runtime)] + [str(path) for path in drivers if path.is_file()]


def register_catalog(spark: SparkSession, name: str, catalog_uri: str, warehouse: str) -> None:
    """Make `name` an Iceberg JdbcCatalog on PyIceberg's catalog database (re-pointing it if it had another)."""
    jdbc = jdbc_catalog(catalog_uri)
    prefix = f"spark.sql.catalog.{name}"
    wanted = {
        prefix: "org.apache.iceberg.spark.SparkCatalog",
        f"{prefix}.catalog-impl": JDBC_CATALOG,
        f"{prefix}.uri": jdbc.uri,
        f"{prefix}.warehouse": warehouse,
        # PyIceberg creates the catalog tables (prepare_catalog_database): Iceberg's own initialisation leaves a
        # SQLite read transaction open, which locks PyIceberg's writers out ("database is locked").
        f"{prefix}.jdbc.init-catalog-tables": "false",
        # The other engine commits behind Spark's back: a cached table would be read at a stale snapshot.
        f"{prefix}.cache-enabled": "false",
    }
    if jdbc.user:
        wanted[f"{prefix}.jdbc.user"] = jdbc.user
    if jdbc.password:
        wanted[f"{prefix}.jdbc.password"] = jdbc.password
    repoint = spark.conf.get(f"{prefix}.uri", None) not in (None, jdbc.uri)
    for key, value in wanted.items():
        spark.conf.set(key, value)
    if repoint:
        # Spark keeps a catalog once loaded: drop the loaded ones so this name opens the new database.
        spark._jsparkSession.sessionState().catalogManager().reset()


def prepare_catalog_database(catalog_uri: str, name: str, warehouse: str) -> SqlCatalog:
    """Create the catalog tables the PyIceberg way, and refuse a catalog name that would see an empty lake.

    Iceberg's JdbcCatalog and PyIceberg's SqlCatalog key every table by catalog name: with mismatched names
    each engine would silently see an empty lake, so a name under which the database holds nothing while it
    holds tables of other names is refused. Returns PyIceberg's view of the catalog.
    """
    from sqlalchemy import text

    prepare_sqlite_folder(catalog_uri)
    try:
        catalog = SqlCatalog(name, uri=catalog_uri, warehouse=warehouse)  # creates the tables when missing
    except Exception as exc:
        raise LakeError(f"cannot open the Iceberg catalog database: {first_line(exc)}") from exc
    try:
        with catalog.engine.connect() as connection:
            names = {row[0] for row in connection.execute(text("SELECT DISTINCT catalog_name FROM iceberg_tables"))}
    except Exception as exc:  # the engine that opens it next reports an unreachable database
        raise LakeError(f"cannot read the Iceberg catalog database: {first_line(exc)}") from exc
    if names and name not in names:
        raise LakeError(
            f"the catalog database has no table of catalog {name!r}, only of {sorted(names)}: set "
            f"lake.catalog_name to one of {sorted(names)} (Spark's catalog name must equal PyIceberg's)"
        )
    return catalog


def _check_java() -> None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return
    if shutil.which("java") is None:
        raise LakeError(
            "lake.engine 'spark' needs Java 17 and none was found: install it (Debian: "
            f"`apt-get install openjdk-17-jre-headless`, or {SYSTEM_HINT}) or set JAVA_HOME"
        )


def _check_driver(backend: str, jars: list[str]) -> None:
    jar, package = JDBC_DRIVERS[backend]
    if not any(Path(path).name == jar for path in jars if path):
        raise LakeError(
            f"the {backend} JDBC driver ({jar}) is not on Spark's class path: install Debian's {package} "
            f"({SYSTEM_HINT}) or set lake.spark.jdbc_jar_dir to the folder holding {jar}"
        )
