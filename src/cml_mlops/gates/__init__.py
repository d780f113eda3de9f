"""The quality gate: may this model version become the challenger? Floors, a dummy baseline, non-inferiority to the
champion (per data source, stratified paired bootstrap, with a margin; fails closed on test rows the champion trained
on), segment floors and the input/output contracts, all configured in `gates` of cml-mlops.yaml.
"""

from cml_mlops.gates.bootstrap import BootstrapResult, paired_bootstrap, weighted_metric
from cml_mlops.gates.checks import CheckResult
from cml_mlops.gates.report import GateReport
from cml_mlops.gates.runner import evaluate, run_gate
from cml_mlops.gates.sources import SourceComparison, compare_by_source

__all__ = [
    "BootstrapResult",
    "CheckResult",
    "GateReport",
    "SourceComparison",
    "compare_by_source",
    "evaluate",
    "paired_bootstrap",
    "run_gate",
    "weighted_metric",
]
