"""Read a package's CSV back with the schema's Arrow types, and compare it with its Parquet."""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..package.compute import split_pattern
from ..schema import LIST_DELIMITER, arrow_type


def read_csv_typed(path: Path | pa.Buffer, table_schema: dict) -> pa.Table:
    """The CSV file at `path` (or the CSV bytes in a buffer) with the schema's types."""
    fields = table_schema["fields"]
    types = {f["name"]: pa.string() if f["type"] == "list" else arrow_type(f) for f in fields}
    table = pacsv.read_csv(
        pa.BufferReader(path) if isinstance(path, pa.Buffer) else path,
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


def csv_difference(csv_path: Path, table: pa.Table, table_schema: dict,
                   part: tuple[int, int, int, int] | None = None) -> str | None:
    """None when the CSV file holds the rows of `table` in the same order, else what differs
    first: first_difference against the rows a Parquet file was written from.

    `part` (start, stop, first byte, end byte): only rows start to stop of `table` are
    compared, with the CSV rows in those bytes of the file (after its header line), which
    package/writers.py's write_csv cut there (check/proven.py says why the others need not
    be)."""
    try:
        if part is None:
            left = read_csv_typed(csv_path, table_schema)
        else:
            start, stop, begin, end = part
            table = table.slice(start, stop - start)
            with open(csv_path, "rb") as file:
                header = file.readline()
                file.seek(begin)
                rows = file.read(end - begin)
            left = read_csv_typed(pa.py_buffer(header + rows), table_schema)
    except (pa.ArrowInvalid, KeyError) as exc:
        return f"the CSV cannot be read with the schema's types ({exc})"
    return _difference(left, table, 0 if part is None else part[0])


def _difference(left: pa.Table, right: pa.Table, before: int = 0) -> str | None:
    """What differs first; rows are counted from 1, after the `before` rows left out."""
    if left.column_names != right.column_names:
        return f"columns {left.column_names} against {right.column_names}"
    if left.num_rows != right.num_rows:
        after = f" after row {before}" if before else ""
        return f"{left.num_rows} rows against {right.num_rows}{after}"
    for name in left.column_names:
        a, b = left.column(name), right.column(name)
        if a.type != b.type:
            return f"column {name} is {a.type} in CSV, {b.type} in Parquet"
        if not a.equals(b):
            for row, (x, y) in enumerate(zip(a.to_pylist(), b.to_pylist()), before + 1):
                if x != y:
                    return f"row {row}, column {name}: {x!r} in CSV, {y!r} in Parquet"
    return None
