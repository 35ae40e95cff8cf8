"""Rows of a table that the last build proved sound: a rebuild checks only the rows between.

The last build into `out` checked every row of its tables (each CSV file read back against the
rows it was written from, each Parquet file with check/sqlchecks.py's SQL), and kept its
verdicts only because every check passed. Where a rebuild's table begins with the same values
as that build's table began with, and ends with the same values as it ended with, those rows
are the rows found sound then: the CSV and Parquet writers make each row's bytes from that
row's values alone, the same for the same values, and the checks that look at one row at a
time would find what they found. Only the rows between them are read back and checked row by
row; what looks at the whole table (the order of the key, no key given twice, the foreign keys,
the columns and their types) is still checked on the whole file. The last build's rows are read
from its Parquet file in `out`, still as that build left it, and written by the same code.

`pledgepack validate` and every release check every row again.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..outdir import file_state, target_of
from ..package.descriptor import DATA_DIR

# Rows compared at once while the rows agree; within a block that differs, the first row that
# differs is found by halving.
BLOCK = 4096
# Where the proof does not pay, the table's CSV file is read back whole. The proof reads every
# value of the last build's Parquet file once, the read-back every field of the CSV: it pays for
# a table of many short rows, not for a small one (below MIN_CSV_BYTES of CSV: the four
# statuses, 11 ms for the proof against 1 ms for the read-back) nor for a few long rows (above
# MAX_ROW_BYTES of CSV a row, as the sections' texts: at 100k statements, 954 rows of 18 kB,
# 0.034 s to decompress against 0.042 s to read back, and one chapter's text rebuilt 0.675 ->
# 0.693 s with the proof, against one status 0.996 -> 0.954 s for the statements and their
# history, 95,400 rows of 320 and 113 bytes).
MIN_CSV_BYTES = 1 << 20
MAX_ROW_BYTES = 4096


def common_rows(new: pa.Table, old: pa.Table) -> tuple[int, int]:
    """(head, tail): the first `head` rows of `new` equal the first `head` of `old`, and its last
    `tail` rows the last `tail` of `old`, in every column (a missing value equals a missing
    value); head + tail is at most the rows of either. Columns of another name or type agree
    in no row."""
    if new.column_names != old.column_names:
        return 0, 0
    limit = min(new.num_rows, old.num_rows)
    head = limit
    for name in new.column_names:
        head = _agreeing(new.column(name), old.column(name), 0, 0, head, backward=False)
    tail = limit - head
    for name in new.column_names:
        tail = _agreeing(new.column(name), old.column(name), new.num_rows, old.num_rows,
                         tail, backward=True)
    return head, tail


def _agreeing(x: pa.ChunkedArray, y: pa.ChunkedArray, x_at: int, y_at: int, limit: int,
              backward: bool) -> int:
    """How many rows, at most `limit`, x and y agree in from x_at and y_at on (or, `backward`,
    up to them)."""
    if limit == 0 or x.type != y.type:
        return 0

    def same(start: int, length: int) -> bool:
        if backward:
            return x.slice(x_at - start - length, length).equals(
                y.slice(y_at - start - length, length))
        return x.slice(x_at + start, length).equals(y.slice(y_at + start, length))

    done = 0
    while done < limit:
        step = min(BLOCK, limit - done)
        if same(done, step):
            done += step
            continue
        agree, differ = 0, step  # same(done, agree) holds, same(done, differ) does not
        while differ - agree > 1:
            middle = (agree + differ) // 2
            if same(done, middle):
                agree = middle
            else:
                differ = middle
        return done + agree
    return done


class LastRows:
    """The tables of the last build into `out` (its record, rebuild.py's last_build) whose rows
    a rebuild may take as proven: found sound by it (its verdicts), written with the same code
    and schema (`code`, rebuild.py's table_code), and whose Parquet file is still as it left
    it."""

    def __init__(self, record: dict | None, out: Path, code: str):
        self.files: dict[str, tuple[Path, list]] = {}
        try:
            if record is None or record.get("code") != code:
                return
            for name, (_, _, rows) in record["verdicts"].items():
                path, csv = f"{DATA_DIR}/{name}.parquet", f"{DATA_DIR}/{name}.csv"
                size = record["files"].get(csv, [0])[0]
                if path in record["files"] and MIN_CSV_BYTES <= size <= rows * MAX_ROW_BYTES:
                    self.files[name] = (target_of(out) / path, record["files"][path])
        except (KeyError, TypeError, AttributeError, ValueError):
            self.files = {}

    def unproven(self, name: str, table: pa.Table) -> tuple[int, int] | None:
        """(start, stop): the rows of `table` (the new rows of table `name`) left to check,
        those before `start` and from `stop` on being the last build's; None: every row."""
        if name not in self.files:
            return None
        path, state = self.files[name]
        try:
            if file_state(path) != state:
                return None
            old = pq.ParquetFile(path).read()  # read_table would import pyarrow.dataset
        except (OSError, pa.ArrowException):
            return None
        if not old.schema.equals(table.schema):
            return None
        head, tail = common_rows(table, old)
        return head, table.num_rows - tail
