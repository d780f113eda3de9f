"""The job spec file (cml/jobs.yaml): what is accepted, and every bad case refused with a message naming it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from cml_mlops.cml.jobs import JobSpecError, JobsSpec, load_jobs_file, parse_jobs
from cml_mlops.cron import validate_cron


def chain(**changes: Any) -> dict[str, Any]:
    """newbatch (scheduled) -> retrain -> redeploy, with `changes` merged into the job of that name."""
    jobs = [
        {"name": "newbatch", "script": "cml/scripts/newbatch.py", "schedule": "0 5 * * 1"},
        {"name": "retrain", "script": "cml/scripts/retrain.py", "parent": "newbatch", "cpu": 2, "memory": 4},
        {"name": "redeploy", "script": "cml/scripts/redeploy.py", "parent": "retrain"},
    ]
    for job in jobs:
        job.update(changes.get(job["name"], {}))
    return {"jobs": [{k: v for k, v in job.items() if v is not None} for job in jobs]}


def refused(data: Any, runtime: str = "rt:1") -> str:
    with pytest.raises(JobSpecError) as caught:
        parse_jobs(data, source="cml/jobs.yaml", default_runtime=runtime)
    return str(caught.value)


def test_a_chain_parses_with_defaults_and_the_config_runtime() -> None:
    spec = parse_jobs(chain(), source="cml/jobs.yaml", default_runtime="rt:1")
    assert isinstance(spec, JobsSpec)
    assert [job.name for job in spec.jobs] == ["newbatch", "retrain", "redeploy"]
    newbatch, retrain, redeploy = spec.jobs
    assert newbatch.schedule == "0 5 * * 1" and newbatch.timezone == "UTC" and newbatch.parent is None
    assert (retrain.parent, retrain.cpu, retrain.memory) == ("newbatch", 2.0, 4.0)
    assert {job.runtime_identifier for job in spec.jobs} == {"rt:1"}
    assert redeploy.arguments == "" and redeploy.environment == {}


def test_a_job_may_name_its_own_runtime() -> None:
    spec = parse_jobs(chain(redeploy={"runtime_identifier": "rt:2"}), source="f", default_runtime="rt:1")
    assert spec.job("redeploy").runtime_identifier == "rt:2"
    assert spec.job("retrain").runtime_identifier == "rt:1"


def test_parents_come_before_their_children_whatever_the_file_order() -> None:
    data = chain()
    data["jobs"].reverse()
    spec = parse_jobs(data, source="f", default_runtime="rt:1")
    assert [job.name for job in spec.in_dependency_order()] == ["newbatch", "retrain", "redeploy"]
    assert [job.name for job in spec.children("newbatch")] == ["retrain"]
    assert spec.descendants("newbatch") == ["retrain", "redeploy"]


def test_the_file_loads_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(yaml.safe_dump(chain()), encoding="utf-8")
    assert load_jobs_file(path, default_runtime="rt:1").job("retrain").parent == "newbatch"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (chain(retrain={"parent": "retrain"}), "job 'retrain' is its own parent"),
        (
            chain(newbatch={"parent": "redeploy", "schedule": None}),
            "cycle: newbatch -> redeploy -> retrain -> newbatch",
        ),
        (chain(redeploy={"parent": "deploy"}), "job 'redeploy': parent 'deploy' is not a job in this file"),
        (chain(retrain={"schedule": "0 6 * * *"}), "job 'retrain' has a parent and a schedule"),
        (
            chain(newbatch={"schedule": "61 * * * *"}),
            "job 'newbatch': schedule: cron schedule '61 * * * *' is not valid",
        ),
        (chain(newbatch={"schedule": "0 6 * *"}), "five fields"),
        (chain(newbatch={"schedule": "@daily"}), "five fields"),
        (chain(newbatch={"schedule": "0 6 * * * 2030"}), "five fields"),
        (chain(retrain={"retries": 3}), "job 'retrain': retries: Extra inputs are not permitted"),
        (chain(retrain={"cpu": 0}), "job 'retrain': cpu: Input should be greater than 0"),
        (chain(retrain={"memory": -1}), "job 'retrain': memory: Input should be greater than 0"),
        (chain(retrain={"timeout": -5}), "job 'retrain': timeout"),
        (chain(retrain={"script": "../outside.py"}), "job 'retrain': script"),
        (chain(retrain={"script": "/abs/retrain.py"}), "job 'retrain': script"),
        (chain(retrain={"script": "cml/scripts/retrain.sh"}), "job 'retrain': script"),
        (chain(newbatch={"timezone": "Mars/Olympus"}), "job 'newbatch': timezone: unknown time zone 'Mars/Olympus'"),
        (chain(retrain={"environment": {"CDSW_APIV2_KEY": "x"}}), "CDSW_APIV2_KEY is a secret"),
        (chain(retrain={"environment": {"bad name": "x"}}), "'bad name' is not an environment variable name"),
        (chain(retrain={"name": "newbatch"}), "job name 'newbatch' appears more than once"),
        (chain(retrain={"name": "re$train"}), "job 're$train': name"),
        ({"jobs": []}, "jobs: List should have at least 1 item"),
        ({"job": []}, "job: Extra inputs are not permitted"),
        (["not", "a", "mapping"], "must be a mapping with a 'jobs' list"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bad_specs_are_refused_with_a_message_naming_the_problem(data: Any, message: str) -> None:
    error = refused(data)
    assert message in error
    assert error.startswith("cml/jobs.yaml: ")


def test_a_runtime_is_required_from_the_job_or_the_config() -> None:
    assert "runtime_identifier" in refused(chain(), runtime="")
    assert "cml.runtime_identifier" in refused(chain(), runtime="")


def test_a_missing_or_malformed_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(JobSpecError, match="not found"):
        load_jobs_file(tmp_path / "jobs.yaml", default_runtime="rt:1")
    broken = tmp_path / "broken.yaml"
    broken.write_text("jobs: [name: {", encoding="utf-8")
    with pytest.raises(JobSpecError, match="not valid YAML"):
        load_jobs_file(broken, default_runtime="rt:1")


@pytest.mark.parametrize("expression", ["0 6 * * *", "*/15 * * * *", "0 5 * * 1", "30 2 1,15 * mon-fri", "0 0 1 jan *"])
def test_valid_cron_expressions_pass(expression: str) -> None:
    assert validate_cron(expression) == expression


@pytest.mark.parametrize(
    "expression", ["", "0 6 * *", "60 * * * *", "0 24 * * *", "*/0 * * * *", "0 6 * * * *", "@weekly", "0  6 * * *"]
)
def test_invalid_cron_expressions_fail(expression: str) -> None:
    with pytest.raises(ValueError, match="cron"):
        validate_cron(expression)


@given(
    minute=st.integers(0, 59),
    hour=st.integers(0, 23),
    day=st.integers(1, 28),
    month=st.integers(1, 12),
    weekday=st.integers(0, 6),
    star=st.lists(st.booleans(), min_size=5, max_size=5),
)
def test_every_in_range_five_field_expression_is_accepted(
    minute: int, hour: int, day: int, month: int, weekday: int, star: list[bool]
) -> None:
    fields = [str(v) if not s else "*" for v, s in zip((minute, hour, day, month, weekday), star, strict=True)]
    expression = " ".join(fields)
    assert validate_cron(expression) == expression


@given(field=st.integers(0, 4), value=st.integers(60, 1000))
def test_an_out_of_range_field_is_refused(field: int, value: int) -> None:
    fields = ["0", "6", "1", "1", "1"]
    fields[field] = str(value)
    with pytest.raises(ValueError, match="cron"):
        validate_cron(" ".join(fields))


@st.composite
def forests(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Jobs j0..jn where each job's parent (if any) is an earlier job, listed in a random order."""
    size = draw(st.integers(1, 8))
    jobs = []
    for index in range(size):
        parent = draw(st.none() | st.integers(0, index - 1)) if index else None
        job: dict[str, Any] = {"name": f"j{index}", "script": f"cml/scripts/j{index}.py"}
        if parent is None:
            job["schedule"] = "0 5 * * 1"
        else:
            job["parent"] = f"j{parent}"
        jobs.append(job)
    return draw(st.permutations(jobs))


@given(jobs=forests())
def test_any_forest_of_jobs_is_accepted_and_ordered_parents_first(jobs: list[dict[str, Any]]) -> None:
    spec = parse_jobs({"jobs": jobs}, source="f", default_runtime="rt:1")
    order = [job.name for job in spec.in_dependency_order()]
    assert sorted(order) == sorted(job["name"] for job in jobs)
    for job in spec.jobs:
        if job.parent is not None:
            assert order.index(job.parent) < order.index(job.name)


@given(size=st.integers(2, 6), data=st.data())
def test_any_cycle_is_refused(size: int, data: st.DataObject) -> None:
    names = data.draw(st.permutations([f"j{i}" for i in range(size)]))
    jobs = [
        {"name": name, "script": "cml/scripts/x.py", "parent": names[(i + 1) % size]} for i, name in enumerate(names)
    ]
    assert "cycle: " in refused({"jobs": jobs})
