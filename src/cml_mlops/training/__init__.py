"""Training: candidates on a lake snapshot, tracked in MLflow, the best on validation registered."""

from cml_mlops.training.runs import CandidateSummary, TrainingError, select_best
from cml_mlops.training.trainer import TrainingResult, train

__all__ = ["CandidateSummary", "TrainingError", "TrainingResult", "select_best", "train"]
