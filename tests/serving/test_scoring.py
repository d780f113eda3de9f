"""Scoring: the frame the pipeline gets is the lake's (order, dtypes), whatever JSON shape the rows came in."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.typing import Series

from cml_mlops.serving.scoring import Scorer, uuid4_strings
from cml_mlops.serving.validation import RowValidator
from cml_mlops.tracking import LoadedModel


def json_records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as a client would send them: through JSON text."""
    return list(json.loads(frame.to_json(orient="records")))


def test_frame_has_the_training_columns_and_dtypes(scorer: Scorer, bank_frame: pd.DataFrame) -> None:
    rows = bank_frame.head(20)
    frame = scorer.frame(scorer.validator.from_records(json_records(rows)))
    expected = bank_frame[scorer.model.features]
    assert list(frame.columns) == list(expected.columns)
    assert frame.dtypes.to_dict() == expected.dtypes.to_dict()


def test_predictions_equal_the_pipeline_on_the_lake_frame(
    scorer: Scorer, bank_model: LoadedModel, bank_frame: pd.DataFrame
) -> None:
    rows = bank_frame.sample(300, random_state=1)
    shuffled = [dict(reversed(list(record.items()))) for record in json_records(rows)]  # key order is irrelevant
    predictions = scorer.score(scorer.validator.from_records(shuffled))
    expected = bank_model.predict(rows)
    assert np.allclose([p["probability"] for p in predictions], expected["probability"], rtol=0, atol=1e-12)
    assert [p["label"] for p in predictions] == expected["label"].tolist()
    assert {p["model_version"] for p in predictions} == {"7"}
    ids = [uuid.UUID(p["prediction_id"]) for p in predictions]
    assert len(set(ids)) == len(ids) and all(i.version == 4 for i in ids)


def test_split_and_records_score_alike(scorer: Scorer, bank_frame: pd.DataFrame) -> None:
    rows = bank_frame.head(50)[scorer.model.features]
    split = json.loads(rows.to_json(orient="split", index=False))
    split["data"] = [[float(v) if isinstance(v, int) else v for v in row] for row in split["data"]]  # as MLflow sends
    by_split = scorer.score(scorer.validator.from_split(split))
    by_records = scorer.score(scorer.validator.from_records(json_records(rows)))
    assert [p["probability"] for p in by_split] == [p["probability"] for p in by_records]


class Nullable(pa.DataFrameModel):
    count: Series[int] = pa.Field(nullable=True)
    flag: Series[bool] = pa.Field(nullable=True)
    amount: Series[float] = pa.Field(nullable=True)
    name: Series[str] = pa.Field(nullable=True)


def test_nullable_columns_get_the_lakes_nullable_dtypes() -> None:
    features = ["count", "flag", "amount", "name"]
    scorer = Scorer(
        LoadedModel(None, "m", "1", "run", 0.5, "yes", "no", features), RowValidator.from_contract(Nullable, features)
    )
    rows = [{"count": 1, "flag": True, "amount": 1.5, "name": "a"}, dict.fromkeys(features)]
    frame = scorer.frame(scorer.validator.from_records(rows))
    assert frame.dtypes.astype(str).tolist() == ["Int64", "boolean", "float64", "object"]
    assert frame.isna().sum().tolist() == [1, 1, 1, 1]


@pytest.mark.parametrize("count", [1, 2, 1000])
def test_prediction_ids_are_distinct_uuid4s(count: int) -> None:
    ids = uuid4_strings(count)
    parsed = [uuid.UUID(text) for text in ids]
    assert len(set(ids)) == count
    assert all(
        u.version == 4 and u.variant == uuid.RFC_4122 and str(u) == text for u, text in zip(parsed, ids, strict=True)
    )


class NotANumber:
    """A 'model' whose probabilities are NaN."""

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.full((len(frame), 2), np.nan)


def test_probabilities_that_are_not_numbers_are_an_error_not_a_null(scorer: Scorer) -> None:
    broken = Scorer(
        LoadedModel(NotANumber(), "m", "1", "run", 0.5, "yes", "no", scorer.model.features), scorer.validator
    )
    with pytest.raises(ValueError, match="not finite"):
        broken.score(scorer.validator.from_record(scorer.validator.example_record()))
