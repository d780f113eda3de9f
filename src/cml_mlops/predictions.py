"""The predictions contract: what a model's output must look like, whoever serves it (gate, server, batch scoring).

A probability in [0, 1] (never null) and a label that is one of the data's two target values. The labels come
from the model version (its training run's tags), so the contract is built per model rather than written once.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.api.dataframe.model import DataFrameModel
from pandera.typing import Series

from cml_mlops.contracts import ContractReport, validate_frame

CONTRACT_VERSION = "1.0.0"
PROBABILITY = "probability"
LABEL = "label"


def prediction_model(positive_label: str, negative_label: str) -> type[DataFrameModel]:
    """A DataFrameModel of predictions with these labels (validate_frame, the contracts runner, takes models)."""
    if positive_label == negative_label:
        raise ValueError(f"positive and negative labels must differ, both are {positive_label!r}")

    class Config:
        strict = True  # an extra output column means the model and its consumers disagree
        coerce = False  # a probability that arrives as text is a broken model, not something to repair

    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__doc__": f"Predictions: probability of {positive_label!r} in [0, 1], label {positive_label!r} or "
        f"{negative_label!r}.",
        "__annotations__": {PROBABILITY: Series[float], LABEL: Series[str]},
        PROBABILITY: pa.Field(in_range={"min_value": 0.0, "max_value": 1.0}, nullable=False),
        LABEL: pa.Field(isin=[positive_label, negative_label], nullable=False),
        "Config": Config,
    }
    return type("Predictions", (pa.DataFrameModel,), namespace)


def prediction_schema(positive_label: str, negative_label: str) -> pa.DataFrameSchema:
    """The predictions contract as a pandera DataFrameSchema."""
    return prediction_model(positive_label, negative_label).to_schema()


def validate_predictions(frame: pd.DataFrame, positive_label: str, negative_label: str) -> ContractReport:
    """Validate model output (columns probability, label) lazily: every failed check is in the report."""
    return validate_frame(frame, prediction_model(positive_label, negative_label))
