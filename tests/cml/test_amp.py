"""The AMP spec (.project-metadata.yaml): the validator's bad cases, and the baked project's spec and jobs file."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from cml_mlops.cml.amp import AmpSpecError, BuildModel, CreateModel, Runtime, load_amp_file, parse_amp, runtime_of
from cml_mlops.cml.jobs import load_jobs_file
from cml_mlops.config import load_config
from tests.conftest import bake

MINIMAL: dict[str, Any] = {
    "name": "p",
    "description": "d",
    "author": "a",
    "specification_version": 1.0,
    "prototype_version": 1.0,
    "date": "2026-11-26",
    "runtimes": [{"editor": "Workbench", "kernel": "Python 3.10", "edition": "Standard"}],
    "tasks": [
        {"type": "run_session", "name": "s", "script": "s.py"},
        {"type": "create_job", "name": "j", "entity_label": "job", "script": "j.py"},
        {"type": "run_job", "entity_label": "job"},
        {"type": "create_model", "name": "m", "entity_label": "model"},
        {"type": "build_model", "name": "b", "entity_label": "model", "target_file_path": "m.py",
         "target_function_name": "predict"},
        {"type": "deploy_model", "name": "d", "entity_label": "model"},
    ],
}  # fmt: skip


def changed(path: str, value: Any) -> dict[str, Any]:
    """MINIMAL with the dotted `path` set to `value` (None deletes it)."""
    data = copy.deepcopy(MINIMAL)
    *parents, last = path.split(".")
    target: Any = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    key: Any = int(last) if last.isdigit() else last
    if value is None:
        del target[key]
    else:
        target[key] = value
    return data


def test_a_minimal_spec_with_every_observed_task_type_validates() -> None:
    spec = parse_amp(MINIMAL, source="amp")
    assert (spec.specification_version, str(spec.date)) == ("1.0", "2026-11-26")
    assert spec.referenced_files() == ["s.py", "j.py", "m.py"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (changed("tasks.0.type", "run_notebook"), "tasks.0: Input tag 'run_notebook' found using 'type'"),
        (changed("tasks.0.scirpt", "x.py"), "scirpt: Extra inputs are not permitted"),
        (changed("tasks.2.entity_label", "other"), "task 3 (run_job): no earlier create_job has entity_label 'other'"),
        (changed("tasks.4.entity_label", "mdl"), "task 5 (build_model): no earlier create_model has entity_label"),
        (changed("tasks.4.target_function_name", "pre dict"), "target_function_name: String should match pattern"),
        (changed("date", "26/11/2026"), "date: Input should be a valid date"),
        (changed("runtimes", []), "runtimes: List should have at least 1 item"),
        (changed("name", None), "name: Field required"),
        (changed("environment_variables", {"BAD NAME": {"default": ""}}), "not environment variable names: BAD NAME"),
        (changed("tasks.3.default_replication_policy", {"type": "auto", "num_replicas": 1}), "type: Input should be"),
        ([1, 2], "must be a mapping"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bad_specs_are_refused_with_a_message_naming_the_field(data: Any, message: str) -> None:
    with pytest.raises(AmpSpecError) as caught:
        parse_amp(data, source=".project-metadata.yaml")
    assert str(caught.value).startswith(".project-metadata.yaml: ")
    assert message in str(caught.value)


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AmpSpecError, match="not found"):
        load_amp_file(tmp_path / ".project-metadata.yaml")
    (tmp_path / "broken.yaml").write_text("tasks: [", encoding="utf-8")
    with pytest.raises(AmpSpecError, match="not valid YAML"):
        load_amp_file(tmp_path / "broken.yaml")


@pytest.mark.parametrize(
    ("identifier", "expected"),
    [
        (
            "docker.repository.cloudera.com/cloudera/cdsw/ml-runtime-pbj-workbench-python3.10-standard:2025.06.1-b5",
            ("Workbench", "Python 3.10", "Standard"),
        ),
        (
            "docker.repository.cloudera.com/cloudera/cdsw/ml-runtime-pbj-jupyterlab-python3.12-cuda:2025.06.1-b5",
            ("JupyterLab", "Python 3.12", "Nvidia GPU"),
        ),
        (  # older runtimes have no "pbj-"
            "docker.repository.cloudera.com/cloudera/cdsw/ml-runtime-workbench-python3.9-standard:2023.08.2-b8",
            ("Workbench", "Python 3.9", "Standard"),
        ),
        ("registry.example.com/team/custom-image:1", None),
    ],
)
def test_the_amp_runtime_of_a_runtime_identifier(identifier: str, expected: tuple[str, str, str] | None) -> None:
    runtime = runtime_of(identifier)
    if expected is None:
        assert runtime is None
    else:
        assert runtime == Runtime(editor=expected[0], kernel=expected[1], edition=expected[2])


def test_the_baked_amp_validates_and_everything_it_runs_exists(baked_project: Path) -> None:
    spec = load_amp_file(baked_project / ".project-metadata.yaml")
    config = load_config(baked_project, environ={})
    files = spec.referenced_files()
    assert files and all((baked_project / path).is_file() for path in files), files
    # The endpoint comes from the gated deploy command, not from AMP model tasks (a second, ungated model).
    assert not spec.tasks_of(CreateModel) and not spec.tasks_of(BuildModel)
    deploy_scripts = [task.script for task in spec.tasks if getattr(task, "script", "") == "cml/scripts/redeploy.py"]
    assert deploy_scripts, "the AMP must deploy the model"
    assert '"deploy", "--target", "cml"' in (baked_project / deploy_scripts[0]).read_text(encoding="utf-8")
    assert spec.runtimes == [runtime_of(config.cml.runtime_identifier)]
    assert set(spec.environment_variables) >= {"CML_MLOPS_PROFILE", "CML_MLOPS_MONITORING_DSN"}
    assert all(not v.default for k, v in spec.environment_variables.items() if k != "CML_MLOPS_PROFILE")  # no secrets


def test_the_baked_jobs_file_validates_with_the_chain_of_the_lab(baked_project: Path) -> None:
    config = load_config(baked_project, environ={})
    spec = load_jobs_file(baked_project / "cml" / "jobs.yaml", default_runtime=config.cml.runtime_identifier)
    assert [job.name for job in spec.in_dependency_order()] == ["newbatch", "retrain", "redeploy", "monitor"]
    assert spec.descendants("newbatch") == ["retrain", "redeploy"]
    assert spec.job("monitor").schedule == config.monitoring.schedule
    assert {job.runtime_identifier for job in spec.jobs} == {config.cml.runtime_identifier}
    assert all((baked_project / script).is_file() for script in spec.scripts())


@pytest.mark.slow  # one more bake
def test_the_amp_runtime_and_monitor_schedule_follow_the_prompts(tmp_path: Path) -> None:
    identifier = (
        "docker.repository.cloudera.com/cloudera/cdsw/ml-runtime-pbj-jupyterlab-python3.12-standard:2025.06.1-b5"
    )
    project = bake(tmp_path, cml_runtime_identifier=identifier, monitoring_cron="15 3 * * 2")
    spec = load_amp_file(project / ".project-metadata.yaml")
    assert spec.runtimes == [Runtime(editor="JupyterLab", kernel="Python 3.12", edition="Standard")]
    jobs = yaml.safe_load((project / "cml" / "jobs.yaml").read_text(encoding="utf-8"))
    assert {job["name"]: job.get("schedule") for job in jobs["jobs"]}["monitor"] == "15 3 * * 2"
