"""Tables -> CSV and Parquet files, byte-identical for the same rows.

CSV is written by Arrow's C++ writer: UTF-8, a header row, "\\n" line ends, text
always quoted (so that an empty text and a missing value differ), missing values
empty, lists joined by the field's delimiter, datetimes as ISO 8601 in UTC.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..schema import LIST_DELIMITER

DATA_DIR = "data"
WRITER_THREADS = 2


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
    """Write each table as data/<name>.csv and data/<name>.parquet; return the paths by format.

    Arrow's writers let go of the GIL, so the files are written side by side on threads; each
    file is written by one thread alone, so its bytes do not depend on the others."""
    data = out / DATA_DIR
    data.mkdir(parents=True, exist_ok=True)
    paths = {name: {"csv": data / f"{name}.csv", "parquet": data / f"{name}.parquet"}
             for name in tables}
    # The largest tables first, so that no large file is left to the end on its own.
    jobs = sorted(((writer, table, paths[name][kind]) for name, table in tables.items()
                   for kind, writer in (("csv", write_csv), ("parquet", write_parquet))),
                  key=lambda job: -job[1].nbytes)
    with ThreadPoolExecutor(max_workers=WRITER_THREADS) as threads:
        for done in [threads.submit(writer, table, path) for writer, table, path in jobs]:
            done.result()
    return paths
