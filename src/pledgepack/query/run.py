"""Run SQL against a package's .duckdb file and render the result as a table, CSV or JSON."""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
from pathlib import Path

from ..errors import PledgepackError


class QueryError(PledgepackError):
    pass


def find_database(folder: Path) -> Path:
    found = sorted(folder.glob("*.duckdb"))
    if len(found) != 1:
        raise QueryError(f"expected one .duckdb file in {folder}, found {len(found)}: run "
                         "'pledgepack build' first, or pass --db")
    return found[0]


TIMELINE_SQL = """
SELECT seq, strftime(effective_date, '%Y-%m-%d') AS "in effect from",
       effective_date_source::VARCHAR AS "whose date", event,
       previous_status::VARCHAR AS "from", status::VARCHAR AS "to", source,
       left("commit", 12) AS "commit",
       strftime(timezone('UTC', recorded_at), '%Y-%m-%d %H:%M') AS "committed (UTC)", author,
       path, last_update, note
FROM timeline WHERE statement_id = ? ORDER BY seq"""


def statement_timeline(db: Path, statement_id: str) -> tuple[list[str], list[tuple]]:
    """A statement's status events, oldest first."""
    columns, rows = run_query(db, TIMELINE_SQL, [statement_id])
    if not rows:
        raise QueryError(f"no status history for {statement_id!r} in {db}: statement ids read "
                         "<document_id>/<id>, e.g. bund-2021/glasfaser")
    return columns, rows


def run_query(db: Path, sql: str, params: list | None = None, *,
              allow_external: bool = False) -> tuple[list[str], list[tuple]]:
    """Run `sql` on the database, opened read-only. Unless `allow_external`, DuckDB's external
    access is switched off once the package is attached (and cannot be switched back on by the
    query): no
    `COPY ... TO` a file, no `ATTACH`, no reading other files, no extensions, no network. The
    package's own tables are inside the database file and need none of it."""
    import duckdb

    if not db.is_file():
        raise QueryError(f"{db}: no such database file")
    try:
        # Attached to an in-memory database rather than opened with a configuration of its
        # own, so that other connections to the file (read-only ones) do not conflict.
        con = duckdb.connect(":memory:")
        quoted = str(db).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS package (READ_ONLY)")
        con.execute("USE package")
        if not allow_external:
            con.execute("SET enable_external_access = false")
    except duckdb.Error as exc:
        raise QueryError(f"{db}: cannot open: {exc}") from None
    try:
        cursor = con.execute(sql, params)
        if cursor.description is None:
            return [], []
        return [d[0] for d in cursor.description], cursor.fetchall()
    except duckdb.PermissionException as exc:
        hint = "" if allow_external else (
            "; queries cannot reach files, other databases or the network unless you pass "
            "--allow-external-access")
        raise QueryError(f"query failed: {exc}{hint}") from None
    except duckdb.Error as exc:
        raise QueryError(f"query failed: {exc}") from None
    finally:
        con.close()


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _cell(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, list):
        return "[" + ", ".join(_cell(v) for v in value) + "]"
    return str(_plain(value))


def render(columns: list[str], rows: list[tuple], fmt: str) -> str:
    if fmt == "json":
        records = [{c: _plain(v) for c, v in zip(columns, row)} for row in rows]
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else
                             ";".join(map(str, v)) if isinstance(v, list) else _plain(v)
                             for v in row])
        return buffer.getvalue()
    cells = [[_cell(v).replace("\n", " ") for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"
