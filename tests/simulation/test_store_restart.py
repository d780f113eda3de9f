"""No captured prediction is lost or doubled when the store's PostgreSQL restarts while the model server is under load.

The model server captures into a private PostgreSQL 15 cluster; `simulate` (only a client here) sends its
rows while the cluster is stopped and started again, then checks that the store holds every prediction it
was answered. The server spills what it could not write during the outage and replays it afterwards.
"""

from __future__ import annotations

import json
import threading
import time

import psycopg2
import pytest

from cml_mlops.simulation.runner import report_path
from tests.simulation.conftest import Served
from tests.simulation.helpers import served_with, simulate
from tests.simulation.private_postgres import PrivateCluster, private_cluster, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROWS = 2000
RESTART_AFTER = 300  # predictions already in the store when the server goes down
DOWN_SECONDS = 2.0


def _count(cluster: PrivateCluster, query: str) -> int | None:
    try:
        connection = psycopg2.connect(host="127.0.0.1", port=cluster.port, user="root", dbname="monitoring",
                                      connect_timeout=2)  # fmt: skip
    except psycopg2.OperationalError:
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute(query)
            row = cursor.fetchone()
            return int(row[0]) if row else None
    except psycopg2.Error:
        return None
    finally:
        connection.close()


def test_a_server_restart_mid_run_loses_and_doubles_nothing(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    with private_cluster() as cluster, served_with(
        served.project, served.version, monkeypatch,
        CML_MLOPS_MONITORING_DSN=cluster.create_database("monitoring"),
        # Small batches flushed often: the server's writer is mid-stream when the database goes away.
        CML_MLOPS_PREDICTION_LOG_BATCH_SIZE="50", CML_MLOPS_PREDICTION_LOG_FLUSH_SECONDS="0.05",
        CML_MLOPS_PREDICTION_LOG_RETRY_MAX_SECONDS="0.5",
    ):  # fmt: skip
        events: list[str] = []

        def restart() -> None:
            logged = wait_until(
                lambda: (_count(cluster, "SELECT count(*) FROM predictions") or 0) >= RESTART_AFTER, timeout=300
            )
            events.append(f"{'reached' if logged else 'never reached'} {RESTART_AFTER} rows")
            cluster.stop()
            events.append("stopped")
            time.sleep(DOWN_SECONDS)
            cluster.start()
            events.append("started")

        restarter = threading.Thread(target=restart, daemon=True)
        restarter.start()
        result = simulate(
            served.project, "--scenario", "drift-replay", "--drift-share", "1", "--rows", str(ROWS),
            "--records-per-request", "5", "--concurrency", "4", "--label-share", "0.3", "--interval-seconds", "30",
        )  # fmt: skip
        restarter.join(timeout=120)
        assert events == [f"reached {RESTART_AFTER} rows", "stopped", "started"], (events, result.output)
        assert result.exit_code == 0, result.output
        report = json.loads(report_path(served.config()).read_text(encoding="utf-8"))
        assert report["rows_sent"] == ROWS and report["failed_predictions"] == 0 and report["spill_file"] is None
        assert report["predictions_logged"] == ROWS and report["capture_missing"] == []
        assert _count(cluster, "SELECT count(*) FROM predictions") == ROWS
        assert _count(cluster, "SELECT count(DISTINCT prediction_id) FROM predictions") == ROWS
        assert _count(cluster, "SELECT count(*) FROM labels") == round(0.3 * ROWS)
