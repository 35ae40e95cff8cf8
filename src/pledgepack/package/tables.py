"""Model -> pyarrow tables: typed by the descriptor's schema, rows sorted by primary key. No I/O."""
from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from ..model import Content, StatusChange
from ..schema import PackageSchema


def _column(values, field: pa.Field) -> pa.Array:
    if pa.types.is_date(field.type):
        return pa.array(values, pa.string()).cast(field.type)
    return pa.array(values, field.type)


def to_table(schema: PackageSchema, name: str, rows: list,
             derived: dict | None = None) -> pa.Table:
    """Rows (named tuples, or dicts) as a table in schema column order, sorted by primary key.
    `derived` maps a column the rows do not carry to a function of the other columns."""
    arrow = schema.arrow_schema(name)
    if rows and isinstance(rows[0], dict):
        columns = {f.name: [r.get(f.name) for r in rows] for f in arrow}
    elif rows:
        columns = dict(zip(rows[0]._fields, zip(*rows)))
    else:
        columns = {f.name: [] for f in arrow}
    for column, make in (derived or {}).items():
        columns[column] = make(columns) if rows else []
    table = pa.Table.from_arrays([_column(columns[f.name], f) for f in arrow], schema=arrow)
    key = schema.primary_key(name)
    return table.sort_by([(k, "ascending") for k in key]) if key and len(table) > 1 else table


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
        "effective_date_source": pc.if_else(pc.is_null(last_update),
                                            pa.scalar(None, pa.string()), "editor"),
        "event": pa.array(["snapshot"] * n, pa.string()),
        "status": statements.column("status"),
        "source": pa.array(["snapshot"] * n, pa.string()),
        "last_update": statements.column("last_update"),
    }
    columns = [given[f.name] if f.name in given else pa.nulls(n, f.type) for f in arrow]
    return pa.Table.from_arrays(columns, schema=arrow)


def build_tables(schema: PackageSchema, content: Content,
                 history: list[StatusChange] | None = None,
                 ready: Callable[[str, pa.Table], None] | None = None) -> dict[str, pa.Table]:
    """Every table of the package, in the descriptor's resource order, each handed to `ready`
    as soon as it is made. Without a history the status_history table holds one snapshot row
    per statement."""
    tables: dict[str, pa.Table] = {}

    def made(name: str, table: pa.Table) -> None:
        tables[name] = table
        if ready:
            ready(name, table)

    made("documents", to_table(schema, "documents", list(content.documents)))
    made("sections", to_table(schema, "sections", list(content.sections)))
    made("statements", to_table(schema, "statements", list(content.statements),
                                {"reviewed": lambda c: [d is not None for d in c["last_update"]]}))
    made("reports", to_table(schema, "reports", list(content.reports)))
    made("statuses", to_table(schema, "statuses", schema.inline_data("statuses")))
    made("status_history", to_table(schema, "status_history", history) if history is not None
         else snapshot_history(schema, tables["statements"]))
    return {name: tables[name] for name in schema.table_names}
