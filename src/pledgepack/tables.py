"""Model -> pyarrow tables: typed by the descriptor's schema, rows sorted by primary key. No I/O."""
from __future__ import annotations

import datetime as dt

import pyarrow as pa

from .model import Content, StatusChange
from .schema import PackageSchema


def snapshot_history(content: Content) -> list[StatusChange]:
    """One snapshot row per statement: its status as the content has it now."""
    rows = []
    for s in content.statements:
        since = (dt.datetime.combine(s.last_update, dt.time(), tzinfo=dt.timezone.utc)
                 if s.last_update else None)
        rows.append(StatusChange(statement_id=s.statement_id, seq=1, valid_from=since,
                                 event="snapshot", status=s.status, previous_status=None,
                                 source="snapshot", last_update=s.last_update))
    return rows


def _records(schema: PackageSchema, name: str, rows: list) -> pa.Table:
    arrow = schema.arrow_schema(name)
    key = schema.primary_key(name)
    if rows and not isinstance(rows[0], dict):
        rows = sorted(rows, key=lambda r: tuple(getattr(r, k) for k in key))
        columns = [[getattr(r, f.name) for r in rows] for f in arrow]
    else:
        rows = sorted(rows, key=lambda r: tuple(r[k] for k in key))
        columns = [[r.get(f.name) for r in rows] for f in arrow]
    arrays = [pa.array([list(v) if isinstance(v, tuple) else v for v in col], type=f.type)
              for col, f in zip(columns, arrow)]
    return pa.Table.from_arrays(arrays, schema=arrow)


def build_tables(schema: PackageSchema, content: Content,
                 history: list[StatusChange] | None = None) -> dict[str, pa.Table]:
    """Every table of the package, in the descriptor's resource order."""
    rows = {
        "documents": list(content.documents),
        "sections": list(content.sections),
        "statements": list(content.statements),
        "reports": list(content.reports),
        "status_history": history if history is not None else snapshot_history(content),
        "statuses": schema.inline_data("statuses"),
    }
    return {name: _records(schema, name, rows[name]) for name in schema.table_names}
