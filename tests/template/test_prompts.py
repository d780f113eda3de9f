"""Every prompt of cookiecutter.json changes the output, and every bad input is refused by the hook."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException

from ci.lifecycle import CUSTOM_DATASET
from tests.conftest import bake
from tests.template.bakery import generated_files, rendered_defaults, template_variables

# Prompts whose default is empty: a valid value to switch to (the shape of the default says nothing).
EXAMPLES_FOR_EMPTY_DEFAULTS = {
    "cml_workspace_url": "https://ml-1234.example.cloudera.site",
    "cml_project_id": "abcd-1234-efgh-5678",
}


def alternative_value(name: str, default: object, rendered_default: object) -> str:
    """Another valid value for a prompt, derived from the shape of its (rendered) default."""
    if isinstance(default, list):
        return str(default[1])
    value = str(rendered_default)
    if not value:
        return EXAMPLES_FOR_EMPTY_DEFAULTS[name]
    if re.fullmatch(r"[0-9a-f]{64}", value):
        return "0" * 64
    if len(value.split()) == 5:
        return "30 5 * * 1"
    if re.fullmatch(r"0?\.[0-9]+", value):
        return f"{float(value) * 0.9 + 0.05:.3f}"
    if value.startswith("cml-mlops"):
        return "cml-mlops>=0.1"
    if value.startswith("https://"):
        return value.replace("https://", "https://mirror.example.org/")
    if value == "yes":
        return "no"
    if len(value) == 1 and not value.isalnum():
        return "," if value != "," else ";"
    if value.endswith(".csv"):
        return "other-" + value
    return value + "2" if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_./:@-]*", value) else value + " Two"


PROMPTS = sorted(template_variables())


@pytest.fixture(scope="module")
def default_output(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return generated_files(bake(tmp_path_factory.mktemp("default")))


@pytest.mark.parametrize("prompt", PROMPTS)
def test_every_prompt_changes_the_output(prompt: str, default_output: dict[str, str], tmp_path: Path) -> None:
    defaults = rendered_defaults()
    value = alternative_value(prompt, template_variables()[prompt], defaults[prompt])
    assert value != defaults[prompt]
    extra = CUSTOM_DATASET if value == "custom" else {}  # the custom preset has no default data set
    changed = generated_files(bake(tmp_path, **{**extra, prompt: value}))
    assert changed != default_output, f"prompt {prompt}={value!r} does not change the generated project"


BAD_INPUTS = [
    ("package_name", "my-package", "not a lowercase Python identifier"),
    ("package_name", "class", "keyword"),
    ("package_name", "json", "shadow"),
    ("package_name", "9lives", "identifier"),
    ("project_name", 'Evil"; rm -rf /', "quotes"),
    ("project_name", "$(curl evil)", "shell"),
    ("project_name", "line\nbreak", "control"),
    ("dataset_url", "https://x.org/a b.zip", "dataset_url"),
    ("dataset_member", "../../etc/passwd", "dataset_member"),
    ("dataset_member", "data.parquet", "dataset_member"),
    ("dataset_member", "tables/../../x.csv", "dataset_member"),
    ("dataset_sha256", "abc123", "64 hex"),
    ("csv_separator", ";;", "csv_separator"),
    ("csv_separator", '"', "csv_separator"),
    ("target_column", "y'); import os; os.system('x", "target_column"),
    ("positive_label", "maybe", "positive_label"),
    ("lake_namespace", "Bank-Data", "Iceberg identifier"),
    ("lake_table", "raw;drop table x", "Iceberg identifier"),
    ("lake_table", "", "Iceberg identifier"),
    ("mlflow_experiment", "exp$(id)", "mlflow_experiment"),
    ("mlflow_model_name", "model name", "mlflow_model_name"),
    ("cml_workspace_url", "http://insecure.example.com", "https://"),
    ("cml_workspace_url", "https://x.com/$(id)", "https://"),
    ("cml_project_id", "12; rm", "cml_project_id"),
    ("cml_runtime_identifier", "image name with spaces", "cml_runtime_identifier"),
    ("monitoring_cron", "0 6 * *", "five fields"),
    ("monitoring_cron", "61 6 * * *", "outside 0-59"),
    ("monitoring_cron", "0 6 * * 8", "outside 0-7"),
    ("monitoring_cron", "0 6 * foo *", "not a number"),
    ("monitoring_cron", "0 10-2 * * *", "backwards"),
    ("monitoring_cron", "*/0 * * * *", "step"),
    ("monitoring_cron", "* * * * *", "every 5 minutes"),
    ("monitoring_cron", "0,3 6 * * *", "every 5 minutes"),
    ("monitoring_cron", "*/4 * * * *", "every 5 minutes"),
    ("monitoring_cron", "0 6 * * *; curl x", "five fields"),
    ("min_test_roc_auc", "1.5", "outside the range"),
    ("min_test_roc_auc", "high", "not a number"),
    ("non_inferiority_margin", "-0.1", "outside the range"),
    ("cml_mlops_requirement", "requests", "cml_mlops_requirement"),
    ("cml_mlops_requirement", "cml-mlops @ https://x.org/a.whl; echo", "cml_mlops_requirement"),
]


def test_every_prompt_has_a_bad_input_case() -> None:
    covered = {prompt for prompt, _, _ in BAD_INPUTS} | {"dataset_preset"}  # a choice cannot be mistyped
    assert set(template_variables()) <= covered


@pytest.mark.parametrize(("prompt", "value", "message"), BAD_INPUTS, ids=[f"{p}={v!r}" for p, v, _ in BAD_INPUTS])
def test_bad_input_is_refused_with_a_clear_message(
    prompt: str, value: str, message: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(FailedHookException):
        bake(tmp_path, **{prompt: value})
    assert message in capfd.readouterr().err
    assert list(tmp_path.iterdir()) == [], "a refused bake must leave nothing behind"
