"""Features of {{ cookiecutter.project_name }}: which contract columns feed the model, and derived features."""

from __future__ import annotations

import pandas as pd
from cml_mlops.features import FeatureSpec

from {{ cookiecutter.package_name }}.contracts import LEAKAGE, POSITIVE_LABEL, TARGET, RawRecord

__all__ = ["FEATURES", "LEAKAGE", "derive"]


def derive(frame: pd.DataFrame) -> pd.DataFrame:
    """Derived features: new columns computed from the raw input columns (one row per input row).

    They are computed inside the logged model (its first step), so serving, batch scoring and monitoring keep
    sending the raw columns. Return no column to derive nothing. A scikit-learn transformer works too: pass it
    as `derive=` below. See the README, "Add a feature".
    """
    # TODO: add your derived features, e.g. pd.DataFrame({"never_contacted": frame["pdays"] == -1})
    return pd.DataFrame(index=frame.index)


FEATURES = FeatureSpec.from_contract(
    RawRecord, target=TARGET, positive_label=POSITIVE_LABEL, leakage=LEAKAGE, derive=derive
)
