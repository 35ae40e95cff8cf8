"""Tables -> CSV and Parquet files, byte-identical for the same rows.

CSV is written by Arrow's C++ writer: UTF-8, a header row, "\\n" line ends, text
always quoted (so that an empty text and a missing value differ), missing values
empty, lists joined by the field's delimiter, datetimes as ISO 8601 in UTC.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..schema import LIST_DELIMITER

DATA_DIR = "data"


def csv_columns(table: pa.Table) -> pa.Table:
    """The table with lists and datetimes turned into their CSV text."""
    columns = []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_list(field.type):
            column = pc.binary_join(column, LIST_DELIMITER)
        elif pa.types.is_timestamp(field.type):
            column = pc.strftime(column.cast(pa.timestamp("s", tz="UTC")), "%Y-%m-%dT%H:%M:%SZ")
        columns.append(column)
    return pa.table(columns, names=table.schema.names)


def write_csv(table: pa.Table, path: Path) -> None:
    pacsv.write_csv(csv_columns(table), path, pacsv.WriteOptions(quoting_style="needed"))


def write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd")


def write_tables(tables: dict[str, pa.Table], out: Path) -> dict[str, dict[str, Path]]:
    """Write each table as data/<name>.csv and data/<name>.parquet; return the paths by format."""
    data = out / DATA_DIR
    data.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, table in tables.items():
        csv_path, parquet_path = data / f"{name}.csv", data / f"{name}.parquet"
        write_csv(table, csv_path)
        write_parquet(table, parquet_path)
        paths[name] = {"csv": csv_path, "parquet": parquet_path}
    return paths
