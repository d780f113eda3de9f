"""`run_job` against the emulator: a run and then its dependent jobs' runs in order; a failure stops the chain."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cml_mlops.cml import CmlClient
from cml_mlops.cml.emulator import CmlEmulator, EmulatorState, Faults
from cml_mlops.cml.jobs import JobRunError, run_job, sync_jobs
from cml_mlops.cml.jobs.runs import FAILED_STATUSES, RunResult
from cml_mlops.cml.polling import PollSettings, PollTimeout
from tests.cml.conftest import API_KEY, PROJECT
from tests.cml.test_jobs_spec import chain
from tests.cml.test_jobs_sync import jobs_by_name, spec_of
from tests.support.clock import FakeTime


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def poller(fake_time: FakeTime) -> dict[str, Any]:
    """run_job's waiting options: 1 s doubling to 8 s, 600 s for the chain, on the fake clock."""
    return {"polling": PollSettings(1, 8, 600), "clock": fake_time.clock, "sleep": fake_time.sleep}


@pytest.fixture
def synced(client: CmlClient) -> dict[str, dict[str, Any]]:
    sync_jobs(client, PROJECT, spec_of(chain()))
    return jobs_by_name(client)


def runs_of(client: CmlClient, job_id: str) -> list[dict[str, Any]]:
    return list(CmlClient.iterate(client.list_job_runs, PROJECT, job_id))


def test_the_first_job_and_then_its_children_run_in_order(
    client: CmlClient, synced: dict[str, dict[str, Any]], poller: dict[str, Any]
) -> None:
    events: list[tuple[str, str]] = []
    report = run_job(client, PROJECT, "newbatch", **poller, on_status=lambda r: events.append((r.name, r.status)))
    assert report.succeeded and report.failed is None
    assert [(r.name, r.status) for r in report.runs] == [
        ("newbatch", "ENGINE_SUCCEEDED"),
        ("retrain", "ENGINE_SUCCEEDED"),
        ("redeploy", "ENGINE_SUCCEEDED"),
    ]
    assert report.not_run == []
    # Each job's statuses were followed to the end before the next job's run was looked at.
    assert [name for name, _ in events] == sorted((n for n, _ in events), key=["newbatch", "retrain", "redeploy"].index)
    assert [s for n, s in events if n == "retrain"][-1] == "ENGINE_SUCCEEDED"
    assert {s for _, s in events} >= {"ENGINE_SCHEDULING", "ENGINE_RUNNING", "ENGINE_SUCCEEDED"}
    # The runs are real: one each, every child's started after its parent's finished.
    runs = {name: runs_of(client, job["id"]) for name, job in synced.items()}
    assert {name: len(r) for name, r in runs.items()} == {"newbatch": 1, "retrain": 1, "redeploy": 1}
    assert runs["retrain"][0]["created_at"] >= runs["newbatch"][0]["finished_at"]
    assert runs["redeploy"][0]["created_at"] >= runs["retrain"][0]["finished_at"]
    assert [r.run_id for r in report.runs] == [runs[n][0]["id"] for n in ("newbatch", "retrain", "redeploy")]


@pytest.mark.parametrize("faults", [Faults(failing_jobs={"retrain"})])
def test_a_failing_parent_stops_the_chain_and_the_report_names_it(
    client: CmlClient, synced: dict[str, dict[str, Any]], poller: dict[str, Any]
) -> None:
    report = run_job(client, PROJECT, "newbatch", **poller)
    assert [(r.name, r.status) for r in report.runs] == [("newbatch", "ENGINE_SUCCEEDED"), ("retrain", "ENGINE_FAILED")]
    assert report.failed is not None and report.failed.name == "retrain"
    assert report.not_run == ["redeploy"]
    assert runs_of(client, synced["redeploy"]["id"]) == []
    with pytest.raises(JobRunError) as caught:
        report.raise_for_failure()
    message = str(caught.value)
    assert "job 'retrain'" in message and "ENGINE_FAILED" in message and "did not run: redeploy" in message
    assert "| redeploy | - | did not run: retrain ended ENGINE_FAILED |" in report.to_markdown()


@pytest.mark.parametrize("faults", [Faults(failing_jobs={"newbatch"})])
def test_a_failing_first_job_runs_none_of_its_children(
    client: CmlClient, synced: dict[str, dict[str, Any]], poller: dict[str, Any]
) -> None:
    report = run_job(client, PROJECT, "newbatch", **poller)
    assert [r.name for r in report.runs] == ["newbatch"]
    assert report.not_run == ["retrain", "redeploy"]
    assert all(runs_of(client, synced[n]["id"]) == [] for n in ("retrain", "redeploy"))


def test_a_job_in_the_middle_runs_with_its_own_children_only(
    client: CmlClient, synced: dict[str, dict[str, Any]], poller: dict[str, Any]
) -> None:
    report = run_job(client, PROJECT, "retrain", **poller)
    assert [r.name for r in report.runs] == ["retrain", "redeploy"]
    assert runs_of(client, synced["newbatch"]["id"]) == []


def test_children_of_one_parent_are_all_followed(client: CmlClient, poller: dict[str, Any]) -> None:
    data = chain()
    data["jobs"].append({"name": "report", "script": "cml/scripts/report.py", "parent": "newbatch"})
    sync_jobs(client, PROJECT, spec_of(data))
    report = run_job(client, PROJECT, "newbatch", **poller)
    assert [r.name for r in report.runs] == ["newbatch", "retrain", "redeploy", "report"]
    assert report.succeeded


def test_without_wait_the_run_is_started_and_not_followed(
    client: CmlClient, synced: dict[str, dict[str, Any]], fake_time: FakeTime, poller: dict[str, Any]
) -> None:
    report = run_job(client, PROJECT, "newbatch", wait=False, **poller)
    assert [(r.name, r.status) for r in report.runs] == [("newbatch", "ENGINE_SCHEDULING")]
    assert not report.waited and report.failed is None and fake_time.sleeps == []
    assert len(runs_of(client, synced["newbatch"]["id"])) == 1


def test_an_unknown_job_is_a_clear_error(client: CmlClient, synced: dict[str, dict[str, Any]]) -> None:
    with pytest.raises(JobRunError, match=r"no job named 'retrian' in project .*cml-mlops cml sync-jobs"):
        run_job(client, PROJECT, "retrian")


def test_an_active_run_in_the_chain_is_refused_before_anything_starts(
    client: CmlClient, synced: dict[str, dict[str, Any]]
) -> None:
    client.create_job_run({}, PROJECT, synced["redeploy"]["id"])
    with pytest.raises(JobRunError, match=r"job 'redeploy' already has an active run"):
        run_job(client, PROJECT, "newbatch")
    assert runs_of(client, synced["newbatch"]["id"]) == []


def test_a_paused_child_is_reported_and_not_waited_for(
    client: CmlClient, synced: dict[str, dict[str, Any]], poller: dict[str, Any]
) -> None:
    client.update_job({"paused": True}, PROJECT, synced["redeploy"]["id"])
    report = run_job(client, PROJECT, "newbatch", **poller)
    assert [r.name for r in report.runs] == ["newbatch", "retrain"]
    assert report.not_run == ["redeploy"] and "paused" in report.notes["redeploy"]


@pytest.fixture
def frozen_emulator() -> Iterator[CmlEmulator]:
    """Statuses advance once an hour: a run never finishes during the test."""
    with CmlEmulator(EmulatorState(step_seconds=3600, project_id=PROJECT), api_key=API_KEY) as emu:
        yield emu


def test_waiting_backs_off_and_stops_at_the_deadline(
    frozen_emulator: CmlEmulator, fake_time: FakeTime, poller: dict[str, Any]
) -> None:
    with CmlClient(frozen_emulator.url, API_KEY, environ={}) as client:
        sync_jobs(client, PROJECT, spec_of(chain()))
        with pytest.raises(
            PollTimeout, match=r"job 'newbatch' run \S+: status still 'ENGINE_SCHEDULING' after 600 s"
        ) as caught:
            run_job(client, PROJECT, "newbatch", **poller)
    assert "finished before: none; the runs go on in CML" in str(caught.value)
    assert sum(fake_time.sleeps) == pytest.approx(600)
    assert fake_time.sleeps[:5] == [1, 2, 4, 8, 8]


@pytest.mark.parametrize(
    ("status", "failed"),
    [
        ("ENGINE_SUCCEEDED", False),
        ("ENGINE_FAILED", True),
        ("ENGINE_TIMEDOUT", True),
        ("ENGINE_STOPPED", True),
        ("ENGINE_SKIPPED", True),
    ],
)
def test_which_final_statuses_stop_a_chain(status: str, failed: bool) -> None:
    assert (status in FAILED_STATUSES) is failed
    assert RunResult("j", "id", "run", status).finished
    assert RunResult("j", "id", "run", status).ok is not failed
    assert not RunResult("j", "id", "run", "ENGINE_RUNNING").finished


def test_the_timeout_is_for_the_whole_chain_and_names_what_finished(fake_time: FakeTime) -> None:
    # The emulator's statuses move with the same fake clock: one step per 10 s, so each run takes ~30 s.
    state = EmulatorState(step_seconds=10, project_id=PROJECT, clock=fake_time.clock)
    with CmlEmulator(state, api_key=API_KEY) as emulator, CmlClient(emulator.url, API_KEY, environ={}) as client:
        sync_jobs(client, PROJECT, spec_of(chain()))
        polling = PollSettings(1, 4, 45)
        with pytest.raises(PollTimeout) as caught:
            run_job(client, PROJECT, "newbatch", polling=polling, clock=fake_time.clock, sleep=fake_time.sleep)
    message = str(caught.value)
    assert message.startswith("job 'retrain' run ") and "after" in message
    assert "finished before: newbatch ENGINE_SUCCEEDED; the runs go on in CML" in message
    assert sum(fake_time.sleeps) == pytest.approx(45)
