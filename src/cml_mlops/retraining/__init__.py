"""Step 06: retrain on history plus the lake increment since the champion's snapshot, with lineage, then gate."""

from cml_mlops.retraining.baseline import Baseline, RetrainError, find_baseline
from cml_mlops.retraining.retrain import LineageTag, RetrainResult, run_retrain, write_retrain_report

__all__ = [
    "Baseline",
    "LineageTag",
    "RetrainError",
    "RetrainResult",
    "find_baseline",
    "run_retrain",
    "write_retrain_report",
]
