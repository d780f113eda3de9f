"""Feature definitions of {{ cookiecutter.project_name }}: which contract columns feed the model."""

from __future__ import annotations

from cml_mlops.features import FeatureSpec

from {{ cookiecutter.package_name }}.contracts import POSITIVE_LABEL, TARGET, RawRecord

{% if cookiecutter.dataset_preset == "bank-marketing" -%}
# `duration` is the length of the call: known only once the call is over, when the outcome is known too.
LEAKAGE = ("duration",)
{%- else -%}
# Columns only known after the outcome (they would leak the answer into training).
LEAKAGE: tuple[str, ...] = ()
{%- endif %}

FEATURES = FeatureSpec.from_contract(RawRecord, target=TARGET, positive_label=POSITIVE_LABEL, leakage=LEAKAGE)
