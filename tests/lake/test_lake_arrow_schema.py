"""The contract decides the lake's column names, order, types and nullability."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pytest
from pandera.typing import Series

from cml_mlops.lake import arrow_schema
from tests.lake.contract import Customers


def test_contract_columns_become_typed_fields_in_contract_order() -> None:
    assert arrow_schema(Customers) == pyarrow.schema(
        [
            pyarrow.field("age", pyarrow.int64(), nullable=False),
            pyarrow.field("balance", pyarrow.float64(), nullable=False),
            pyarrow.field("job", pyarrow.string(), nullable=False),
            pyarrow.field("contact", pyarrow.string(), nullable=True),
            pyarrow.field("default", pyarrow.bool_(), nullable=False),
        ]
    )


class Wide(pa.DataFrameModel):
    small: Series[np.int8]
    medium: Series[np.int32]
    unsigned: Series[np.uint16]
    maybe: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    ratio: Series[np.float32]
    flag: Series[pd.BooleanDtype] = pa.Field(nullable=True)
    anything: Series[object]
    text: Series[pd.StringDtype]
    kind: Series[pd.CategoricalDtype]
    seen: Series[pd.Timestamp]
    seen_utc: Series[Annotated[pd.DatetimeTZDtype, "ns", "Europe/Paris"]]
    day: Series[datetime.date]
    renamed: Series[int] = pa.Field(alias="Renamed Column")


def test_every_supported_dtype_maps_to_an_exact_lake_type() -> None:
    schema = arrow_schema(Wide)
    assert [(f.name, str(f.type), f.nullable) for f in schema] == [
        ("small", "int64", False),
        ("medium", "int64", False),
        ("unsigned", "int64", False),
        ("maybe", "int64", True),
        ("ratio", "double", False),
        ("flag", "bool", True),
        ("anything", "string", False),
        ("text", "string", False),
        ("kind", "string", False),
        ("seen", "timestamp[us]", False),
        ("seen_utc", "timestamp[us, tz=UTC]", False),
        ("day", "date32[day]", False),
        ("Renamed Column", "int64", False),
    ]


@pytest.mark.parametrize("dtype", ["timedelta64[ns]", "complex128", "uint64"])
def test_unsupported_dtype_is_a_type_error_naming_the_column(dtype: str) -> None:
    # Built with type(): this module's annotations are strings, and the dtype is a parameter.
    annotations: dict[str, Any] = {"fine": Series[int], "strange": Series[dtype]}  # type: ignore[valid-type]
    odd = type("Odd", (pa.DataFrameModel,), {"__annotations__": annotations})

    with pytest.raises(TypeError, match="'strange'"):
        arrow_schema(odd)
