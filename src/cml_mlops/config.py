"""The project configuration: one YAML file (`cml-mlops.yaml`) with profiles and environment overrides.

Layering, last wins: the file's base sections, then `profiles.<name>` (chosen by `--profile` or
`CML_MLOPS_PROFILE`, default `local`), then environment variables named `CML_MLOPS_<SECTION>_<FIELD>`
(e.g. `CML_MLOPS_DATA_URL`). Secrets are never read from the file: fields typed `SecretStr` come only
from their environment variable, and a file that sets one is rejected.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cml_mlops.errors import ConfigError
from cml_mlops.profiles import PROFILE_ENV, PROFILES

CONFIG_FILENAME = "cml-mlops.yaml"
ENV_PREFIX = "CML_MLOPS_"
IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
# Marks a setting whose empty value means something ("no checksum"): an empty variable sets it. Other empty
# variables are ignored, since CI systems pass an unset variable (`${{ vars.X }}`) as an empty one.
EMPTY_ENV_CLEARS = "empty_env_clears"


def _in_range(limits: dict[str, float], *, margins: bool = False) -> dict[str, float]:
    """Metric floors, ceilings and margins within the values the metric can take."""
    from cml_mlops.metrics import out_of_range

    problems = out_of_range(limits, margins=margins)
    if problems:
        raise ValueError("; ".join(problems))
    return limits


class Section(BaseModel):
    """A config section: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectSection(Section):
    name: str = Field(min_length=1)
    package: str = Field(pattern=IDENTIFIER_PATTERN, description="import name of the use-case package")


class DataSection(Section):
    url: str = Field(min_length=1, description="http(s) URL, file:// URL or local path of the data set")
    member: str = Field(min_length=1, description="the CSV to use: a member of the archive, or the file")
    sha256: str = Field(
        default="",
        pattern=r"^([0-9a-f]{64})?$",
        description="SHA-256 of the member; empty: not verified",
        json_schema_extra={EMPTY_ENV_CLEARS: True},
    )
    separator: str = Field(default=",", min_length=1, max_length=1)
    encoding: str = "utf-8"
    raw_dir: Path = Path("data/raw")
    timeout_seconds: float = Field(default=60, gt=0)
    retries: int = Field(default=4, ge=0, le=10)
    max_download_bytes: int = Field(default=500_000_000, gt=0)
    max_extracted_bytes: int = Field(default=1_000_000_000, gt=0)
    max_members: int = Field(default=1000, gt=0)


class SparkSection(Section):
    """The Spark engine (lake.engine: spark): `local` runs local[N] here, `cml` the workspace's Spark add-on."""

    profile: Literal["local", "cml"] = "local"
    master: str = Field(default="local[2]", min_length=1)
    jdbc_jar_dir: str = Field(default="/usr/share/java", description="folder of the Debian JDBC driver jars")
    conf: dict[str, str] = Field(default_factory=dict, description="extra Spark settings (spark.* keys)")


class LakeSection(Section):
    engine: Literal["pyiceberg", "spark"] = "pyiceberg"
    spark: SparkSection = SparkSection()
    catalog_name: str = Field(default="cml_mlops", pattern=IDENTIFIER_PATTERN)
    catalog_uri: SecretStr = Field(
        default=SecretStr("sqlite:///lake/catalog.db"),
        description="SQLAlchemy URL of the Iceberg SQL catalog; relative sqlite paths are under the project",
    )
    warehouse: str = Field(default="lake/warehouse", description="folder or URI of the table files")
    namespace: str = Field(pattern=IDENTIFIER_PATTERN)
    table: str = Field(pattern=IDENTIFIER_PATTERN)

    @property
    def quarantine_table(self) -> str:
        return f"{self.table}_quarantine"


class FeaturesSection(Section):
    use_leakage_columns: bool = Field(
        default=False, description="put back columns only known after the outcome (benchmarking only)"
    )
    # bank-full: `duration` (known only after the call) scores 0.81; its strongest legitimate column (month) 0.65.
    leakage_ceiling: float = Field(
        default=0.8, ge=0.5, le=1.0, description="train and the gate refuse an undeclared input above this ROC AUC"
    )
    acknowledged_strong: list[str] = Field(
        default_factory=list, description="input columns known before the outcome that may exceed the ceiling"
    )


class TrackingSection(Section):
    uri: str = Field(default="sqlite:///mlruns/mlflow.db", description="MLflow tracking URI; sqlite under the project")
    artifact_location: str = Field(default="mlruns/artifacts", description="where new experiments keep artifacts")
    experiment: str = Field(min_length=1)
    model_name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class CandidateSection(Section):
    """One model family and its (small) search space: every combination of the grid is one MLflow run."""

    estimator: str = Field(
        pattern=r"^(logistic_regression|random_forest|hist_gradient_boosting|[A-Za-z_][\w.]*:[A-Za-z_]\w*)$",
        description="a built-in name, or the project's factory 'package.models:function'",
    )
    grid: dict[str, list[Any]] = Field(default_factory=dict)


class SplitSection(Section):
    strategy: Literal["stratified", "time"] = Field(
        default="stratified", description="stratified random, or time-ordered (rows are in time order)"
    )
    validation: float = Field(default=0.15, gt=0.0, lt=0.5)
    test: float = Field(default=0.15, gt=0.0, lt=0.5)


def _default_candidates() -> dict[str, CandidateSection]:
    return {
        "logistic_regression": CandidateSection(estimator="logistic_regression", grid={"C": [0.1, 1.0]}),
        "random_forest": CandidateSection(
            estimator="random_forest", grid={"n_estimators": [200], "max_depth": [8, 14]}
        ),
        "hist_gradient_boosting": CandidateSection(
            estimator="hist_gradient_boosting",
            grid={
                "learning_rate": [0.05, 0.1],
                "max_leaf_nodes": [15, 31],
                "max_iter": [300],
                "early_stopping": [False],
                "l2_regularization": [1.0],
            },
        ),
    }


class TrainingSection(Section):
    seed: int = 42
    split: SplitSection = SplitSection()
    primary_metric: str = Field(default="roc_auc", description="selects the best run; never accuracy")
    threshold_objective: Literal["f1", "precision_at_budget"] = "f1"
    contact_budget: float = Field(default=0.1, gt=0.0, lt=1.0, description="share contacted, precision_at_budget")
    candidates: dict[str, CandidateSection] = Field(default_factory=_default_candidates, min_length=1)
    max_rows: int | None = Field(
        default=None, ge=1_000, description="train on a stratified sample of this many rows when the table is larger"
    )

    @field_validator("primary_metric")
    @classmethod
    def _ranking_metric(cls, value: str) -> str:
        from cml_mlops.metrics import RANKING_METRICS

        if value not in RANKING_METRICS:
            raise ValueError(f"{value!r} cannot select models; use one of {', '.join(RANKING_METRICS)}")
        return value


class NonInferioritySection(Section):
    metric: str = "roc_auc"
    margin: float = Field(default=0.01, ge=0.0, le=0.2, description="how much worse than the champion is allowed")
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    bootstrap_samples: int = Field(default=1000, ge=100, le=100_000)


class SegmentsSection(Section):
    columns: list[str] = Field(default_factory=list, description="categorical columns: one segment per value")
    bands: dict[str, list[float]] = Field(default_factory=dict, description="numeric column -> band edges")
    min_rows: int = Field(default=200, ge=1, description="smaller segments are reported, not gated")
    floors: dict[str, float] = Field(default_factory=lambda: {"roc_auc": 0.6})

    @field_validator("floors")
    @classmethod
    def _floors_in_range(cls, value: dict[str, float]) -> dict[str, float]:
        return _in_range(value)


class GatesSection(Section):
    """Quality gates, all as data. Floors of losses (log_loss, brier) are ceilings."""

    floors: dict[str, float] = Field(default_factory=lambda: {"roc_auc": 0.75})
    baseline_margin: dict[str, float] = Field(
        default_factory=lambda: {"roc_auc": 0.05}, description="must beat a dummy (prior) model by this much"
    )
    non_inferiority: NonInferioritySection = NonInferioritySection()
    segments: SegmentsSection = SegmentsSection()

    @field_validator("floors", "baseline_margin")
    @classmethod
    def _known_metrics(cls, value: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        from cml_mlops.metrics import METRICS

        unknown = sorted(set(value) - set(METRICS))
        if unknown:
            raise ValueError(f"unknown metrics {unknown}; known: {', '.join(METRICS)}")
        return _in_range(value, margins=info.field_name == "baseline_margin")


class ServingSection(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=1, le=65535)
    max_body_bytes: int = Field(default=5_000_000, gt=0, description="CML refuses requests over 5 MB too")
    max_batch_rows: int = Field(default=10_000, gt=0)
    require_access_key: bool = True
    access_key: SecretStr | None = Field(default=None, json_schema_extra={"env": "CML_MLOPS_SERVING_ACCESS_KEY"})
    state_dir: Path = Path(".cml-mlops/serving")


class CmlSection(Section):
    """The CML workspace and how models are deployed there (`cml-mlops deploy --target cml`).

    URL and project default to the workspace's own CDSW_API_URL/CDSW_DOMAIN and CDSW_PROJECT_ID.
    """

    workspace_url: str = ""
    project_id: str = ""
    runtime_identifier: str = ""
    api_key: SecretStr | None = Field(default=None, json_schema_extra={"env": "CDSW_APIV2_KEY"})
    client: Literal["auto", "http", "cmlapi"] = Field(
        default="auto", description="auto: cmlapi when importable (CML runtimes), else plain HTTP"
    )
    verify_tls: bool = True
    ca_bundle: str = Field(default="", description="CA certificate file for a workspace with a private CA")
    request_timeout_seconds: float = Field(default=30, gt=0)
    model_name: str = Field(default="", description="CML model and registry name; default: tracking.model_name")
    model_service_url: str = Field(default="", description="default: https://modelservice.<workspace domain>/model")
    cpu: float = Field(default=1.0, gt=0, le=64)
    memory_gb: float = Field(default=2.0, gt=0, le=512)
    replicas: int = Field(default=1, ge=1, le=20)
    build_timeout_seconds: float = Field(default=1800, gt=0)
    deploy_timeout_seconds: float = Field(default=900, gt=0)
    poll_interval_seconds: float = Field(default=5, ge=0)
    poll_max_interval_seconds: float = Field(default=30, ge=0)
    build_from: Literal["script", "registry"] = Field(
        default="script",
        description="script: the project's cml_model.py serves the version (probability, label, version); "
        "registry: CML builds the registered version itself (answers labels only)",
    )
    model_file: str = Field(default="", description="script builds: default src/<package>/cml_model.py")
    model_function: str = Field(default="predict", pattern=IDENTIFIER_PATTERN)


class MonitoringDriftSection(Section):
    """When a feature, the predictions and the whole data set count as drifted in a window, against the reference
    profile saved with the model version at training time. Defaults are the conventional cut-offs."""

    psi_watch: float = Field(default=0.1, gt=0, description="PSI from which a shift is reported as worth watching")
    psi_alert: float = Field(default=0.25, gt=0, description="PSI from which a shift is material")
    p_value: float = Field(default=0.05, gt=0, lt=1, description="significance of KS (numeric) and chi-square tests")
    rule: Literal["psi_and_test", "psi", "test"] = Field(
        default="psi_and_test",
        description="drifted when: PSI >= psi_alert and p < p_value (large and significant), or either alone",
    )
    dataset_drift_share: float = Field(default=0.5, gt=0, le=1, description="data-set drift: this share drifted")
    min_rows: int = Field(default=100, ge=1, description="fewer rows of a model version in a window: not judged")

    @field_validator("psi_alert")
    @classmethod
    def _alert_above_watch(cls, value: float, info: ValidationInfo) -> float:
        if value < info.data.get("psi_watch", 0.0):
            raise ValueError("psi_alert must be at least psi_watch")
        return value


class MonitoringAlertSection(Section):
    """The retraining alert: a check breaches in `breaches` (M) of the last `windows` (N) and in the latest one."""

    breaches: int = Field(default=2, ge=1, description="M")
    windows: int = Field(default=3, ge=1, description="N")

    @field_validator("windows")
    @classmethod
    def _m_of_n(cls, value: int, info: ValidationInfo) -> int:
        if value < info.data.get("breaches", 1):
            raise ValueError("windows (N) must be at least breaches (M)")
        return value


class MonitoringLabelsSection(Section):
    """`cml-mlops labels load`: the columns of a ground-truth source, keyed by `prediction_id`, or by a business
    key (a feature of the logged request, e.g. a customer id) plus the time of the prediction."""

    id_column: str = Field(default="prediction_id", description="the prediction id column (id-keyed sources)")
    label_column: str = Field(default="label", description="the outcome, 0 or 1")
    labelled_at_column: str = Field(
        default="labelled_at", description="when the outcome became known (optional column; default: load time)"
    )
    business_key: str | None = Field(
        default=None, description="a logged feature that identifies the case; set to match by key plus time"
    )
    time_column: str = Field(default="predicted_at", description="the prediction's time in a key-plus-time source")
    match_seconds: float = Field(
        default=300.0, gt=0, description="the largest gap between that time and the logged prediction's time"
    )

    @field_validator("id_column", "label_column", "labelled_at_column", "business_key", "time_column")
    @classmethod
    def _column_name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("a column name must not be empty")
        return value

    @model_validator(mode="after")
    def _distinct_columns(self) -> MonitoringLabelsSection:
        keys = [self.business_key, self.time_column] if self.business_key else [self.id_column]
        named = [*keys, self.label_column, self.labelled_at_column]
        if len(set(named)) != len(named):
            raise ValueError(f"the label source's columns must be distinct, got {named}")
        return self


class MonitoringSection(Section):
    """`cml-mlops monitor` and `report`: windows of the prediction log, the checks on them and their limits."""

    schedule: str = "0 6 * * *"
    dsn: SecretStr | None = Field(default=None, json_schema_extra={"env": "CML_MLOPS_MONITORING_DSN"})
    window: str = Field(
        default="1d", description="window length: a number and s, m, h, d or w (30m, 6h, 1d), or auto (from the data)"
    )
    windows: int = Field(default=30, ge=1, le=1000, description="windows to compute, ending at the latest prediction")
    floors: dict[str, float] = Field(
        default_factory=lambda: {"roc_auc": 0.7}, description="label metrics that must stay at or above"
    )
    ceilings: dict[str, float] = Field(default_factory=dict, description="brier, ece: must stay at or below")
    positive_rate: tuple[float, float] = Field(default=(0.0, 1.0), description="bounds of the predicted positive rate")
    latency_p95_ms: float | None = Field(default=1000.0, gt=0, description="p95 request latency limit; null: none")
    min_requests: int = Field(default=0, ge=0, description="fewer requests in a window breach; 0: no volume check")
    min_labelled: int = Field(default=100, ge=1, description="label metrics need this many labelled predictions")
    drift: MonitoringDriftSection = MonitoringDriftSection()
    alert: MonitoringAlertSection = MonitoringAlertSection()
    labels: MonitoringLabelsSection = MonitoringLabelsSection()

    @field_validator("window")
    @classmethod
    def _duration(cls, value: str) -> str:
        from cml_mlops.monitoring.windows import AUTO, parse_duration

        if value == AUTO:
            return value
        try:
            parse_duration(value)
        except ConfigError as exc:  # as a ValueError, so that the message names the key
            raise ValueError(str(exc)) from None
        return value

    @field_validator("floors", "ceilings")
    @classmethod
    def _known_metrics(cls, value: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        from cml_mlops.monitoring.metric_names import CEILING_METRICS, FLOOR_METRICS

        known = FLOOR_METRICS if info.field_name == "floors" else CEILING_METRICS
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"unknown metrics {unknown}; known: {', '.join(known)}")
        return _in_range(value)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        from cml_mlops.cron import validate_cron

        return validate_cron(value)

    @field_validator("positive_rate")
    @classmethod
    def _rate_bounds(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError("positive_rate must be [low, high] with 0 <= low <= high <= 1")
        return value


class PredictionLogSection(Section):
    """The monitoring store's writer: SQLite under the project unless `monitoring.dsn` names PostgreSQL."""

    sqlite_path: Path = Field(default=Path("monitoring/predictions.db"), description="embedded default store")
    batch_size: int = Field(default=500, ge=1, le=50_000, description="rows per INSERT transaction")
    flush_seconds: float = Field(default=1.0, gt=0, le=3600, description="write a partial batch after this long")
    retry_initial_seconds: float = Field(default=0.1, gt=0, le=60, description="first wait after a failed write")
    retry_max_seconds: float = Field(default=5.0, gt=0, le=600, description="longest wait between retries")
    close_timeout_seconds: float = Field(
        default=60.0, ge=0, le=86_400, description="how long closing keeps retrying before spilling to a file"
    )
    max_buffer_rows: int = Field(default=200_000, ge=1, description="rows kept in memory; more go to the spill file")
    spill_dir: Path = Field(default=Path("monitoring/spill"), description="unwritten rows, as JSONL to re-send")


class CaptureSection(Section):
    """Server-side capture: the local server and the CML model function log every prediction they serve."""

    enabled: bool = Field(default=True, description="false: serve without logging predictions")
    hash_columns: list[str] = Field(default_factory=list, description="PII: logged as a salted SHA-256 digest")
    drop_columns: list[str] = Field(default_factory=list, description="PII: not logged at all")
    hash_salt: SecretStr | None = Field(default=None, json_schema_extra={"env": "CML_MLOPS_CAPTURE_HASH_SALT"})
    queue_rows: int = Field(default=100_000, ge=1, description="predictions waiting for the writer; more spill")
    source: str = Field(default="served", max_length=64, description="the predictions' `scenario` column")


class SimulationSection(Section):
    """Traffic simulation against the deployed endpoint (`cml-mlops simulate`)."""

    seed: int = 7
    scenario: Literal["holdout", "batch", "drift-replay"] = "holdout"
    rows: int | None = Field(default=None, ge=1, description="send at most this many rows (default: all)")
    concurrency: int = Field(default=8, ge=1, le=256, description="requests in flight at once")
    records_per_request: int = Field(
        default=1, ge=1, le=10_000, description="records per request; each is still its own logged prediction"
    )
    label_share: float = Field(default=0.5, ge=0.0, le=1.0, description="share of predictions that get ground truth")
    label_delay_seconds: float = Field(
        default=86_400.0, ge=0.0, description="simulated time from a prediction to its label"
    )
    interval_seconds: float | None = Field(
        default=None, gt=0, description="simulated seconds between requests (default: the real clock)"
    )
    drift_share: float = Field(default=0.2, gt=0.0, le=1.0, description="drift-replay: the table's last share of rows")
    timeout_seconds: float = Field(default=30.0, gt=0, description="per request")
    retries: int = Field(default=3, ge=0, le=10, description="retries of a request the endpoint refused as busy")


class DriftSection(Section):
    """Drift put into every new batch unless the command says otherwise (default: none)."""

    shift: dict[str, float] = Field(default_factory=dict, description="numeric column -> delta in its std")
    category_mix: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="categorical column -> value -> share of the batch rows"
    )
    flip_labels: float = Field(default=0.0, ge=0.0, le=1.0, description="share of rows whose label is swapped")


class NewBatchSection(Section):
    """Synthetic new batches (`cml-mlops newbatch`): rows bootstrapped from the table, plus noise and drift."""

    rows: int | None = Field(default=None, gt=0, description="rows per batch; default: a tenth of the table")
    noise: float = Field(
        default=0.05, ge=0.0, le=1.0, description="numeric jitter in stds; chance a category is resampled"
    )
    seed: int = 11
    drift: DriftSection = DriftSection()


class LifecycleSection(Section):
    """The automated chain new batch -> retrain -> redeploy (`cml-mlops lifecycle`)."""

    target: Literal["local", "cml"] = "local"
    new_batch: bool = Field(default=True, description="false: retrain on data that arrived by other means")


class ReportsSection(Section):
    dir: Path = Path("reports")


class ProjectConfig(Section):
    """The whole validated configuration, with paths resolved against the project root."""

    root: Path
    profile: str
    project: ProjectSection
    data: DataSection
    lake: LakeSection
    features: FeaturesSection = FeaturesSection()
    tracking: TrackingSection
    training: TrainingSection = TrainingSection()
    gates: GatesSection = GatesSection()
    serving: ServingSection = ServingSection()
    cml: CmlSection = CmlSection()
    monitoring: MonitoringSection = MonitoringSection()
    prediction_log: PredictionLogSection = PredictionLogSection()
    capture: CaptureSection = CaptureSection()
    simulation: SimulationSection = SimulationSection()
    newbatch: NewBatchSection = NewBatchSection()
    lifecycle: LifecycleSection = LifecycleSection()
    reports: ReportsSection = ReportsSection()

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        if value not in PROFILES:
            raise ValueError(f"unknown profile {value!r}; choose one of {', '.join(PROFILES)}")
        return value

    def path(self, relative: Path | str) -> Path:
        """A path from the config, resolved against the project root."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else self.root / candidate

    def catalog_uri(self) -> str:
        """The catalog URL, with a relative SQLite path placed under the project root."""
        return self._under_root(self.lake.catalog_uri.get_secret_value())

    def tracking_uri(self) -> str:
        """The MLflow tracking URI, with a relative SQLite path placed under the project root."""
        return self._under_root(self.tracking.uri)

    def _under_root(self, uri: str) -> str:
        prefix = "sqlite:///"
        if uri.startswith(prefix) and not uri[len(prefix) :].startswith("/"):
            return prefix + str(self.path(uri[len(prefix) :]))
        return uri

    def state_paths(self) -> list[Path]:
        """Everything the commands write under the project, relative to it (a .gitignore must cover these)."""
        paths = [value for section in SECTIONS for value in _path_values(getattr(self, section))]
        for uri in (self.catalog_uri(), self.tracking_uri(), self.tracking.artifact_location, self.lake.warehouse):
            local = uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else uri
            if "://" not in local:
                paths.append(Path(local))
        under = []
        for path in paths:
            absolute = self.path(path).resolve()
            if absolute.is_relative_to(self.root.resolve()):
                under.append(absolute.relative_to(self.root.resolve()))
        return sorted(set(under))

    def warehouse_uri(self) -> str:
        """The warehouse location as a URI: a plain relative folder is placed under the project root."""
        warehouse = self.lake.warehouse
        if "://" in warehouse:
            return warehouse
        return self.path(warehouse).resolve().as_uri()


# Fields whose value is a secret: the file may not set them; they come from these variables only.
SECRET_ENV = {
    ("cml", "api_key"): "CDSW_APIV2_KEY",
    ("monitoring", "dsn"): "CML_MLOPS_MONITORING_DSN",
    ("serving", "access_key"): "CML_MLOPS_SERVING_ACCESS_KEY",
    ("capture", "hash_salt"): "CML_MLOPS_CAPTURE_HASH_SALT",
}
# Settings that may carry credentials: allowed in the file only without a password.
CREDENTIAL_URLS = {("lake", "catalog_uri")}
SECTIONS = {
    name: field.annotation
    for name, field in ProjectConfig.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, Section)
}


def _path_values(model: BaseModel) -> list[Path]:
    """The Path settings of a section and its subsections."""
    found: list[Path] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, Path):
            found.append(value)
        elif isinstance(value, BaseModel):
            found += _path_values(value)
    return found


def env_name(section: str, field: str) -> str:
    """The environment variable that overrides `section.field`."""
    return SECRET_ENV.get((section, field), f"{ENV_PREFIX}{section}_{field}".upper())


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` that holds the config file."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILENAME).is_file():
            return folder
    raise ConfigError(
        f"no {CONFIG_FILENAME} found in {here} or its parents: run inside a generated project or pass --project-dir"
    )


def load_config(
    project_dir: Path | None = None,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ProjectConfig:
    """Read, layer and validate the project config; raise ConfigError with every problem listed."""
    env = os.environ if environ is None else environ
    root = find_project_root(project_dir)
    raw = read_yaml(root / CONFIG_FILENAME)
    profiles = raw.pop("profiles", {}) or {}
    if not isinstance(profiles, dict):
        raise ConfigError(f"{CONFIG_FILENAME}: 'profiles' must be a mapping of profile name to overrides")
    chosen = profile or env.get(PROFILE_ENV) or "local"
    if chosen not in PROFILES:
        raise ConfigError(f"unknown profile {chosen!r}; choose one of {', '.join(PROFILES)}")
    unknown_profiles = set(profiles) - set(PROFILES)
    if unknown_profiles:
        raise ConfigError(f"{CONFIG_FILENAME}: unknown profiles {sorted(unknown_profiles)}; use {PROFILES}")
    merged = _deep_merge(raw, profiles.get(chosen) or {})
    _reject_secrets_in_file(merged)
    merged = _apply_environment(merged, env)
    try:
        return ProjectConfig(root=root, profile=chosen, **merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise ConfigError(f"{root / CONFIG_FILENAME} (profile {chosen}): {problems}") from None


class UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error, not "the last one wins"."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (the earlier value would be ignored)", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}, line {line}); save it as UTF-8"
        ) from None
    try:
        content = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {_one_line(exc)}") from None
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return content


def _one_line(exc: yaml.YAMLError) -> str:
    """PyYAML's multi-line message as one line: the problem and where it is."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{exc.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(exc).split())


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _reject_secrets_in_file(merged: dict[str, Any]) -> None:
    for section, field in SECRET_ENV:
        if (merged.get(section) or {}).get(field) not in (None, ""):
            raise ConfigError(
                f"{section}.{field} is a secret: remove it from {CONFIG_FILENAME} and set "
                f"{env_name(section, field)} in the environment instead"
            )
    for section, field in CREDENTIAL_URLS:
        value = (merged.get(section) or {}).get(field)
        if isinstance(value, str) and urlsplit(value).password:
            raise ConfigError(
                f"{section}.{field} holds a password: keep the file free of secrets and set "
                f"{env_name(section, field)} in the environment instead"
            )


def _apply_environment(merged: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """Variables override the file. An empty variable sets only a setting whose empty value means something
    (`CML_MLOPS_DATA_SHA256=""`: no checksum); elsewhere it is ignored, as CI passes unset variables as empty."""
    result = {key: (dict(value) if isinstance(value, dict) else value) for key, value in merged.items()}
    for section, model in SECTIONS.items():
        for field in model.model_fields:
            value = env.get(env_name(section, field))
            if env_overrides(section, field, value):
                result.setdefault(section, {})[field] = value
    return result


def env_overrides(section: str, field: str, value: str | None) -> bool:
    """Whether a variable's `value` overrides `section.field`: non-empty, or empty where empty means something."""
    if value is None:
        return False
    extra = SECTIONS[section].model_fields[field].json_schema_extra
    return value != "" or (isinstance(extra, dict) and bool(extra.get(EMPTY_ENV_CLEARS)))
