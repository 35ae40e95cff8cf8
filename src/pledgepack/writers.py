"""Tables -> CSV and Parquet files, byte-identical for the same rows."""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .chapter import LIST_DELIMITER

DATA_DIR = "data"


def _formatter(kind: pa.DataType):
    if pa.types.is_list(kind):
        return lambda v: "" if v is None else LIST_DELIMITER.join(v)
    if pa.types.is_boolean(kind):
        return lambda v: "" if v is None else ("true" if v else "false")
    if pa.types.is_timestamp(kind):
        return lambda v: "" if v is None else v.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if pa.types.is_date(kind):
        return lambda v: "" if v is None else v.isoformat()
    if pa.types.is_string(kind):
        return lambda v: "" if v is None else v
    return lambda v: "" if v is None else str(v)


def write_csv(table: pa.Table, path: Path) -> None:
    columns = []
    for field, column in zip(table.schema, table.columns):
        fmt = _formatter(field.type)
        columns.append([fmt(v) for v in column.to_pylist()])
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(table.schema.names)
        writer.writerows(zip(*columns))


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
