"""Data contracts of {{ cookiecutter.project_name }}: what a valid raw row and a valid raw data set are.

`RawRecord` holds the row-level rules (types, nulls, categories, ranges): the lake takes its column types from it,
training and serving validate inputs with it, and hypothesis generates test frames from it. `RawDataset` adds the
rules that only make sense for a whole data set (size, class balance, duplicates).
{%- if cookiecutter.dataset_preset == "custom" %}

This is a starting point that only knows the target. Draft the full contract from a sample of your data:
    cml-mlops contract draft data/raw/{{ cookiecutter.dataset_member }} --output src/{{ cookiecutter.package_name }}/contracts.py --force
then review every rule it wrote.
{%- endif %}
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from cml_mlops.contracts import dataset_rules
from pandera.typing import Series

CONTRACT_VERSION = "1.0.0"
TARGET = "{{ cookiecutter.target_column }}"
POSITIVE_LABEL = "{{ cookiecutter.positive_label }}"
{%- if cookiecutter.dataset_preset == "bank-marketing" %}

# Categories as documented with the data set; "unknown" stands for a missing value.
JOBS = [
    "admin.", "blue-collar", "entrepreneur", "housemaid", "management", "retired",
    "self-employed", "services", "student", "technician", "unemployed", "unknown",
]  # fmt: skip
MARITAL = ["divorced", "married", "single"]
EDUCATION = ["primary", "secondary", "tertiary", "unknown"]
YES_NO = ["no", "yes"]
CONTACT = ["cellular", "telephone", "unknown"]
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
POUTCOME = ["failure", "other", "success", "unknown"]
LABELS = ["no", "yes"]

# Columns known only after the outcome: kept in the data, never model inputs (train refuses an undeclared column
# whose univariate ROC AUC exceeds features.leakage_ceiling). `duration` is the call's length: known once the call is
# over, when the outcome is known too (univariate ROC AUC 0.81 on bank-full).
LEAKAGE: tuple[str, ...] = ("duration",)

# Data-set rules: bank-full has 45,211 rows with ~11.7% positives (about 7% early on, 32% late).
MIN_ROWS = 1_000
POSITIVE_RATE_BAND = (0.02, 0.50)
MAX_DUPLICATE_SHARE = 0.01


class RawRecord(pa.DataFrameModel):
    """One client contacted in a campaign, as delivered in the raw CSV."""

    age: Series[int] = pa.Field(in_range={"min_value": 18, "max_value": 100}, metadata={"unit": "years"})
    job: Series[str] = pa.Field(isin=JOBS)
    marital: Series[str] = pa.Field(isin=MARITAL)
    education: Series[str] = pa.Field(isin=EDUCATION)
    default: Series[str] = pa.Field(isin=YES_NO)
    balance: Series[int] = pa.Field(
        in_range={"min_value": -1_000_000, "max_value": 10_000_000}, metadata={"unit": "EUR, yearly average"}
    )
    housing: Series[str] = pa.Field(isin=YES_NO)
    loan: Series[str] = pa.Field(isin=YES_NO)
    contact: Series[str] = pa.Field(isin=CONTACT)
    day: Series[int] = pa.Field(in_range={"min_value": 1, "max_value": 31}, metadata={"unit": "day of month"})
    month: Series[str] = pa.Field(isin=MONTHS)
    # Known only after the call ended: kept in the data, excluded from models (LEAKAGE).
    duration: Series[int] = pa.Field(in_range={"min_value": 0, "max_value": 100_000}, metadata={"unit": "seconds"})
    campaign: Series[int] = pa.Field(in_range={"min_value": 1, "max_value": 1_000}, metadata={"unit": "contacts"})
    pdays: Series[int] = pa.Field(
        in_range={"min_value": -1, "max_value": 10_000}, metadata={"unit": "days; -1: never contacted"}
    )
    previous: Series[int] = pa.Field(in_range={"min_value": 0, "max_value": 1_000}, metadata={"unit": "contacts"})
    poutcome: Series[str] = pa.Field(isin=POUTCOME)
    target: Series[str] = pa.Field(isin=LABELS, alias=TARGET)

    class Config:
        strict = True  # an extra column is an error, not silently carried along
        coerce = True  # the raw CSV is read as text; the contract gives the types
{%- else %}

# Columns known only after the outcome, never model inputs; `contract draft` proposes them.
LEAKAGE: tuple[str, ...] = ()
MIN_ROWS = 100
POSITIVE_RATE_BAND = (0.01, 0.99)
MAX_DUPLICATE_SHARE = 0.05


class RawRecord(pa.DataFrameModel):
    """One example of the raw data. Only the target is known until the contract is drafted."""

    target: Series[str] = pa.Field(nullable=False, alias=TARGET)

    class Config:
        strict = False  # until drafted, other columns pass unchecked
        coerce = True
{%- endif %}


class RawDataset(RawRecord):
    """A whole raw data set: the row rules plus size, class balance and duplicate rules (the library's)."""

    @pa.dataframe_check
    def enough_rows(cls, frame: pd.DataFrame) -> bool:
        """At least MIN_ROWS rows (a header-only file fails here)."""
        return dataset_rules.enough_rows(frame, MIN_ROWS)

    @pa.dataframe_check
    def positive_rate_in_band(cls, frame: pd.DataFrame) -> bool:
        """The share of positives lies in POSITIVE_RATE_BAND."""
        return dataset_rules.positive_rate_in_band(frame, TARGET, POSITIVE_LABEL, POSITIVE_RATE_BAND)

    @pa.dataframe_check
    def few_duplicates(cls, frame: pd.DataFrame) -> bool:
        """At most MAX_DUPLICATE_SHARE of the rows repeat an earlier row."""
        return dataset_rules.few_duplicates(frame, MAX_DUPLICATE_SHARE)
