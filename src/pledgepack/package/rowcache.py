"""The rows each chapter gave the last build, as Arrow tables, kept beside the chapter cache.

A table of the package is its chapters' rows, in the order of the chapters, sorted by primary
key. The last build's tables before that sort are kept here, with each chapter's key and how
many rows it gave each table. A rebuild takes an unchanged chapter's rows from these tables as
they are, a slice, without decoding its cache entry or turning Python values into Arrow again;
only the chapters that changed are parsed and converted. The tables put together from the
slices and the new rows are the tables a build from scratch puts together, row for row in the
same order, so the sorted tables and the files are the same bytes (tests/test_kept_rows.py).

One file per content folder, written beside its place and renamed over it (two builds at once,
or a build killed while writing, leave a whole file); it is read through a memory map. Anything
in it that does not match (its format, the schema of a table, the versions and code that made
the rows, the flags that choose which chapters give rows, a count) and it is not used: the
chapters then come from the chapter cache, as before.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ..content.cache import ROWS as FILE
from ..content.cache import CachedChapter as Chapter
from ..model import Recorded
from ..outdir import kill_point
from ..schema import PackageSchema

# Bump when the layout of the file changes.
FORMAT = 2
MAGIC = b"PLEDGEPACK-ROWS\1"
# The tables a chapter gives rows to, in the order of a chapter's counts; `recorded` (history
# entries written by hand) is no table of the package, but goes into status_history.
TABLES = ("sections", "statements", "reports", "recorded")
_FOOTER = struct.Struct("<Q")
_HERE = Path(__file__).resolve().parent


def recorded_schema() -> pa.Schema:
    return pa.schema([pa.field(name, pa.int64() if name == "rating" else pa.string())
                      for name in Recorded._fields])


def table_schemas(schema: PackageSchema) -> dict[str, pa.Schema]:
    return {name: recorded_schema() if name == "recorded" else schema.arrow_schema(name)
            for name in TABLES}


def salt(schema: PackageSchema) -> str:
    """What the rows depend on beyond the chapters' keys: the tables' Arrow schemas, pyarrow,
    and the code that turns rows into tables."""
    digest = hashlib.blake2b(f"{FORMAT} {pa.__version__}\0".encode(), digest_size=20)
    for name, arrow in table_schemas(schema).items():
        digest.update(name.encode() + b"\0" + arrow.serialize().to_pybytes() + b"\0")
    for path in (_HERE / "tables.py", _HERE / "rowcache.py", _HERE.parent / "model.py"):
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass
class CachedRows:
    tables: dict[str, pa.Table]
    chapters: dict[str, Chapter]

    def collides(self, layout, ids: list[str]) -> bool:
        """Whether a statement id in `ids` is also one of the kept rows `layout` takes."""
        from .compute import any_true, is_in

        if not ids:
            return False
        kept = self.tables["statements"]
        column = kept.column("statement_id")
        # The few ids read now are the set looked up; the kept column is only scanned.
        wanted = pa.array(ids, pa.string())
        return any(any_true(is_in(column.slice(start, count), wanted))
                   for _, start, count in pieces(layout, "statements", None, kept))


def ids_collide(layout, ids: list[str], cached: CachedRows | None,
                parsed: dict[str, pa.Table]) -> bool:
    """Whether a statement id is given twice by the chapters of `layout`: `ids` are those of
    the Python rows read now, the others those of the rows kept (`cached`, or None) and sent
    as Arrow by the workers (`parsed`). All are counted at once: most rows are Arrow rows."""
    from .compute import count_distinct

    kept = cached.tables["statements"] if cached is not None else None
    chunks = [source.column("statement_id").slice(start, count)
              for source, start, count in pieces(layout, "statements", None, kept,
                                                 parsed["statements"])]
    every = pa.chunked_array([pa.array(ids, pa.string())]
                             + [c for column in chunks for c in column.chunks], pa.string())
    return count_distinct(every) != len(every)


def rows_id(salt_: str, include_unpublished: bool, name: str, table: pa.Table) -> str:
    """A name for the rows of table `name` before the sort, `table`: a digest of them as an
    Arrow IPC stream, each column in one piece (whole_columns). That stream holds the values
    and nothing of how they were put together (slices, a validity bitmap with no nulls), so
    the same rows get the same name, and different rows never do. A name of the values, not
    of the chapters' keys: a chapter edited where it gives a table no other rows leaves that
    table's name as it was (a status changed: the sections; a paragraph of text: the
    statements)."""
    digest = _Digest(f"{salt_}\0{include_unpublished}\0{name}\0")
    table = whole_columns(table)
    with pa.ipc.new_stream(pa.PythonFile(digest, mode="w"), table.schema) as writer:
        writer.write_table(table)
    return digest.hexdigest()


def whole_columns(table: pa.Table) -> pa.Table:
    """`table` with each column in one piece (a copy of those in several): its IPC stream is
    then one batch, as it is for the same rows put together otherwise."""
    return table.combine_chunks() if any(c.num_chunks > 1 for c in table.columns) else table


class _Digest:
    """A file that only hashes what is written to it (SHA-256: on these machines faster than
    BLAKE2 by half)."""

    closed = False

    def __init__(self, start: str):
        self._hash = hashlib.sha256(start.encode("utf-8"))

    def write(self, data) -> int:
        self._hash.update(data)
        return len(data)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


# The kept rows are written again once the rows they cannot give (of chapters read anew, each
# build again) come to more than this share of all, or the rows they hold that no chapter
# takes any more (the last versions of chapters changed since) to more than those it gives.
DRIFT = 1 / 32


def still_serves(layout, cached: CachedRows | None) -> bool:
    """Whether the kept rows `cached` can stay as they are for the next build of the chapters
    of `layout`: that build takes most rows from them and reads the rest from the chapter
    cache, which holds every chapter the kept rows do not. Writing all of their bytes again,
    while the build writes its own files, took a one-chapter rebuild at 100k statements
    0.1-0.3 s."""
    if cached is None:
        return False
    fresh = taken = 0
    for chapter in layout:
        if chapter.offsets is None or chapter.parsed:
            fresh += sum(chapter.counts)
        else:
            taken += sum(chapter.counts)
    unused = sum(len(table) for table in cached.tables.values()) - taken
    return fresh <= DRIFT * (fresh + taken) and unused <= taken


def load(folder: Path | None, salt_: str, include_unpublished: bool,
         schemas: dict[str, pa.Schema]) -> CachedRows | None:
    """The rows kept by the last build of this content folder, or None."""
    if folder is None:
        return None
    try:
        source = pa.memory_map(str(folder / FILE))
    except (OSError, pa.ArrowException):
        return None
    try:
        size = source.size()
        whole = source.read_buffer(size)
        end = size - _FOOTER.size - len(MAGIC)
        if end <= 0 or whole.slice(end + _FOOTER.size).to_pybytes() != MAGIC:
            return None
        (length,) = _FOOTER.unpack(whole.slice(end, _FOOTER.size).to_pybytes())
        if length > end:
            return None
        header = json.loads(whole.slice(end - length, length).to_pybytes())
        if (header.get("format") != FORMAT or header.get("salt") != salt_
                or header.get("include_unpublished") != include_unpublished):
            return None
        tables = {}
        for name, (start, stop) in zip(TABLES, header["tables"]):
            if not 0 <= start <= stop <= end - length:
                return None
            with pa.ipc.open_stream(whole.slice(start, stop - start)) as reader:
                table = reader.read_all()
            # in one piece, so that a rebuild's slices are plain offsets into it
            if not table.schema.equals(schemas[name]) or (
                    table.num_columns and table.column(0).num_chunks > 1):
                return None
            tables[name] = table
        chapters: dict[str, Chapter] = {}
        totals = [0] * len(TABLES)
        for key, counts, unpublished, ok, diagnostics in header["chapters"]:
            offsets = tuple(totals)
            totals = [t + c for t, c in zip(totals, counts)]
            chapters[key] = Chapter(key, tuple(counts), offsets, bool(unpublished), bool(ok),
                                    tuple(tuple(d) for d in diagnostics))
        if totals != [len(tables[name]) for name in TABLES]:
            return None
        return CachedRows(tables, chapters)
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        return None


def save(folder: Path | None, salt_: str, include_unpublished: bool,
         chapters: list[Chapter], tables: dict[str, pa.Table],
         schemas: dict[str, pa.Schema]) -> None:
    """Keep `tables` (the unsorted rows of `chapters`, in their order) for the next build;
    never fails: a cache that cannot be written only costs time."""
    if folder is None:
        return
    header = {"format": FORMAT, "salt": salt_, "include_unpublished": include_unpublished,
              "tables": [], "chapters": [[c.key, list(c.counts), c.unpublished, c.ok,
                                          [list(d) for d in c.diagnostics]]
                                         for c in chapters]}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".new-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as file:
            for name in TABLES:
                start = file.tell()
                table = tables[name]
                with pa.ipc.new_stream(file, schemas[name]) as writer:
                    if table.num_rows:
                        writer.write_table(table.combine_chunks(), max_chunksize=table.num_rows)
                header["tables"].append([start, file.tell()])
            data = json.dumps(header, separators=(",", ":")).encode("utf-8")
            file.write(data + _FOOTER.pack(len(data)) + MAGIC)
        kill_point("row-cache")
        os.replace(tmp, folder / FILE)
    except (OSError, ValueError, pa.ArrowException):
        _unlink(tmp)
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def pieces(layout, name: str, fresh: pa.Table | None, kept: pa.Table | None,
           parsed: pa.Table | None = None) -> list[tuple[pa.Table, int, int]]:
    """Table `name` of TABLES as the chapters of `layout` give it: (table, start, count) in
    their order, neighbours joined, from `fresh` (the Python rows read now, in order; None:
    leave them out), from `kept` (the last build's) and from `parsed` (the rows the workers
    sent as Arrow tables, Content.parsed)."""
    index = TABLES.index(name)
    found: list[tuple[pa.Table, int, int]] = []
    read = 0
    for chapter in layout:
        count = chapter.counts[index]
        if not count:
            continue
        if chapter.offsets is None:
            source, start = fresh, read
            read += count
            if source is None:
                continue
        else:
            source = parsed if chapter.parsed else kept
            start = chapter.offsets[index]
        if found and found[-1][0] is source and found[-1][1] + found[-1][2] == start:
            found[-1] = (source, found[-1][1], found[-1][2] + count)
        else:
            found.append((source, start, count))
    return found
