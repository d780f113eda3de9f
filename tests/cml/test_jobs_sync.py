"""`sync_jobs` against the emulator: creates, updates only what differs, never duplicates, leaves others alone."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cml_mlops.cml import CmlClient
from cml_mlops.cml.emulator import CmlEmulator, EmulatorState, Faults
from cml_mlops.cml.jobs import JobsSpec, JobSyncError, parse_jobs, sync_jobs
from tests.cml.conftest import API_KEY, PROJECT, RUNTIME
from tests.cml.test_jobs_spec import chain

WRITES = {"create_job", "update_job", "delete_job", "create_job_run"}


def spec_of(data: dict[str, Any]) -> JobsSpec:
    return parse_jobs(data, source="cml/jobs.yaml", default_runtime=RUNTIME)


def jobs_by_name(client: CmlClient, project: str = PROJECT) -> dict[str, dict[str, Any]]:
    jobs = list(CmlClient.iterate(client.list_jobs, project))
    names = [job["name"] for job in jobs]
    assert len(names) == len(set(names)), f"duplicate jobs: {names}"
    return {job["name"]: job for job in jobs}


def writes(emulator: CmlEmulator) -> list[str]:
    return [r.operation for r in emulator.requests if r.operation in WRITES]


def test_the_first_sync_creates_the_chain_with_parents_first(client: CmlClient) -> None:
    report = sync_jobs(client, PROJECT, spec_of(chain()))
    assert [(j.name, j.action) for j in report.jobs] == [
        ("newbatch", "create"),
        ("retrain", "create"),
        ("redeploy", "create"),
    ]
    jobs = jobs_by_name(client)
    assert jobs["newbatch"]["schedule"] == "0 5 * * 1" and jobs["newbatch"]["type"] == "cron"
    assert jobs["newbatch"]["timezone"] == "UTC"
    assert jobs["retrain"]["parent_id"] == jobs["newbatch"]["id"] and jobs["retrain"]["type"] == "dependent"
    assert jobs["redeploy"]["parent_id"] == jobs["retrain"]["id"]
    assert (jobs["retrain"]["cpu"], jobs["retrain"]["memory"]) == (2.0, 4.0)
    assert {job["runtime_identifier"] for job in jobs.values()} == {RUNTIME}
    assert report.jobs[1].job_id == jobs["retrain"]["id"]


def test_a_second_sync_changes_nothing_and_sends_no_writes(client: CmlClient, emulator: CmlEmulator) -> None:
    sync_jobs(client, PROJECT, spec_of(chain()))
    before = jobs_by_name(client)
    emulator.requests.clear()
    report = sync_jobs(client, PROJECT, spec_of(chain()))
    assert {j.action for j in report.jobs} == {"unchanged"}
    assert writes(emulator) == []
    after = jobs_by_name(client)
    assert after == before


def test_a_changed_field_is_updated_in_place(client: CmlClient, emulator: CmlEmulator) -> None:
    sync_jobs(client, PROJECT, spec_of(chain()))
    ids = {name: job["id"] for name, job in jobs_by_name(client).items()}
    emulator.requests.clear()
    changed = chain(retrain={"cpu": 4, "environment": {"LOG_LEVEL": "debug"}}, newbatch={"schedule": "0 4 * * 2"})
    report = sync_jobs(client, PROJECT, spec_of(changed))
    actions = {j.name: j for j in report.jobs}
    assert actions["retrain"].action == "update"
    assert actions["retrain"].changes == {"cpu": [2.0, 4.0], "environment": [{}, {"LOG_LEVEL": "debug"}]}
    assert actions["newbatch"].changes == {"schedule": ["0 5 * * 1", "0 4 * * 2"]}
    assert actions["redeploy"].action == "unchanged"
    assert writes(emulator) == ["update_job", "update_job"]
    jobs = jobs_by_name(client)
    assert {name: job["id"] for name, job in jobs.items()} == ids
    assert jobs["retrain"]["cpu"] == 4.0 and json.loads(jobs["retrain"]["environment"]) == {"LOG_LEVEL": "debug"}
    assert jobs["newbatch"]["schedule"] == "0 4 * * 2"
    assert {j.action for j in sync_jobs(client, PROJECT, spec_of(changed)).jobs} == {"unchanged"}


def test_a_job_can_move_from_schedule_to_parent(client: CmlClient) -> None:
    data = chain()
    data["jobs"].append({"name": "monitor", "script": "cml/scripts/monitor.py", "schedule": "0 6 * * *"})
    sync_jobs(client, PROJECT, spec_of(data))
    data["jobs"][-1] = {"name": "monitor", "script": "cml/scripts/monitor.py", "parent": "redeploy"}
    report = sync_jobs(client, PROJECT, spec_of(data))
    assert report.jobs[-1].changes["schedule"] == ["0 6 * * *", ""]
    monitor = jobs_by_name(client)["monitor"]
    assert monitor["schedule"] == "" and monitor["parent_id"] == jobs_by_name(client)["redeploy"]["id"]
    assert monitor["type"] == "dependent"


def test_jobs_not_in_the_file_are_left_alone_and_listed(client: CmlClient, emulator: CmlEmulator) -> None:
    other = client.create_job({"name": "hand-made", "script": "x.py", "runtime_identifier": RUNTIME}, PROJECT)
    report = sync_jobs(client, PROJECT, spec_of(chain()))
    assert report.unmanaged == ["hand-made"]
    assert client.get_job(PROJECT, other["id"])["script"] == "x.py"
    assert "delete_job" not in writes(emulator)
    assert "hand-made" in report.to_markdown()


def test_a_dry_run_plans_without_writing(client: CmlClient, emulator: CmlEmulator) -> None:
    report = sync_jobs(client, PROJECT, spec_of(chain()), dry_run=True)
    assert [j.action for j in report.jobs] == ["create", "create", "create"]
    assert report.dry_run and writes(emulator) == []
    assert jobs_by_name(client) == {}
    assert "would create" in report.to_markdown()
    sync_jobs(client, PROJECT, spec_of(chain()))
    plan = sync_jobs(client, PROJECT, spec_of(chain(retrain={"memory": 8})), dry_run=True)
    assert plan.jobs[1].changes == {"memory": [4.0, 8.0]}
    assert jobs_by_name(client)["retrain"]["memory"] == 4.0


def test_two_project_jobs_with_one_name_stop_the_sync_before_any_write(
    client: CmlClient, emulator: CmlEmulator
) -> None:
    for _ in range(2):
        client.create_job({"name": "retrain", "script": "r.py", "runtime_identifier": RUNTIME}, PROJECT)
    emulator.requests.clear()
    with pytest.raises(JobSyncError, match=r"2 jobs named 'retrain' in project"):
        sync_jobs(client, PROJECT, spec_of(chain()))
    assert writes(emulator) == []


def test_a_name_that_contains_another_is_not_confused_with_it(client: CmlClient) -> None:
    # The API's name filter is "contains": the sync must match names exactly.
    client.create_job({"name": "retrain-old", "script": "r.py", "runtime_identifier": RUNTIME}, PROJECT)
    report = sync_jobs(client, PROJECT, spec_of(chain()))
    assert {j.name: j.action for j in report.jobs}["retrain"] == "create"
    assert report.unmanaged == ["retrain-old"]


@pytest.mark.parametrize("faults", [Faults(failing_calls={"create_job": {2: 400}})])
def test_a_failed_call_names_the_job_and_what_was_applied_and_a_rerun_finishes(client: CmlClient) -> None:
    with pytest.raises(JobSyncError) as caught:
        sync_jobs(client, PROJECT, spec_of(chain()))
    message = str(caught.value)
    assert "job 'retrain'" in message and "created newbatch" in message and "run the sync again" in message
    assert set(jobs_by_name(client)) == {"newbatch"}
    report = sync_jobs(client, PROJECT, spec_of(chain()))
    assert [j.action for j in report.jobs] == ["unchanged", "create", "create"]
    assert set(jobs_by_name(client)) == {"newbatch", "retrain", "redeploy"}


def test_a_missing_project_is_a_clear_error(client: CmlClient) -> None:
    with pytest.raises(JobSyncError, match="project 'nope-nope-nope-nope'"):
        sync_jobs(client, "nope-nope-nope-nope", spec_of(chain()))


def test_the_report_as_json_lists_every_job(client: CmlClient) -> None:
    data = sync_jobs(client, PROJECT, spec_of(chain())).to_dict()
    assert data["project_id"] == PROJECT and data["dry_run"] is False
    assert [job["name"] for job in data["jobs"]] == ["newbatch", "retrain", "redeploy"]
    json.dumps(data)


JOB_CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "cpu": st.sampled_from([0.5, 1, 2, 4]),
        "memory": st.sampled_from([1, 2, 8]),
        "timeout": st.integers(0, 7200),
        "arguments": st.sampled_from(["", "--fast", "--seed 3"]),
        "environment": st.dictionaries(st.sampled_from(["A", "B_1"]), st.text("abc", max_size=3), max_size=2),
        "kill_on_timeout": st.booleans(),
        "nvidia_gpu": st.integers(0, 2),
    },
)


@settings(max_examples=25, deadline=None)
@given(first=st.lists(JOB_CHANGES, min_size=3, max_size=3), second=st.lists(JOB_CHANGES, min_size=3, max_size=3))
def test_after_any_sync_the_project_matches_the_file_and_a_resync_is_a_no_op(
    first: list[dict[str, Any]], second: list[dict[str, Any]]
) -> None:
    names = ["newbatch", "retrain", "redeploy"]
    state = EmulatorState(step_seconds=0, project_id=PROJECT)
    with CmlEmulator(state, api_key=API_KEY) as emulator, CmlClient(emulator.url, API_KEY, environ={}) as client:
        for changes in (first, second):
            spec = spec_of(chain(**dict(zip(names, changes, strict=True))))
            sync_jobs(client, PROJECT, spec)
            jobs = jobs_by_name(client)
            for job in spec.jobs:
                have = jobs[job.name]
                assert (have["cpu"], have["memory"], have["nvidia_gpu"]) == (job.cpu, job.memory, job.nvidia_gpu)
                assert (int(have["timeout"]), have["arguments"]) == (job.timeout, job.arguments)
                assert json.loads(have["environment"]) == job.environment
                assert have["kill_on_timeout"] == job.kill_on_timeout
            emulator.requests.clear()
            assert {j.action for j in sync_jobs(client, PROJECT, spec).jobs} == {"unchanged"}
            assert writes(emulator) == []


def test_the_spark_runtime_add_on_is_synced_and_updated(client: CmlClient, emulator: CmlEmulator) -> None:
    with_spark = chain(newbatch={"runtime_addon_identifiers": ["spark351-24.1-h1"]})
    sync_jobs(client, PROJECT, spec_of(with_spark))
    assert jobs_by_name(client)["newbatch"]["runtime_addon_identifiers"] == ["spark351-24.1-h1"]
    assert jobs_by_name(client)["retrain"]["runtime_addon_identifiers"] == []
    emulator.requests.clear()

    report = sync_jobs(client, PROJECT, spec_of(chain()))

    assert {j.name: j.changes for j in report.jobs if j.action == "update"} == {
        "newbatch": {"runtime_addon_identifiers": [["spark351-24.1-h1"], []]}
    }
    assert writes(emulator) == ["update_job"]
