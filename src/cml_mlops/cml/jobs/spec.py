"""The declarative job spec of a project (`cml/jobs.yaml`): a validated model of the CML jobs it wants.

```yaml
jobs:
  - name: newbatch
    script: cml/scripts/newbatch.py
    schedule: "0 5 * * 1"      # only on jobs without a parent; five-field cron, in `timezone` (default UTC)
  - name: retrain
    script: cml/scripts/retrain.py
    parent: newbatch           # runs when newbatch succeeds
    cpu: 2
    memory: 4                  # GB
```

Unknown keys are errors, parents must be jobs of the file, chains have no cycles, and secrets never go in a
job's `environment` (they belong in the CML project's environment variables).
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cml_mlops.config import CREDENTIAL_URLS, SECRET_ENV, env_name
from cml_mlops.cron import validate_cron
from cml_mlops.errors import CmlMlopsError

JOBS_FILE = Path("cml/jobs.yaml")
SCRIPT_SUFFIXES = (".py", ".R", ".scala")  # what CML jobs run
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Variables that carry secrets: they are set in the CML project, never written in a file under version control.
SECRET_VARIABLES = frozenset(
    {*SECRET_ENV.values(), *(env_name(section, field) for section, field in CREDENTIAL_URLS), "CDSW_API_KEY"}
)


class JobSpecError(CmlMlopsError):
    """The job spec file is missing, not YAML, or describes jobs CML would refuse or run wrongly."""


class _StrictJobModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JobSpec(_StrictJobModel):
    """One CML job: the script it runs, its runtime and resources, and either a schedule or a parent."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$")
    script: str = Field(description="path of the script, relative to the project root")
    arguments: str = ""
    runtime_identifier: str = Field(default="", description="default: cml.runtime_identifier of cml-mlops.yaml")
    runtime_addon_identifiers: list[str] = Field(
        default_factory=list, description="e.g. the Spark add-on (spark351-...) for jobs on lake.engine: spark"
    )
    cpu: float = Field(default=1.0, gt=0)
    memory: float = Field(default=2.0, gt=0, description="GB")
    nvidia_gpu: int = Field(default=0, ge=0)
    timeout: int = Field(default=0, ge=0, description="seconds; 0 = no timeout")
    kill_on_timeout: bool = True
    schedule: str | None = None
    timezone: str = "UTC"
    parent: str | None = None
    environment: dict[str, str] = Field(default_factory=dict)

    @field_validator("script")
    @classmethod
    def _relative_script(cls, value: str) -> str:
        path = PurePosixPath(value)
        if not value or path.is_absolute() or ".." in path.parts or "\\" in value:
            raise ValueError(f"{value!r} must be a path inside the project, relative to its root")
        if path.suffix not in SCRIPT_SUFFIXES:
            raise ValueError(f"{value!r} is not a script CML jobs run ({', '.join(SCRIPT_SUFFIXES)})")
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else validate_cron(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as UTC or Europe/Berlin)") from None
        return value

    @field_validator("environment")
    @classmethod
    def _plain_variables(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name")
            if name in SECRET_VARIABLES:
                raise ValueError(
                    f"{name} is a secret: set it in the CML project's environment variables, never in this file"
                )
        return value


class JobsSpec(_StrictJobModel):
    """The jobs of one project, checked as a whole: unique names, known parents, no cycles."""

    jobs: list[JobSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> JobsSpec:
        names = [job.name for job in self.jobs]
        for name in dict.fromkeys(n for n in names if names.count(n) > 1):
            raise ValueError(f"job name {name!r} appears more than once")
        for job in self.jobs:
            if job.parent == job.name:
                raise ValueError(f"job {job.name!r} is its own parent")
            if job.parent is not None and job.parent not in names:
                raise ValueError(f"job {job.name!r}: parent {job.parent!r} is not a job in this file")
            if job.parent is not None and job.schedule is not None:
                raise ValueError(
                    f"job {job.name!r} has a parent and a schedule: only the first job of a chain is scheduled, "
                    "its children run when their parent succeeds"
                )
        parents = {job.name: job.parent for job in self.jobs}
        for job in self.jobs:
            path = [job.name]
            while (parent := parents[path[-1]]) is not None:
                if parent in path:
                    raise ValueError(f"cycle: {' -> '.join([*path[path.index(parent) :], parent])}")
                path.append(parent)
        return self

    def job(self, name: str) -> JobSpec:
        for job in self.jobs:
            if job.name == name:
                return job
        raise KeyError(name)

    def children(self, name: str) -> list[JobSpec]:
        return [job for job in self.jobs if job.parent == name]

    def descendants(self, name: str) -> list[str]:
        """Names of the jobs that run after `name` succeeds, parents before children."""
        found: list[str] = []
        for child in self.children(name):
            found += [child.name, *self.descendants(child.name)]
        return found

    def in_dependency_order(self) -> Iterator[JobSpec]:
        """Every job after its parent (so a parent's id is known when its children are created)."""
        for root in (job for job in self.jobs if job.parent is None):
            yield root
            for name in self.descendants(root.name):
                yield self.job(name)

    def scripts(self) -> list[str]:
        return [job.script for job in self.jobs]


def _label(data: Any, loc: tuple[int | str, ...]) -> str:
    """`job 'name'` for an error inside a job (by its name when it has one), else the dotted location."""
    if len(loc) >= 2 and loc[0] == "jobs" and isinstance(loc[1], int):
        try:
            name = data["jobs"][loc[1]].get("name")
        except (AttributeError, IndexError, KeyError, TypeError):
            name = None
        where = f"job {name!r}" if isinstance(name, str) else f"jobs[{loc[1]}]"
        rest = ".".join(str(part) for part in loc[2:])
        return f"{where}: {rest}" if rest else where
    return ".".join(str(part) for part in loc)


def _problems(data: Any, error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_url=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        where = _label(data, tuple(item["loc"]))
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)


def parse_jobs(data: Any, *, source: str, default_runtime: str) -> JobsSpec:
    """Validate the parsed YAML of a spec file; jobs without a runtime get `default_runtime`."""
    if not isinstance(data, dict):
        raise JobSpecError(f"{source}: must be a mapping with a 'jobs' list")
    try:
        spec = JobsSpec.model_validate(data)
    except ValidationError as exc:
        raise JobSpecError(f"{source}: {_problems(data, exc)}") from None
    jobs = []
    for job in spec.jobs:
        runtime = job.runtime_identifier or default_runtime
        if not runtime:
            raise JobSpecError(
                f"{source}: job {job.name!r}: runtime_identifier unknown: set it on the job, or set "
                "cml.runtime_identifier in cml-mlops.yaml"
            )
        jobs.append(job.model_copy(update={"runtime_identifier": runtime}))
    return JobsSpec.model_construct(jobs=jobs)


def load_jobs_file(path: Path, *, default_runtime: str) -> JobsSpec:
    """Read and validate a spec file (JobSpecError naming the file and the problem)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JobSpecError(f"{path}: job spec file not found") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise JobSpecError(f"{path}: not valid YAML: {exc}") from None
    return parse_jobs(data, source=str(path), default_runtime=default_runtime)
