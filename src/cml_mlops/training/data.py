"""Training data: one snapshot of the lake table, checked against the contract, and its MLflow dataset record."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import pandas as pd
from mlflow.data.dataset_source import DatasetSource
from mlflow.data.dataset_source_registry import register_dataset_source
from mlflow.data.pandas_dataset import PandasDataset, from_pandas
from mlflow.exceptions import MlflowException

from cml_mlops.config import ProjectConfig
from cml_mlops.contracts import validate_frame
from cml_mlops.contracts.report import failure_summary
from cml_mlops.errors import ContractViolation, LakeError
from cml_mlops.lake import Lake, open_lake
from cml_mlops.project import load_project_module
from cml_mlops.training.sampling import SampleRecord, stratified_sample

ICEBERG_SCHEME = "iceberg://"


@dataclass(frozen=True)
class TrainingData:
    """The rows of one table snapshot, as read from the lake, that passed the data set contract."""

    frame: pd.DataFrame
    table: str  # namespace.table
    snapshot_id: int
    contract: str
    contract_version: str
    sample: SampleRecord | None = None  # set when the snapshot had more than training.max_rows rows

    @property
    def version(self) -> str:
        """`<namespace>.<table>@<snapshot_id>`: the data version runs record."""
        return f"{self.table}@{self.snapshot_id}"


def load_training_data(config: ProjectConfig, snapshot_id: int | None = None) -> TrainingData:
    """Read the table at `snapshot_id` (default: current) and validate it with the project's RawDataset.

    Raises LakeError when there is no data or no such snapshot, ContractViolation when the data breaks the
    contract: training never starts on data it cannot trust.
    """
    contracts = load_project_module(config, "contracts")
    table = config.lake.table
    qualified = f"{config.lake.namespace}.{table}"
    with open_lake(config) as lake:
        current = lake.current_snapshot(table) if lake.table_exists(table) else None
        if current is None:
            raise LakeError(f"table {qualified} has no data: run `cml-mlops lake load` first")
        chosen = current.snapshot_id if snapshot_id is None else snapshot_id
        frame, sample = _read(config, lake, table, chosen, getattr(contracts, "TARGET", None))
    report = validate_frame(frame, contracts.RawDataset)
    if not report.passed:
        raise ContractViolation(
            f"training stopped: snapshot {chosen} of {qualified} breaks the contract; {failure_summary(report)} "
            f"(details: cml-mlops validate --snapshot-id {chosen})",
            report=report,
        )
    return TrainingData(frame, qualified, chosen, report.contract, report.contract_version or "unknown", sample)


def _read(
    config: ProjectConfig, lake: Lake, table: str, snapshot_id: int, target: str | None
) -> tuple[pd.DataFrame, SampleRecord | None]:
    """The snapshot's rows, or a stratified sample of training.max_rows of them (drawn by Spark on Spark)."""
    max_rows, seed = config.training.max_rows, config.training.seed
    if max_rows is None:
        return lake.read(table, snapshot_id=snapshot_id), None
    if type(lake).__name__ == "SparkLake":
        from cml_mlops.lake.spark_lake import SparkLake
        from cml_mlops.training.sampling import cut_to_quotas, spark_stratified_sample

        assert isinstance(lake, SparkLake)
        located = lake.dataframe(table, snapshot_id).select("*", "_file", "_pos")  # write order survives sampling
        drawn, total, quotas = spark_stratified_sample(located, target, max_rows, seed)
        frame = lake.to_frame(table, drawn, snapshot_id)
        frame = cut_to_quotas(frame, target, quotas, seed) if quotas and target else frame.head(max_rows)
    else:
        full = lake.read(table, snapshot_id=snapshot_id)
        total, frame = len(full), stratified_sample(full, target, max_rows, seed)
    if total <= max_rows:
        return frame, None
    return frame, SampleRecord(total, len(frame), max_rows, seed, target)


class IcebergDatasetSource(DatasetSource):
    """An MLflow dataset source naming an Iceberg table at a snapshot: `iceberg://<namespace>.<table>@<snapshot>`.

    MLflow's own fingerprint hashes only the first rows of a frame; the snapshot id is the exact data version.
    """

    def __init__(self, table: str, snapshot_id: int) -> None:
        self.table = table
        self.snapshot_id = int(snapshot_id)

    @property
    def uri(self) -> str:
        return f"{ICEBERG_SCHEME}{self.table}@{self.snapshot_id}"

    @staticmethod
    def _get_source_type() -> str:
        return "iceberg"

    def load(self, **kwargs: Any) -> Any:
        raise MlflowException(f"read {self.uri} with cml_mlops.lake (Lake.read(table, snapshot_id=...))")

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return isinstance(raw_source, str) and raw_source.startswith(ICEBERG_SCHEME) and "@" in raw_source

    @classmethod
    def _resolve(cls, raw_source: Any) -> IcebergDatasetSource:
        table, _, snapshot = str(raw_source).removeprefix(ICEBERG_SCHEME).rpartition("@")
        return cls(table, int(snapshot))

    def to_dict(self) -> dict[str, Any]:
        return {"uri": self.uri, "table": self.table, "snapshot_id": str(self.snapshot_id)}

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> IcebergDatasetSource:
        return cls(str(source_dict["table"]), int(source_dict["snapshot_id"]))


# Lets MLflow turn a logged `iceberg` source back into this class (mlflow.data.get_source).
register_dataset_source(IcebergDatasetSource)  # type: ignore[arg-type]  # typed as an instance; takes the class


def mlflow_dataset(data: TrainingData, target: str) -> PandasDataset:
    """The snapshot as an MLflow dataset input, named `<namespace>.<table>@<snapshot_id>`."""
    with warnings.catch_warnings():
        # The contract's integer columns are never null, which is what MLflow's integer hint is about.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer", module="mlflow")
        dataset = from_pandas(
            data.frame, source=IcebergDatasetSource(data.table, data.snapshot_id), name=data.version, targets=target
        )
        dataset.schema  # noqa: B018 - computed (and cached) here, under the filter, rather than when logged
    return dataset
