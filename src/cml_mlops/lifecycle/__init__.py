"""The automated lifecycle (`cml-mlops lifecycle`): new batch -> retrain -> gate -> redeploy when it passed."""

from cml_mlops.lifecycle.chain import LifecycleError, run_lifecycle
from cml_mlops.lifecycle.summary import LifecycleSummary, StepRecord, write_summary

__all__ = ["LifecycleError", "LifecycleSummary", "StepRecord", "run_lifecycle", "write_summary"]
