"""The gate's checks, each a small function returning CheckResults; `guarded` makes any error a failed check."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandera.api.dataframe.model import DataFrameModel

from cml_mlops.contracts import validate_frame
from cml_mlops.contracts.report import failure_summary
from cml_mlops.metrics import METRICS, compute_metrics
from cml_mlops.predictions import validate_predictions

Status = Literal["passed", "failed", "skipped"]

# Kinds of check, in report order.
DATA = "data"
FLOOR = "floor"
BASELINE = "baseline"
NON_INFERIORITY = "non_inferiority"
SEGMENT = "segment"
CONTRACT = "contract"


@dataclass(frozen=True)
class CheckResult:
    """One line of the gate report. `threshold` is what `value` is compared with, by `operator`."""

    kind: str
    name: str
    status: Status
    metric: str | None = None
    value: float | None = None
    operator: str | None = None  # ">=" or "<="
    threshold: float | None = None
    detail: str = ""  # margin, interval, reason for a skip, error text
    data: dict[str, Any] = field(default_factory=dict)  # numbers behind the verdict, for the JSON report

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def guarded(kind: str, name: str, check: Callable[[], list[CheckResult]]) -> list[CheckResult]:
    """Run a check; any exception becomes a failed check carrying the error text (fail closed, never a silent pass)."""
    try:
        return check()
    except Exception as exc:  # every failure of a check is a verdict, reported with its cause
        return [error_result(kind, name, exc)]


def error_result(kind: str, name: str, exc: BaseException) -> CheckResult:
    text = " ".join(str(exc).split()) or "(no message)"
    return CheckResult(kind, name, "failed", detail=f"error: {type(exc).__name__}: {text}")


def known_metric(name: str) -> str:
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r} in the gates config; known: {', '.join(METRICS)}")
    return name


def compare(value: float, bound: float, higher_is_better: bool) -> bool:
    """value at least `bound` (gains) or at most `bound` (losses); NaN never passes."""
    if math.isnan(value):
        return False
    return value >= bound if higher_is_better else value <= bound


def floor_checks(
    metrics: dict[str, float], floors: dict[str, float], *, kind: str = FLOOR, prefix: str = ""
) -> list[CheckResult]:
    """Absolute floors; for losses (higher_is_better False) the floor is a ceiling."""
    results = []
    for name, floor in floors.items():
        better_high = METRICS[known_metric(name)].higher_is_better
        value = float(metrics[name])
        passed = compare(value, floor, better_high)
        results.append(
            CheckResult(
                kind,
                f"{prefix}{name}",
                "passed" if passed else "failed",
                metric=name,
                value=value,
                operator=">=" if better_high else "<=",
                threshold=floor,
                detail="undefined on these rows" if math.isnan(value) else "",
            )
        )
    return results


def prior_metrics(y_true: np.ndarray, prior: float) -> dict[str, float]:
    """Metrics of sklearn's DummyClassifier(strategy="prior"): every row scored `prior`, labels the majority class."""
    y = np.asarray(y_true).astype(int)
    return compute_metrics(y, np.full(len(y), prior, dtype=float), threshold=0.5)


def baseline_checks(
    metrics: dict[str, float], dummy: dict[str, float], margins: dict[str, float], prior: float
) -> list[CheckResult]:
    """Beat the prior-predicting dummy by `margin` (for losses: be lower by `margin`)."""
    results = []
    for name, margin in margins.items():
        better_high = METRICS[known_metric(name)].higher_is_better
        value, baseline = float(metrics[name]), float(dummy[name])
        needed = baseline + margin if better_high else baseline - margin
        passed = compare(value, needed, better_high)
        results.append(
            CheckResult(
                BASELINE,
                name,
                "passed" if passed else "failed",
                metric=name,
                value=value,
                operator=">=" if better_high else "<=",
                threshold=needed,
                detail=f"dummy (prior {prior:.4f}) scores {baseline:.4f}; margin {margin:g}",
                data={"dummy": baseline, "margin": margin, "prior": prior},
            )
        )
    return results


def skipped(kind: str, name: str, reason: str, **data: Any) -> CheckResult:
    return CheckResult(kind, name, "skipped", detail=reason, data=dict(data))


def positive_rate(frame: pd.DataFrame, target: str, positive_label: str) -> float:
    if target not in frame.columns:
        raise ValueError(f"target column {target!r} is not in the split (columns: {', '.join(map(str, frame))})")
    if frame.empty:
        raise ValueError("the split has no rows")
    return float((frame[target].astype(str) == positive_label).mean())


# Contract-valid inputs drawn per check: EXAMPLES frames of EXAMPLE_ROWS rows (hypothesis varies them widely,
# extremes included), seeded so that a gate verdict is reproducible.
EXAMPLES = 8
EXAMPLE_ROWS = 50


def contract_examples(contract: type[DataFrameModel], *, seed: int) -> pd.DataFrame:
    """Rows that satisfy `contract`, drawn from its hypothesis strategy with a fixed seed."""
    from hypothesis import HealthCheck, Phase, given
    from hypothesis import seed as hypothesis_seed
    from hypothesis import settings as hypothesis_settings

    drawn: list[pd.DataFrame] = []
    options = hypothesis_settings(
        max_examples=EXAMPLES,
        database=None,  # nothing written to .hypothesis/ in the project
        derandomize=False,  # the seed decides, whatever profile the caller loaded
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )

    @hypothesis_seed(seed)
    @options
    @given(contract.strategy(size=EXAMPLE_ROWS))
    def collect(frame: pd.DataFrame) -> None:
        drawn.append(frame)

    collect()
    return pd.concat(drawn, ignore_index=True)


def input_contract_check(
    predict: Callable[[pd.DataFrame], pd.DataFrame], contract: type[DataFrameModel], *, seed: int
) -> tuple[CheckResult, pd.DataFrame | None]:
    """The model scores rows that pass the feature contract without an error; returns its predictions too."""
    rows = contract_examples(contract, seed=seed)
    report = validate_frame(rows, contract)
    if not report.passed:  # the strategy drew rows its own contract refuses: test nothing rather than lie
        raise ValueError(f"{contract.__name__}'s strategy generated rows that break it: {failure_summary(report)}")
    name = f"accepts {contract.__name__} rows"
    try:
        predictions = predict(rows)
    except Exception as exc:  # the model refusing valid input is this check's finding
        return error_result(CONTRACT, name, exc), None
    result = CheckResult(CONTRACT, name, "passed", value=float(len(rows)), detail=f"{len(rows)} generated rows scored")
    return result, predictions


def predictions_contract_check(predictions: pd.DataFrame, positive_label: str, negative_label: str) -> CheckResult:
    """The model's output satisfies the predictions contract (probability in [0, 1], known labels)."""
    report = validate_predictions(predictions, positive_label, negative_label)
    detail = f"{report.rows} predictions checked" if report.passed else failure_summary(report)
    return CheckResult(
        CONTRACT,
        f"output passes {report.contract} {report.contract_version}",
        "passed" if report.passed else "failed",
        value=float(report.rows),
        detail=detail,
        data={"contract": report.to_dict()},
    )
