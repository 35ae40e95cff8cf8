"""Tables -> CSV and Parquet files, byte-identical for the same rows.

CSV is written by Arrow's C++ writer: UTF-8, a header row, "\\n" line ends, text
always quoted (so that an empty text and a missing value differ), missing values
empty, lists joined by the field's delimiter, datetimes as ISO 8601 in UTC.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..schema import LIST_DELIMITER
from .compute import binary_join, cast, strftime
from .descriptor import DATA_DIR, file_facts

WRITER_THREADS = 2


def csv_columns(table: pa.Table) -> pa.Table:
    """The table with lists and datetimes turned into their CSV text."""
    columns = []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_list(field.type):
            column = binary_join(column, LIST_DELIMITER)
        elif pa.types.is_timestamp(field.type):
            column = strftime(cast(column, pa.timestamp("s", tz="UTC")), "%Y-%m-%dT%H:%M:%SZ")
        columns.append(column)
    return pa.table(columns, names=table.schema.names)


CSV_OPTIONS = dict(quoting_style="needed")


def write_csv(table: pa.Table, path: Path,
              cut: tuple[int, int] | None = None) -> tuple[int, int] | None:
    """The table as CSV at `path`. With `cut` (start, stop), the file is written in three
    pieces, rows before `start`, up to `stop` and the rest, with the same bytes as in one, and
    the offsets of the second piece's first byte and of its end are given back."""
    columns = csv_columns(table)
    if cut is None:
        pacsv.write_csv(columns, path, pacsv.WriteOptions(**CSV_OPTIONS))
        return None
    start, stop = cut
    with pa.OSFile(str(path), "wb") as sink:
        writer = pacsv.CSVWriter(sink, columns.schema,
                                 write_options=pacsv.WriteOptions(**CSV_OPTIONS))
        writer.write_table(columns.slice(0, start))
        begin = sink.tell()
        writer.write_table(columns.slice(start, stop - start))
        end = sink.tell()
        writer.write_table(columns.slice(stop))
        writer.close()
    return begin, end


def write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd")


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


class TableWriter:
    """Writes each table as data/<name>.csv and data/<name>.parquet as soon as it is handed
    over, on threads: Arrow's writers let go of the GIL, so a table is written while the next
    one is built. Each file is written by one thread alone, so its bytes do not depend on the
    others. Leaving the `with` block waits for every file begun. `parquet_done(name, path)` is
    called, on the writing thread, as each table's Parquet file is complete;
    `parquet_kept(name, path)`, where given, in its place for a table taken over (`adopt`).

    A table's CSV file is begun once its Parquet file is written (see submit).

    Each file's size and hash (`facts`, by path) are taken on its thread as soon as it is
    written, while it is still in the page cache and the next table is being made.

    `csv_check(name, table, path, part)`, where given, is run on the CSV file's thread as soon
    as it is written, with the rows both files were written from; what it says (None:
    nothing) is kept in `csv_checked`, by table. `unproven(name, table)`, where given, may
    name the rows (start, stop) that are left to check, the others being proven sound by the
    last build (check/proven.py): `part` is then (start, stop, and the bytes of the CSV file
    that hold those rows), and `rows_checked` keeps (start, stop) by table; else `part` is
    None, and every row is to be checked."""

    def __init__(self, out: Path, parquet_done: Callable[[str, Path], None] | None = None,
                 csv_check: Callable[[str, pa.Table, Path, tuple | None], str | None]
                 | None = None,
                 parquet_kept: Callable[[str, Path], None] | None = None,
                 unproven: Callable[[str, pa.Table], tuple[int, int] | None] | None = None):
        self.parquet_done = parquet_done
        self.parquet_kept = parquet_kept or parquet_done
        self.csv_check = csv_check
        self.csv_checked: dict[str, str | None] = {}
        self.unproven = unproven
        self.rows_checked: dict[str, tuple[int, int]] = {}
        self.data = out / DATA_DIR
        self.data.mkdir(parents=True, exist_ok=True)
        self.paths: dict[str, dict[str, Path]] = {}
        self.facts: dict[Path, tuple[int, str]] = {}
        self._pending = []
        self._threads = ThreadPoolExecutor(max_workers=WRITER_THREADS)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)

    def submit(self, name: str, table: pa.Table) -> None:
        self.paths[name] = {"csv": self.data / f"{name}.csv",
                            "parquet": self.data / f"{name}.parquet"}
        # The Parquet file first, the CSV file once it is written: the database's child waits
        # for the Parquet file, nothing waits for the CSV file but the end of the writing, so
        # the CSV takes no core from the Parquet file while the next table is made. 100k
        # statements, 8 alternating rounds: one status rebuild 0.926 -> 0.883 s, one
        # chapter's text 0.695 -> 0.638 s; a full build 3.389 -> 3.417 s, its last table's
        # CSV file begun later.
        self._pending.append(self._threads.submit(self._parquet_then_csv, name, table))

    def adopt(self, name: str, folder: Path,
              known: dict[str, tuple[int, str]] | None = None) -> None:
        """Take the files of table `name` from the package in `folder` (they hold these rows,
        written by this code), as links where the file system has them. `known` may give
        their facts by kind ("csv", "parquet"), from the build that wrote them; others are
        taken on a thread."""
        self.paths[name] = {"csv": self.data / f"{name}.csv",
                            "parquet": self.data / f"{name}.parquet"}
        for kind in ("parquet", "csv"):
            path = self.paths[name][kind]
            _link_or_copy(folder / DATA_DIR / f"{name}.{kind}", path)
            if known and kind in known:
                self.facts[path] = known[kind]
            else:
                self._pending.append(self._threads.submit(self._facts, path))
        if self.parquet_kept:
            self.parquet_kept(name, self.paths[name]["parquet"])

    def _facts(self, path: Path) -> None:
        self.facts[path] = file_facts(path)

    def _csv(self, name: str, table: pa.Table, path: Path) -> None:
        rows = self.unproven(name, table) if self.unproven and self.csv_check else None
        if rows == (0, table.num_rows):
            rows = None  # none proven: the file is written and read back whole
        cut = write_csv(table, path, rows)
        self._facts(path)
        if self.csv_check:
            if rows is not None:
                self.rows_checked[name] = rows
            self.csv_checked[name] = self.csv_check(
                name, table, path, None if rows is None else (*rows, *cut))

    def _parquet_then_csv(self, name: str, table: pa.Table) -> None:
        self._parquet(name, table)
        self._pending.append(self._threads.submit(self._csv, name, table,
                                                  self.paths[name]["csv"]))

    def _parquet(self, name: str, table: pa.Table) -> None:
        path = self.paths[name]["parquet"]
        write_parquet(table, path)
        self._facts(path)
        if self.parquet_done:
            self.parquet_done(name, path)

    def wait(self) -> dict[str, dict[str, Path]]:
        """The paths by table and format, once every file is written."""
        # A CSV file's job joins the list on its Parquet file's thread before that job ends,
        # so the loop, which reads the list as it grows, reaches it after waiting for that one.
        for done in self._pending:
            done.result()
        return self.paths

