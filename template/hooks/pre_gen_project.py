"""Reject template inputs that would generate broken code, broken YAML/TOML or shell injection in workflows.

Cookiecutter runs this file on its own (hooks cannot import sibling modules), so it is self-contained and uses
the standard library only. Cookiecutter renders the JSON of the inputs below before running it.
"""

from __future__ import annotations

import json
import keyword
import re
import sys

# Rendered as JSON inside a raw string: JSON escapes every quote, so no input can end the string early.
INPUTS = json.loads(r"""{{ cookiecutter | tojson }}""")

# Characters that break quoting in YAML/TOML/Python strings or open a shell expansion in workflow scripts.
UNSAFE_TEXT = re.compile(r"[\"'`$\\{}<>|;&\x00-\x1f\x7f]")
LOWER_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
CRON_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    (
        "month",
        1,
        12,
        {
            m: i + 1
            for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
        },
    ),
    ("day of week", 0, 7, {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}),
)
# Modules a generated package must not shadow.
RESERVED_PACKAGES = set(getattr(sys, "stdlib_module_names", ())) | {
    "cml_mlops", "pandas", "pandera", "numpy", "sklearn", "mlflow", "pyiceberg", "pyarrow", "tests", "test",
}  # fmt: skip


def check_text(name: str, value: str, *, allow_empty: bool = False, max_length: int = 200) -> list[str]:
    if not value:
        return [] if allow_empty else [f"{name} must not be empty"]
    problems = []
    if len(value) > max_length:
        problems.append(f"{name} is longer than {max_length} characters")
    if UNSAFE_TEXT.search(value):
        problems.append(
            f"{name} {value!r} contains quotes, backslashes, braces, shell characters or control characters"
        )
    if value != value.strip():
        problems.append(f"{name} {value!r} has leading or trailing spaces")
    return problems


def check_pattern(name: str, value: str, pattern: str, explanation: str, *, allow_empty: bool = False) -> list[str]:
    if allow_empty and not value:
        return []
    if not re.fullmatch(pattern, value):
        return [f"{name} {value!r} is invalid: {explanation}"]
    return []


def check_package(value: str) -> list[str]:
    if not value.isidentifier() or not LOWER_IDENTIFIER.match(value):
        return [f"package_name {value!r} is not a lowercase Python identifier (letters, digits, underscores)"]
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        return [f"package_name {value!r} is a Python keyword"]
    if value in RESERVED_PACKAGES:
        return [f"package_name {value!r} would shadow the module of the same name"]
    return []


def check_cron_field(label: str, text: str, low: int, high: int, names: dict[str, int]) -> list[str]:
    def value_of(token: str) -> int:
        lowered = token.lower()
        if lowered in names:
            return names[lowered]
        if not token.isdigit():
            raise ValueError(token)
        return int(token)

    problems = []
    for part in text.split(","):
        body, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            problems.append(f"{label}: step {step!r} is not a positive number")
            continue
        if body == "*":
            continue
        start, _, end = body.partition("-")
        try:
            bounds = [value_of(start)] + ([value_of(end)] if end else [])
        except ValueError as exc:
            problems.append(f"{label}: {exc.args[0]!r} is not a number or name")
            continue
        if any(not low <= bound <= high for bound in bounds):
            problems.append(f"{label}: {body!r} is outside {low}-{high}")
        elif len(bounds) == 2 and bounds[0] > bounds[1]:
            problems.append(f"{label}: range {body!r} runs backwards")
    return problems


def minutes_of(text: str) -> set[int]:
    """The minutes a valid minute field fires at."""
    minutes: set[int] = set()
    for part in text.split(","):
        body, _, step = part.partition("/")
        start, _, end = body.partition("-")
        first, last = (0, 59) if body == "*" else (int(start), int(end or (59 if step else start)))
        minutes.update(range(first, last + 1, int(step or 1)))
    return minutes


def check_cron(value: str) -> list[str]:
    fields = value.split()
    if len(fields) != 5 or value != " ".join(fields):
        return [f"monitoring_cron {value!r} must have five fields separated by single spaces (min hour dom mon dow)"]
    problems = []
    for text, (label, low, high, names) in zip(fields, CRON_FIELDS, strict=True):
        problems += [f"monitoring_cron {value!r}: {p}" for p in check_cron_field(label, text, low, high, names)]
    if not problems:
        # GitHub Actions runs schedules at most every 5 minutes and rejects workflows that ask for more.
        minutes = sorted(minutes_of(fields[0]))
        gaps = [b - a for a, b in zip(minutes, [*minutes[1:], minutes[0] + 60], strict=True)]
        if min(gaps) < 5:
            problems.append(f"monitoring_cron {value!r}: runs more often than every 5 minutes (GitHub's shortest)")
    return problems


def check_number(name: str, value: str, low: float, high: float) -> list[str]:
    try:
        number = float(value)
    except ValueError:
        return [f"{name} {value!r} is not a number"]
    if not low <= number <= high:
        return [f"{name} {value} is outside the range {low}-{high}"]
    return []


def validate(values: dict[str, str]) -> list[str]:
    """Every problem with the inputs, each a sentence naming the prompt."""
    v = values
    problems = check_text("project_name", v["project_name"], max_length=80)
    problems += check_pattern("project_name", v["project_name"], r"[A-Za-z][A-Za-z0-9 _-]*", "start with a letter")
    problems += check_package(v["package_name"])
    problems += check_pattern(
        "project name slug", v["__project_slug"], r"[a-z][a-z0-9-]*", "lowercase letters, digits and hyphens"
    )
    problems += check_pattern("dataset_preset", v["dataset_preset"], r"bank-marketing|custom", "a listed choice")
    if v["dataset_preset"] == "custom" and not (v["dataset_url"] and v["dataset_member"]):
        problems.append("dataset_url and dataset_member: the custom preset has no default data set; give both")
    problems += check_text("dataset_url", v["dataset_url"], max_length=500)
    problems += check_pattern(
        "dataset_url",
        v["dataset_url"],
        r"(https?://|file://|/|\./)?[^\s]+",
        "an http(s) or file:// URL, or a path",
    )
    problems += check_text("dataset_member", v["dataset_member"])
    problems += check_pattern(
        "dataset_member",
        v["dataset_member"],
        r"([A-Za-z0-9_][A-Za-z0-9_.-]*/)*[A-Za-z0-9_][A-Za-z0-9_.-]*\.(csv|txt)",
        "a .csv file name, or its path inside the zip (folder/file.csv)",
    )
    problems += check_pattern(
        "dataset_sha256", v["dataset_sha256"], r"[0-9a-f]{64}|none|-", "64 hex digits, or none", allow_empty=True
    )
    if len(v["csv_separator"]) != 1 or v["csv_separator"] not in ",;|\t:":
        problems.append(f"csv_separator {v['csv_separator']!r} must be one of , ; | : or a tab")
    problems += check_pattern(
        "target_column", v["target_column"], r"[A-Za-z_][A-Za-z0-9_. -]{0,63}", "a plain column name"
    )
    problems += check_text("positive_label", v["positive_label"], max_length=64)
    if v["dataset_preset"] == "bank-marketing" and v["positive_label"] not in ("yes", "no"):
        problems.append(f"positive_label {v['positive_label']!r}: the bank-marketing target takes 'yes' or 'no'")
    for name in ("lake_namespace", "lake_table"):
        problems += check_pattern(
            name,
            v[name],
            r"[a-z_][a-z0-9_]{0,62}",
            "lowercase letters, digits, underscores (an Iceberg identifier)",
        )
    problems += check_pattern(
        "mlflow_experiment",
        v["mlflow_experiment"],
        r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}",
        "letters, digits, ' _.-'",
    )
    problems += check_pattern(
        "mlflow_model_name",
        v["mlflow_model_name"],
        r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}",
        "letters, digits, '_.-'",
    )
    problems += check_pattern(
        "cml_workspace_url",
        v["cml_workspace_url"],
        r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?",
        "an https:// URL of the workspace",
        allow_empty=True,
    )
    problems += check_pattern(
        "cml_project_id",
        v["cml_project_id"],
        r"[a-z0-9]{4}(-[a-z0-9]{4}){3}",
        "like abcd-1234-efgh-5678",
        allow_empty=True,
    )
    problems += check_pattern(
        "cml_runtime_identifier",
        v["cml_runtime_identifier"],
        r"[A-Za-z0-9][A-Za-z0-9./:_@-]*",
        "an image identifier",
    )
    problems += check_cron(v["monitoring_cron"])
    problems += check_number("min_test_roc_auc", v["min_test_roc_auc"], 0.5, 1.0)
    problems += check_number("non_inferiority_margin", v["non_inferiority_margin"], 0.0, 0.2)
    # A requirement needs < > = but its strict pattern below leaves no room for quotes, spaces or shell syntax.
    problems += check_pattern(
        "cml_mlops_requirement",
        v["cml_mlops_requirement"],
        r"cml-mlops( *(@ *[A-Za-z0-9+.:/_@%~=-]+|[<>=!~]=?[0-9][A-Za-z0-9.*,<>=!~]*))?",
        "'cml-mlops', a version specifier, or 'cml-mlops @ <url>'",
    )
    return problems


def main() -> int:
    problems = validate(INPUTS)
    if problems:
        print("The template inputs have problems; nothing was generated:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
