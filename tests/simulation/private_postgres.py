"""A private PostgreSQL cluster in a temporary folder, on a free port: a server a test may stop and restart.

The shared server on 5432 is never touched. initdb refuses to run as root, so as root the cluster belongs to
the `postgres` user (commands through `su`); tests skip, saying why, when neither way works.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest

from tests.support.net import free_port

PG_BIN = Path(os.environ.get("CML_MLOPS_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
OWNER = "postgres"


class PrivateCluster:
    def __init__(self, folder: Path, port: int, as_postgres: bool) -> None:
        self.folder = folder
        self.port = port
        self.as_postgres = as_postgres
        self.data = folder / "data"
        self.log = folder / "server.log"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://root@127.0.0.1:{self.port}/{database}"

    def run(self, *command: str) -> None:
        line = shlex.join(command)
        argv = ["su", OWNER, "-s", "/bin/sh", "-c", line] if self.as_postgres else ["/bin/sh", "-c", line]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{line} failed ({done.returncode}): {done.stderr or done.stdout}\n{log}")

    def init(self) -> None:
        self.run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "root", "-E", "UTF8",
                 "--locale=C", "--no-sync")  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        self.run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self, name: str) -> str:
        admin = psycopg2.connect(host="127.0.0.1", port=self.port, user="root", dbname="postgres", connect_timeout=10)
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        admin.close()
        return self.url(name)


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A started private cluster, stopped and removed afterwards; skips the test when it cannot be made."""
    if not (PG_BIN / "initdb").is_file():
        pytest.skip(f"no PostgreSQL server binaries at {PG_BIN} (set CML_MLOPS_TEST_PG_BIN)")
    as_postgres = os.geteuid() == 0
    if as_postgres:
        try:
            owner = pwd.getpwnam(OWNER)
        except KeyError:
            pytest.skip(f"running as root and there is no {OWNER!r} user to own a private cluster")
        if shutil.which("su") is None:
            pytest.skip("running as root without `su`: cannot run initdb as another user")
    folder = Path(tempfile.mkdtemp(prefix="cml-mlops-pg-"))
    if as_postgres:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    cluster = PrivateCluster(folder, free_port(), as_postgres)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        try:
            if (cluster.data / "postmaster.pid").exists():
                cluster.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def wait_until(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False
