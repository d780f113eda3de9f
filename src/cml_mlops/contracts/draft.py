"""Draft a contract module from a data sample: types, categories, ranges and the target, in the template's shape.

The draft is a starting point: every rule only describes the sample, so the user reviews it before relying on it.
"""

from __future__ import annotations

import builtins
import json
import keyword
import math
import re
import sys
import textwrap
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pandera.pandas as pa

from cml_mlops.config import FeaturesSection
from cml_mlops.contracts.csv_reader import read_raw_csv
from cml_mlops.contracts.dataset_rules import max_duplicate_share_for, min_rows_for, positive_rate_band_for
from cml_mlops.contracts.python_format import ruff_format
from cml_mlops.contracts.runner import validate_frame
from cml_mlops.contracts.value_patterns import calendar, sentinels, without_sentinels
from cml_mlops.errors import ContractViolation, DataFormatError
from cml_mlops.leakage import find_suspects
from cml_mlops.reports.files import write_text_atomic

DRAFT_VERSION = "1.0.0"  # the first reviewed contract is 1.0.0; every change of a rule bumps it
LINE_LENGTH = 110
INDENT = "    "
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INT64 = np.iinfo(np.int64)
# Module-level names of a drafted contract: a class attribute with one of these names would shadow it
# inside the class body (and in annotations, which pandera evaluates with the class namespace).
_MODULE_NAMES = {
    "annotations", "pd", "pa", "Series", "CONTRACT_VERSION", "TARGET", "POSITIVE_LABEL", "LABELS",
    "MIN_ROWS", "POSITIVE_RATE_BAND", "MAX_DUPLICATE_SHARE", "LEAKAGE", "dataset_rules",
}  # fmt: skip
_RESERVED = (
    set(keyword.kwlist) | set(keyword.softkwlist) | set(dir(builtins)) | set(dir(pa.DataFrameModel)) | _MODULE_NAMES
)


@dataclass(frozen=True)
class ColumnRule:
    """What the sample says about one column, and the Python attribute that will describe it."""

    name: str
    attribute: str
    kind: str  # "int", "float", "category", "text" or "target"
    nullable: bool
    low: float | int | None = None
    high: float | int | None = None
    categories: tuple[str, ...] = ()
    constant: str | None = None
    distinct: int = 0
    notes: tuple[str, ...] = ()  # review comments written above the field (sentinels, completed calendars)


def draft_contract(
    frame: pd.DataFrame,
    *,
    target: str,
    positive_label: str,
    class_name: str = "RawRecord",
    max_categories: int = 50,
    source: str = "a data sample",
) -> str:
    """Source of a contract module (RawRecord + RawDataset) that accepts `frame`, drafted from its text values.

    `frame` holds the columns as read by `read_raw_csv` (text, missing values as NaN); typed frames work too.
    """
    if not class_name.isidentifier() or keyword.iskeyword(class_name):
        raise ValueError(f"class_name {class_name!r} is not a Python identifier")
    labels = _check_target(frame, target, positive_label)
    rules = _column_rules(frame, target, labels, max_categories)
    typed = _typed(frame, rules)
    positive_rate = float((frame[target].astype(str) == positive_label).mean())
    duplicate_share = float(typed.duplicated().mean()) if len(typed) else 0.0
    source = _render(
        rules,
        class_name=class_name,
        target=target,
        positive_label=positive_label,
        labels=labels,
        rows=len(frame),
        positive_rate=positive_rate,
        duplicate_share=duplicate_share,
        source=source,
    )
    return source + _leakage_block(typed, target, positive_label)


def _leakage_block(typed: pd.DataFrame, target: str, positive_label: str) -> str:
    """`LEAKAGE`, proposed by the leakage screen train and the gate apply (columns above the default ceiling)."""
    ceiling = FeaturesSection().leakage_ceiling
    columns = [name for name in typed.columns if name != target]
    suspects = find_suspects(typed, columns, target=target, positive_label=positive_label, ceiling=ceiling)
    lines = [
        "",
        "",
        f"# Columns that predict the target alone in the sample (univariate ROC AUC above {ceiling}): known only",
        "# after the outcome? Keep them here (never model inputs); a legitimately strong one goes under",
        "# features.acknowledged_strong in cml-mlops.yaml instead. Train refuses an undeclared one.",
    ]
    if not suspects:
        return "\n".join([*lines, "LEAKAGE: tuple[str, ...] = ()"]) + "\n"
    items = [f"{INDENT}{_literal(s.column)},  # univariate ROC AUC {s.roc_auc:.3f}" for s in suspects]
    return "\n".join([*lines, "LEAKAGE: tuple[str, ...] = (", *items, ")"]) + "\n"


def draft_from_csv(
    path: Path,
    *,
    separator: str,
    target: str,
    positive_label: str,
    output: Path | None = None,
    encoding: str = "utf-8",
    max_categories: int = 50,
) -> str:
    """Draft from a CSV, check that the draft accepts that CSV, and write it to `output` when given."""
    path = Path(path)
    frame = read_raw_csv(path, separator=separator, encoding=encoding)
    source = draft_contract(
        frame, target=target, positive_label=positive_label, max_categories=max_categories, source=path.name
    )
    source, _ = ruff_format(source, output if output is not None else Path.cwd() / "contracts.py")
    with loaded_contract(source) as module:
        # A draft that rejects its own sample is a bug here, not a data problem: never write it.
        report = validate_frame(frame, module.RawDataset)
    if not report.passed:
        raise ContractViolation(f"internal error, the draft rejects its own sample: {report.failures}", report)
    if output is not None:
        output = Path(output)
        output.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(output, source)
    return source


@contextmanager
def loaded_contract(source: str) -> Iterator[ModuleType]:
    """Execute contract source as a throw-away module (pandera resolves annotations through sys.modules)."""
    name = f"_cml_mlops_drafted_contract_{uuid.uuid4().hex}"
    module = ModuleType(name)
    sys.modules[name] = module
    try:
        exec(compile(source, f"<drafted contract {name}>", "exec"), module.__dict__)  # noqa: S102 - our own output
        yield module
    finally:
        sys.modules.pop(name, None)


def _check_target(frame: pd.DataFrame, target: str, positive_label: str) -> tuple[str, str]:
    """The two labels (sorted), after checking the target is there, complete and binary."""
    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns[:30]))
        raise DataFormatError(f"target column {target!r} is not in the data; its columns are: {columns}")
    values = frame[target]
    missing = int(values.isna().sum())
    if missing:
        raise DataFormatError(
            f"target column {target!r} is empty on {missing} rows: every row needs a label; "
            "drop those rows from the sample"
        )
    distinct = sorted(set(values.astype(str)))
    if len(distinct) != 2:
        shown = ", ".join(repr(value) for value in distinct[:10]) + (", ..." if len(distinct) > 10 else "")
        raise DataFormatError(
            f"target column {target!r} must hold exactly two values for binary classification; "
            f"it holds {len(distinct)}: {shown}"
        )
    if positive_label not in distinct:
        raise DataFormatError(
            f"positive label {positive_label!r} is not a value of target column {target!r} "
            f"(its values: {distinct[0]!r}, {distinct[1]!r})"
        )
    return distinct[0], distinct[1]


def _column_rules(frame: pd.DataFrame, target: str, labels: tuple[str, str], max_categories: int) -> list[ColumnRule]:
    names = [str(column) for column in frame.columns]
    attributes = _attribute_names(names, target)
    constants: set[str] = set(attributes.values())
    rules = []
    for column, name in zip(frame.columns, names, strict=True):
        values = frame[column]
        present = values.dropna().astype(str)
        attribute, nullable = attributes[name], bool(values.isna().any())
        if name == target:
            rules.append(ColumnRule(name, attribute, "target", False, categories=labels, constant="LABELS"))
        elif len(present) and present.str.fullmatch(_INT.pattern).all() and _fits_int64(present):
            rules.append(_numeric_rule(name, attribute, "int", nullable, present))
        elif len(present) and present.str.fullmatch(_FLOAT.pattern).all() and _finite(present):
            rules.append(_numeric_rule(name, attribute, "float", nullable, present))
        else:
            distinct = sorted(set(present))
            if distinct and len(distinct) <= max_categories:
                constant = _unique(f"{attribute.upper()}_VALUES", constants)
                rules.append(_category_rule(name, attribute, nullable, distinct, constant))
            else:
                rules.append(ColumnRule(name, attribute, "text", nullable, distinct=len(distinct)))
    return rules


def _numeric_rule(name: str, attribute: str, kind: str, nullable: bool, present: pd.Series) -> ColumnRule:
    """A range that follows the data apart from sentinel codes, which it admits exactly and names in a comment."""
    found = sentinels(present)
    values = without_sentinels(present.astype(float), found)
    low, high = float(values.min()), float(values.max())
    if kind == "int":
        int_bounds = _int_bounds(int(low), int(high))
        # a column whose minimum is 1 (a count of contacts, a day of the month) gets no bound below 1
        bounds: tuple[float | int, float | int] = (1 if low == 1 else int_bounds[0], int_bounds[1])
    else:
        bounds = _float_bounds(low, high)
    for sentinel in found:
        code = int(sentinel.value) if kind == "int" else sentinel.value
        bounds = (min(bounds[0], code), max(bounds[1], code))
    notes = tuple(
        f"sentinel? {sentinel.describe()}: a code for missing / not applicable; the range admits it"
        for sentinel in found
    )
    return ColumnRule(name, attribute, kind, nullable, bounds[0], bounds[1], notes=notes)


def _category_rule(name: str, attribute: str, nullable: bool, distinct: list[str], constant: str) -> ColumnRule:
    """The values seen, or every member of the calendar set they belong to (in calendar order)."""
    found = calendar(distinct)
    if found is None:
        return ColumnRule(name, attribute, "category", nullable, categories=tuple(distinct), constant=constant)
    return ColumnRule(
        name, attribute, "category", nullable, categories=found.members, constant=constant, notes=(found.describe(),)
    )


def _attribute_names(names: list[str], target: str) -> dict[str, str]:
    """A safe, unique attribute per column; the target is `target` (aliased to TARGET), as in the template."""
    if len(set(names)) != len(names):
        raise DataFormatError(f"column names repeat: {sorted({n for n in names if names.count(n) > 1})}")
    used = set(_RESERVED) | {"target"}
    chosen = {target: "target"}
    for name in names:
        if name == target:
            continue
        attribute = re.sub(r"\W+", "_", name.strip()).strip("_")
        # Python reads identifiers NFKC-normalised: a name that changes would no longer match its column.
        if not attribute.isidentifier() or unicodedata.normalize("NFKC", attribute) != attribute:
            attribute = re.sub(r"\W+", "_", name.strip(), flags=re.ASCII).strip("_")
        attribute = attribute or "column"
        if attribute[0].isdigit():
            attribute = f"col_{attribute}"
        if attribute in _RESERVED or attribute == "target":
            attribute += "_"
        chosen[name] = _unique(attribute, used)
    return chosen


def _unique(candidate: str, used: set[str]) -> str:
    name, suffix = candidate, 2
    while name in used:
        name, suffix = f"{candidate}_{suffix}", suffix + 1
    used.add(name)
    return name


def _fits_int64(values: pd.Series) -> bool:
    return all(_INT64.min <= int(value) <= _INT64.max for value in values)


def _finite(values: pd.Series) -> bool:
    return bool(np.isfinite(values.astype(float)).all())


def _int_bounds(low: int, high: int) -> tuple[int, int]:
    """Widen by 10% of the span (at least 1), round outwards to a round step; non-negative data stays >= 0."""
    span = high - low
    margin = max(1, math.ceil(span / 10)) if span else max(1, math.ceil(abs(low) / 10))
    step = 10 ** max(0, len(str(span or abs(low) or 1)) - 2)
    lower = (low - margin) // step * step
    upper = -(-(high + margin) // step) * step
    if low >= 0:
        lower = max(lower, 0)
    return max(lower, int(_INT64.min)), min(upper, int(_INT64.max))


def _float_bounds(low: float, high: float) -> tuple[float, float]:
    """Widen by 10% of the span, rounded outwards to two significant digits of the span where that is exact."""
    largest = sys.float_info.max  # the bounds must stay finite: repr(inf) is not a Python literal
    span = high - low
    reference = span if 0 < span < math.inf else (abs(low) or 1.0)
    margin = reference / 10
    lower, upper = max(low - margin, -largest), min(high + margin, largest)
    exponent = math.floor(math.log10(reference)) - 1
    step = 10.0**exponent
    if step > 0 and math.isfinite(lower / step) and math.isfinite(upper / step):
        digits = max(0, -exponent)
        rounded_lower = round(math.floor(lower / step) * step, digits)
        rounded_upper = round(math.ceil(upper / step) * step, digits)
        # Rounding can overshoot the float range or land inside the data: keep the plain margin there.
        if -largest <= rounded_lower <= low:
            lower = rounded_lower
        if high <= rounded_upper <= largest:
            upper = rounded_upper
    if low >= 0:
        lower = max(lower, 0.0)
    return lower + 0.0, upper + 0.0  # + 0.0 turns -0.0 into 0.0


def _typed(frame: pd.DataFrame, rules: list[ColumnRule]) -> pd.DataFrame:
    """The frame with the drafted types, as the contract's coercion will give it (for the duplicate share)."""
    typed: dict[str, pd.Series] = {}
    for column, rule in zip(frame.columns, rules, strict=True):
        values = frame[column]
        if rule.kind in ("int", "float"):
            typed[rule.name] = pd.to_numeric(values.astype(object).mask(values.isna()))
        else:
            typed[rule.name] = values.where(values.isna(), values.astype(str))
    return pd.DataFrame(typed, index=frame.index)


def _render(
    rules: list[ColumnRule],
    *,
    class_name: str,
    target: str,
    positive_label: str,
    labels: tuple[str, str],
    rows: int,
    positive_rate: float,
    duplicate_share: float,
    source: str,
) -> str:
    dataset_class = class_name.removesuffix("Record") + "Dataset" if class_name != "Record" else "Dataset"
    band = positive_rate_band_for(positive_rate)
    max_duplicates = max_duplicate_share_for(duplicate_share)
    summary = (
        f"`{class_name}` holds the row-level rules (types, nulls, categories, ranges): the lake takes its column "
        "types from it, training and serving validate inputs with it, and hypothesis generates test frames from "
        f"it. `{dataset_class}` adds the rules that only make sense for a whole data set (size, class balance, "
        "duplicates)."
    )
    review = (
        "Every rule below only describes the sample: review them (units, valid ranges, the categories the data's "
        "documentation lists) and bump CONTRACT_VERSION when you change one. A unit, given as "
        'pa.Field(..., metadata={"unit": "days"}), labels the EDA report\'s axes.'
    )
    lines = [
        f'"""Data contract drafted by `cml-mlops contract draft` from {_docstring_safe(source)} ({rows:,} rows).',
        "",
        *textwrap.wrap(summary, LINE_LENGTH),
        "",
        *textwrap.wrap(review, LINE_LENGTH),
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import pandas as pd",
        "import pandera.pandas as pa",
        "from cml_mlops.contracts import dataset_rules",  # third-party in the generated project
        "from pandera.typing import Series",
        "",
        f"CONTRACT_VERSION = {_literal(DRAFT_VERSION)}",
        f"TARGET = {_literal(target)}",
        f"POSITIVE_LABEL = {_literal(positive_label)}",
        "",
        "# Categories seen in the sample.",
    ]
    for rule in rules:
        if rule.kind == "category" and rule.constant:
            lines += [f"# {note}" for note in rule.notes]
            lines += _assignment(rule.constant, list(rule.categories))
    lines += _assignment("LABELS", list(labels))
    lines += [
        "",
        f"# Data-set rules, from the sample: {rows:,} rows, {positive_rate:.1%} positives, "
        f"{duplicate_share:.1%} duplicate rows.",
        f"MIN_ROWS = {_number(min_rows_for(rows))}",
        f"POSITIVE_RATE_BAND = ({band[0]!r}, {band[1]!r})",
        f"MAX_DUPLICATE_SHARE = {max_duplicates!r}",
        "",
        "",
        f"class {class_name}(pa.DataFrameModel):",
        f'{INDENT}"""One row of the raw data, as delivered in the CSV."""',
        "",
    ]
    for rule in rules:
        lines += _field(rule)
    lines += [
        "",
        f"{INDENT}class Config:",
        f"{INDENT * 2}strict = True  # an extra column is an error, not silently carried along",
        f"{INDENT * 2}coerce = True  # the raw CSV is read as text; the contract gives the types",
        "",
        "",
        *_dataset_class(dataset_class, class_name),
    ]
    return "\n".join(lines) + "\n"


def _dataset_class(dataset_class: str, class_name: str) -> list[str]:
    return f'''class {dataset_class}({class_name}):
    """A whole raw data set: the row rules plus the library's size, class balance and duplicate rules."""

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
        return dataset_rules.few_duplicates(frame, MAX_DUPLICATE_SHARE)'''.split("\n")


def _field(rule: ColumnRule) -> list[str]:
    arguments: list[str] = []
    comment: list[str] = [f"{INDENT}# {note}" for note in rule.notes if rule.kind != "category"]
    if rule.kind == "target":
        annotation, arguments = "str", ["isin=LABELS", "alias=TARGET"]
    elif rule.kind in ("int", "float"):
        annotation = "pd.Int64Dtype" if rule.kind == "int" and rule.nullable else rule.kind
        bounds = f'{{"min_value": {_number(rule.low)}, "max_value": {_number(rule.high)}}}'
        arguments.append(f"in_range={bounds}")
    else:
        annotation = "str"
        if rule.kind == "category":
            arguments.append(f"isin={rule.constant}")
        else:
            comment += [f"{INDENT}# free text: {rule.distinct:,} distinct values in the sample"]
    if rule.kind != "target":
        if rule.nullable:
            arguments.append("nullable=True")
        if rule.attribute != rule.name:
            arguments.append(f"alias={_literal(rule.name)}")
    head = f"{INDENT}{rule.attribute}: Series[{annotation}] = pa.Field("
    return comment + _call_lines(head, arguments, ")")


def _assignment(name: str, values: list[str]) -> list[str]:
    return _call_lines(f"{name} = [", [_literal(value) for value in values], "]", indent="")


def _call_lines(head: str, items: list[str], closing: str, indent: str = INDENT) -> list[str]:
    """One line if it fits; else the items on one indented line; else one item per line (as ruff formats)."""
    single = f"{head}{', '.join(items)}{closing}"
    if len(single) <= LINE_LENGTH:
        return [single]
    inner = indent + INDENT
    joined = f"{inner}{', '.join(items)}"
    if len(joined) <= LINE_LENGTH:
        return [head, joined, f"{indent}{closing}"]
    return [head, *(f"{inner}{item}," for item in items), f"{indent}{closing}"]


def _number(value: float | int | None) -> str:
    if isinstance(value, float):
        return repr(value)
    if value is None:
        raise ValueError("a numeric rule needs both bounds")
    return f"{value:_}" if abs(value) >= 10_000 else str(value)


def _literal(text: str) -> str:
    """A Python string literal with the quotes ruff format keeps (double, unless that needs more escapes)."""
    if '"' in text and "'" not in text:
        return repr(text)
    return json.dumps(text, ensure_ascii=False)


def _docstring_safe(text: str) -> str:
    return re.sub(r"[^\w .,:/+()-]", "_", text)[:80]
