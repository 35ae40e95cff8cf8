"""Read a package's CSV back with the schema's Arrow types, and compare it with its Parquet."""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..package.compute import split_pattern
from ..schema import LIST_DELIMITER, arrow_type


def read_csv_typed(path: Path, table_schema: dict) -> pa.Table:
    fields = table_schema["fields"]
    types = {f["name"]: pa.string() if f["type"] == "list" else arrow_type(f) for f in fields}
    table = pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=[""], strings_can_be_null=True,
            true_values=["true"], false_values=["false"], quoted_strings_can_be_null=True),
    )
    columns = []
    for f in fields:
        column = table.column(f["name"])
        if f["type"] == "list":
            column = split_pattern(column, LIST_DELIMITER)
        columns.append(column)
    return pa.table(columns, names=[f["name"] for f in fields])


def first_difference(csv_path: Path, parquet_path: Path, table_schema: dict) -> str | None:
    """None when both files hold the same rows in the same order, else what differs first."""
    try:
        left = read_csv_typed(csv_path, table_schema)
    except (pa.ArrowInvalid, KeyError) as exc:
        return f"the CSV cannot be read with the schema's types ({exc})"
    try:
        right = pq.ParquetFile(parquet_path).read()  # read_table would import pyarrow.dataset
    except (pa.ArrowInvalid, OSError) as exc:
        return f"the Parquet file cannot be read ({exc})"
    return _difference(left, right)


def csv_difference(csv_path: Path, table: pa.Table, table_schema: dict) -> str | None:
    """None when the CSV file holds the rows of `table` in the same order, else what differs
    first: first_difference against the rows a Parquet file was written from."""
    try:
        left = read_csv_typed(csv_path, table_schema)
    except (pa.ArrowInvalid, KeyError) as exc:
        return f"the CSV cannot be read with the schema's types ({exc})"
    return _difference(left, table)


def _difference(left: pa.Table, right: pa.Table) -> str | None:
    if left.column_names != right.column_names:
        return f"columns {left.column_names} against {right.column_names}"
    if left.num_rows != right.num_rows:
        return f"{left.num_rows} rows against {right.num_rows}"
    for name in left.column_names:
        a, b = left.column(name), right.column(name)
        if a.type != b.type:
            return f"column {name} is {a.type} in CSV, {b.type} in Parquet"
        if not a.equals(b):
            for row, (x, y) in enumerate(zip(a.to_pylist(), b.to_pylist()), 1):
                if x != y:
                    return f"row {row}, column {name}: {x!r} in CSV, {y!r} in Parquet"
    return None
