"""Model -> pyarrow tables: typed by the descriptor's schema, rows sorted by primary key. No I/O."""
from __future__ import annotations

import pyarrow as pa

from ..model import Content, StatusChange
from ..schema import PackageSchema


def _column(values, field: pa.Field) -> pa.Array:
    if pa.types.is_date(field.type):
        return pa.array(values, pa.string()).cast(field.type)
    return pa.array(values, field.type)


def to_table(schema: PackageSchema, name: str, rows: list) -> pa.Table:
    """Rows (named tuples, or dicts) as a table in schema column order, sorted by primary key."""
    arrow = schema.arrow_schema(name)
    if rows and isinstance(rows[0], dict):
        columns = {f.name: [r.get(f.name) for r in rows] for f in arrow}
    elif rows:
        columns = dict(zip(rows[0]._fields, zip(*rows)))
    else:
        columns = {f.name: [] for f in arrow}
    table = pa.Table.from_arrays([_column(columns[f.name], f) for f in arrow], schema=arrow)
    key = schema.primary_key(name)
    return table.sort_by([(k, "ascending") for k in key]) if key and len(table) > 1 else table


def snapshot_history(schema: PackageSchema, statements: pa.Table) -> pa.Table:
    """One 'snapshot' row per statement: its status as the content has it now, valid from its
    last_update (midnight UTC), with no history behind it."""
    arrow = schema.arrow_schema("status_history")
    n = len(statements)
    given = {
        "statement_id": statements.column("statement_id"),
        "seq": pa.array([1] * n, pa.int64()),
        "valid_from": statements.column("last_update").cast(arrow.field("valid_from").type),
        "event": pa.array(["snapshot"] * n, pa.string()),
        "status": statements.column("status"),
        "source": pa.array(["snapshot"] * n, pa.string()),
        "last_update": statements.column("last_update"),
    }
    columns = [given[f.name] if f.name in given else pa.nulls(n, f.type) for f in arrow]
    return pa.Table.from_arrays(columns, schema=arrow)


def build_tables(schema: PackageSchema, content: Content,
                 history: list[StatusChange] | None = None) -> dict[str, pa.Table]:
    """Every table of the package, in the descriptor's resource order. Without a history the
    status_history table holds one snapshot row per statement."""
    tables = {
        "documents": to_table(schema, "documents", list(content.documents)),
        "sections": to_table(schema, "sections", list(content.sections)),
        "statements": to_table(schema, "statements", list(content.statements)),
        "reports": to_table(schema, "reports", list(content.reports)),
        "statuses": to_table(schema, "statuses", schema.inline_data("statuses")),
    }
    tables["status_history"] = (to_table(schema, "status_history", history)
                                if history is not None
                                else snapshot_history(schema, tables["statements"]))
    return {name: tables[name] for name in schema.table_names}
