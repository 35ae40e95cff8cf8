"""Model -> pyarrow tables: typed by the descriptor's schema, rows sorted by primary key. No I/O."""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import pyarrow as pa

from ..model import (HISTORY_COLUMNS, Content, Current, Recorded, Report, Section, Statement,
                     StatusChange)
from ..schema import PackageSchema
from . import rowcache
from .compute import cast, if_else, is_null, sort_by


def _column(values, field: pa.Field) -> pa.Array:
    if pa.types.is_date(field.type):
        return cast(pa.array(values, pa.string()), field.type)
    return pa.array(values, field.type)


def to_table(schema: PackageSchema, name: str, rows: list,
             derived: dict | None = None) -> pa.Table:
    """Rows (named tuples, or dicts) as a table in schema column order, sorted by primary key.
    `derived` maps a column the rows do not carry to a function of the other columns."""
    return sort_table(schema, name, unsorted_table(schema.arrow_schema(name), rows, derived))


def sort_table(schema: PackageSchema, name: str, table: pa.Table) -> pa.Table:
    """The table sorted by its primary key, each column in one piece: the files' bytes do
    not depend on how its rows were put together."""
    key = schema.primary_key(name)
    if key and len(table) > 1:
        table = sort_by(table, key)
    return rowcache.whole_columns(table)


def unsorted_table(arrow: pa.Schema, rows: list, derived: dict | None = None,
                   fields: tuple[str, ...] | None = None) -> pa.Table:
    """The rows as a table of `arrow`'s columns, in their order. The rows are dicts, named
    tuples, or plain tuples whose values are named by `fields`."""
    if rows and isinstance(rows[0], dict):
        columns = {f.name: [r.get(f.name) for r in rows] for f in arrow}
    elif rows:
        columns = dict(zip(fields or rows[0]._fields, zip(*rows)))
    else:
        columns = {f.name: [] for f in arrow}
    for column, make in (derived or {}).items():
        columns[column] = make(columns) if rows else []
    return pa.Table.from_arrays([_column(columns[f.name], f) for f in arrow], schema=arrow)


# The model's records of each table of rowcache.TABLES, and the columns made of their values.
RECORDS = {"sections": Section, "statements": Statement, "reports": Report,
           "recorded": Recorded}
DERIVED = {"statements": {"reviewed": lambda c: [d is not None for d in c["last_update"]]}}


def chapters_table(arrow: pa.Schema, name: str, rows: list) -> pa.Table:
    """Rows of table `name` of rowcache.TABLES (records, or plain tuples in their order) as
    a table of `arrow`, in their order: as the build makes them from the chapters' rows, in a
    worker or here."""
    return unsorted_table(arrow, rows, DERIVED.get(name), RECORDS[name]._fields)


class WorkerRows:
    """What a build gives the content reader (content/folder.py's scan_content) for its
    workers to send the chapters' rows as Arrow tables: the tables of rowcache.TABLES, in that
    order, with their Arrow schemas; whether unpublished chapters give rows; how rows become a
    table; and how an id given twice among all rows is found. Sent to each worker with its
    job (a pickle of the schemas; the code is this module's)."""

    def __init__(self, schema: PackageSchema, include_unpublished: bool):
        self.schemas = rowcache.table_schemas(schema)
        self.names = rowcache.TABLES
        self.include_unpublished = include_unpublished

    def table(self, name: str, rows: list) -> pa.Table:
        return chapters_table(self.schemas[name], name, rows)

    def collide(self, layout, ids: list[str], cached, parsed) -> bool:
        return rowcache.ids_collide(layout, ids, cached, parsed)


def chapter_rows(schema: PackageSchema, content: Content, name: str) -> pa.Table:
    """Table `name` of rowcache.TABLES before its sort: every chapter's rows in the chapters'
    order: the Python rows read now and those the workers sent as Arrow (content.parsed) and,
    in a rebuild, those the last build kept (content.cached)."""
    arrow = rowcache.table_schemas(schema)[name]
    rows = {"sections": content.sections, "statements": content.statements,
            "reports": content.reports, "recorded": content.recorded}[name]
    fresh = chapters_table(arrow, name, list(rows))
    if content.cached is None and content.parsed is None:
        return fresh
    pieces = rowcache.pieces(content.layout, name, fresh,
                             content.cached.tables[name] if content.cached else None,
                             content.parsed[name] if content.parsed else None)
    if not pieces:
        return fresh
    # In pieces: build_tables puts them together where it names the rows, else the sort does.
    return pa.concat_tables([source.slice(start, count) for source, start, count in pieces])


def snapshot_history(schema: PackageSchema, statements: pa.Table) -> pa.Table:
    """One 'snapshot' row per statement: its status as the content has it now, in effect from
    its last_update (the editors' date), with no history behind it."""
    arrow = schema.arrow_schema("status_history")
    n = len(statements)
    last_update = statements.column("last_update")
    given = {
        "statement_id": statements.column("statement_id"),
        "seq": pa.array([1] * n, pa.int64()),
        "effective_date": last_update,
        "effective_date_source": if_else(is_null(last_update),
                                         pa.scalar(None, pa.string()), "editor"),
        "event": pa.array(["snapshot"] * n, pa.string()),
        "status": statements.column("status"),
        "source": pa.array(["snapshot"] * n, pa.string()),
        "last_update": statements.column("last_update"),
    }
    columns = [given[f.name] if f.name in given else pa.nulls(n, f.type) for f in arrow]
    return pa.Table.from_arrays(columns, schema=arrow)


class Reused(NamedTuple):
    """A table whose files are at hand already (see build_tables): how many rows it has."""

    num_rows: int


def build_tables(schema: PackageSchema, content: Content,
                 history: list[StatusChange] | None = None,
                 ready: Callable[[str, pa.Table | Reused, str | None], None] | None = None,
                 keep: Callable[[dict[str, pa.Table]], None] | None = None,
                 identify: Callable[[str, pa.Table], str] | None = None,
                 reusable: Callable[[str, str], bool] | None = None
                 ) -> dict[str, pa.Table | Reused]:
    """Every table of the package, in the descriptor's resource order, each handed to `ready`
    as soon as it is made, with the name of its rows where `identify` gives one. Without a
    history the status_history table holds one snapshot row per statement.

    `keep` is given the chapters' rows before the sort (see chapter_rows), for the next build;
    `identify` names each of those tables' rows. A table whose rows' name `reusable` says has
    its files at hand is neither sorted nor made: it is a Reused."""
    tables: dict[str, pa.Table | Reused] = {}
    ids: dict[str, str] = {}

    def made(name: str, make: Callable[[], pa.Table], rows: int | None = None) -> None:
        rows_id = ids.get(name)
        if rows is not None and rows_id is not None and reusable is not None \
                and reusable(name, rows_id):
            tables[name] = Reused(rows)
        else:
            tables[name] = make()
        if ready:
            ready(name, tables[name], rows_id)

    made("documents", lambda: to_table(schema, "documents", list(content.documents)))
    unsorted = {}
    for name in ("sections", "statements", "reports"):
        rows = chapter_rows(schema, content, name)
        if identify is not None:
            # named by its values, which are put in one piece for that; the sort then need
            # not put its result together again
            rows = rowcache.whole_columns(rows)
            if (rows_id := identify(name, rows)) is not None:
                ids[name] = rows_id  # None where the build keeps no rows: nothing to reuse
        unsorted[name] = rows
        made(name, lambda: sort_table(schema, name, rows), len(rows))
    if keep is not None:
        unsorted["recorded"] = chapter_rows(schema, content, "recorded")
        keep(unsorted)
    made("statuses", lambda: to_table(schema, "statuses", schema.inline_data("statuses")))
    if history is not None:
        made("status_history", lambda: to_table(schema, "status_history", history))
    else:
        statements = tables["statements"]
        if "statements" in ids:
            ids["status_history"] = "snapshot " + ids["statements"]  # made of the statements
        made("status_history", lambda: snapshot_history(schema, sort_table(
            schema, "statements", unsorted["statements"]) if isinstance(statements, Reused)
            else statements), len(unsorted["statements"]))
    return {name: tables[name] for name in schema.table_names}


def for_history(schema: PackageSchema, content: Content) -> Content:
    """`content` with every chapter's statements (their HISTORY_COLUMNS) and history entries,
    for history/timeline.py's merge_history, where some chapters' rows are Arrow rows."""
    if content.cached is None and content.parsed is None:
        return content
    statements = chapter_rows(schema, content, "statements")
    columns = [statements.column(name) for name in HISTORY_COLUMNS]
    columns[2] = cast(columns[2], pa.string())  # the model's dates are ISO text
    recorded = chapter_rows(schema, content, "recorded").to_pylist()
    return content._replace(
        statements=tuple(map(Current._make, zip(*(c.to_pylist() for c in columns)))),
        recorded=tuple(Recorded(**row) for row in recorded), cached=None, parsed=None)
