"""A validator of `.project-metadata.yaml`, the spec of a CML Applied ML Prototype (AMP).

It knows the fields seen in Cloudera's own AMPs (see the CML API digest, section 7), and refuses others, so a typo
in a generated project's AMP is caught by its tests rather than by a failed launch in CML. Task types:
run_session, create_job, run_job, create_model, build_model, deploy_model, start_application. Cross-checks:
`run_job` names an earlier `create_job`, `build_model`/`deploy_model` an earlier `create_model`, and
`referenced_files()` lists every project file the tasks run, so tests can check they exist.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cml_mlops.errors import CmlMlopsError

AMP_FILE = Path(".project-metadata.yaml")
RUNTIME_PATTERN = re.compile(
    r"ml-runtime-(?:pbj-)?(?P<editor>workbench|jupyterlab)-python(?P<version>\d+\.\d+)-(?P<edition>\w+)"
)


class AmpSpecError(CmlMlopsError):
    """The AMP spec is missing, not YAML, or has fields or tasks CML would not understand."""


class _StrictAmpModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnvironmentVariable(_StrictAmpModel):
    default: str = ""
    description: str = ""
    required: bool = False

    @field_validator("default", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return "" if value is None else str(value) if isinstance(value, (int, float, bool)) else value


class Runtime(_StrictAmpModel):
    editor: str = Field(min_length=1)
    kernel: str = Field(min_length=1)
    edition: str = Field(min_length=1)
    addons: list[str] = Field(default_factory=list)


class _Task(_StrictAmpModel):
    short_summary: str = ""
    long_summary: str = ""


class RunSession(_Task):
    type: Literal["run_session"]
    name: str = Field(min_length=1)
    script: str = Field(min_length=1)
    kernel: str | None = None
    cpu: float = Field(default=1, gt=0)
    memory: float = Field(default=2, gt=0)


class CreateJob(_Task):
    type: Literal["create_job"]
    name: str = Field(min_length=1)
    entity_label: str = Field(min_length=1)
    script: str = Field(min_length=1)
    arguments: str = ""
    kernel: str | None = None
    cpu: float = Field(default=1, gt=0)
    memory: float = Field(default=2, gt=0)
    gpu: int = Field(default=0, ge=0)
    environment: dict[str, str] = Field(default_factory=dict)


class RunJob(_Task):
    type: Literal["run_job"]
    entity_label: str = Field(min_length=1)
    arguments: str = ""


class Resources(_StrictAmpModel):
    cpu: float = Field(gt=0)
    memory: float = Field(gt=0)


class ReplicationPolicy(_StrictAmpModel):
    type: Literal["fixed"]
    num_replicas: int = Field(ge=1)


class CreateModel(_Task):
    type: Literal["create_model"]
    name: str = Field(min_length=1)
    entity_label: str = Field(min_length=1)
    description: str = ""
    access_key_environment_variable: str = Field(default="", pattern=r"^([A-Za-z_][A-Za-z0-9_]*)?$")
    default_resources: Resources | None = None
    default_replication_policy: ReplicationPolicy | None = None


class Example(_StrictAmpModel):
    request: dict[str, Any]
    response: Any = None


class BuildModel(_Task):
    type: Literal["build_model"]
    name: str = Field(min_length=1)
    entity_label: str = Field(min_length=1)
    comment: str = ""
    target_file_path: str = Field(min_length=1)
    target_function_name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    examples: list[Example] = Field(default_factory=list)


class DeployModel(_Task):
    type: Literal["deploy_model"]
    name: str = Field(min_length=1)
    entity_label: str = Field(min_length=1)
    cpu: float = Field(default=1, gt=0)
    gpu: int = Field(default=0, ge=0)


class StartApplication(_Task):
    type: Literal["start_application"]
    name: str = Field(min_length=1)
    subdomain: str = Field(min_length=1)
    script: str = Field(min_length=1)
    cpu: float = Field(default=1, gt=0)
    memory: float = Field(default=2, gt=0)
    environment_variables: dict[str, str] = Field(default_factory=dict)
    is_embedded: bool = False


Task = Annotated[
    RunSession | CreateJob | RunJob | CreateModel | BuildModel | DeployModel | StartApplication,
    Field(discriminator="type"),
]


class AmpSpec(_StrictAmpModel):
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    author: str = Field(min_length=1)
    specification_version: str
    prototype_version: str
    date: dt.date
    environment_variables: dict[str, EnvironmentVariable] = Field(default_factory=dict)
    feature_dependencies: list[str] = Field(default_factory=list)
    runtimes: list[Runtime] = Field(min_length=1)
    tasks: list[Task] = Field(min_length=1)

    @field_validator("specification_version", "prototype_version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value

    @field_validator("environment_variables")
    @classmethod
    def _variable_names(cls, value: dict[str, EnvironmentVariable]) -> dict[str, EnvironmentVariable]:
        bad = [name for name in value if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)]
        if bad:
            raise ValueError(f"not environment variable names: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _labels_defined_first(self) -> AmpSpec:
        jobs: set[str] = set()
        models: set[str] = set()
        for number, task in enumerate(self.tasks, start=1):
            if isinstance(task, CreateJob):
                jobs.add(task.entity_label)
            elif isinstance(task, CreateModel):
                models.add(task.entity_label)
            elif isinstance(task, RunJob) and task.entity_label not in jobs:
                raise ValueError(
                    f"task {number} (run_job): no earlier create_job has entity_label {task.entity_label!r}"
                )
            elif isinstance(task, (BuildModel, DeployModel)) and task.entity_label not in models:
                raise ValueError(
                    f"task {number} ({task.type}): no earlier create_model has entity_label {task.entity_label!r}"
                )
        return self

    def referenced_files(self) -> list[str]:
        """Project files the tasks run (scripts, the model's entry file), in task order."""
        files: list[str] = []
        for task in self.tasks:
            if isinstance(task, (RunSession, CreateJob, StartApplication)):
                files.append(task.script)
            elif isinstance(task, BuildModel):
                files.append(task.target_file_path)
        return files

    def tasks_of(self, kind: type[BaseModel]) -> list[Any]:
        return [task for task in self.tasks if isinstance(task, kind)]


def runtime_of(identifier: str) -> Runtime | None:
    """The AMP `runtimes` entry of an ML Runtime image identifier (None when it is not a standard one)."""
    match = RUNTIME_PATTERN.search(identifier.lower())
    if match is None:
        return None
    editor = {"workbench": "Workbench", "jupyterlab": "JupyterLab"}[match["editor"]]
    edition = "Nvidia GPU" if match["edition"] == "cuda" else match["edition"].capitalize()
    return Runtime(editor=editor, kernel=f"Python {match['version']}", edition=edition)


def parse_amp(data: Any, *, source: str) -> AmpSpec:
    if not isinstance(data, dict):
        raise AmpSpecError(f"{source}: must be a mapping (name, description, runtimes, tasks, ...)")
    try:
        return AmpSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise AmpSpecError(f"{source}: {'; '.join(problems)}") from None


def load_amp_file(path: Path) -> AmpSpec:
    """Read and validate an AMP spec (AmpSpecError naming the file and every problem)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AmpSpecError(f"{path}: AMP spec not found") from None
    except yaml.YAMLError as exc:
        raise AmpSpecError(f"{path}: not valid YAML: {exc}") from None
    return parse_amp(data, source=str(path))
