"""pledges.sqlite: every table of the package in SQLite, with its keys, for datasette and any
SQLite client.

Types are chosen so that values round-trip through any SQLite reader: dates and times as ISO
8601 text, booleans as 0/1 (with a CHECK), lists as JSON arrays, numbers as INTEGER or REAL.
The same package always gives the same bytes (for one SQLite version): tables are created and
filled in one fixed order, in one transaction, and the file is vacuumed.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

from .package import Table

SQLITE_TYPES = {"string": "TEXT", "integer": "INTEGER", "number": "REAL", "boolean": "INTEGER",
                "date": "TEXT", "datetime": "TEXT", "list": "TEXT", "year": "INTEGER"}
FTS_SUFFIX = "_fts"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_value(value, kind: str):
    if value is None:
        return None
    if kind == "list":
        return json.dumps(list(value), ensure_ascii=False)
    if kind == "boolean":
        return int(bool(value))
    if kind == "datetime" and isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
            return value.isoformat(timespec="seconds") + "Z"
        return value.isoformat(timespec="seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return value


def create_table_sql(table: Table) -> str:
    lines = []
    for field in table.fields:
        kind = field.get("type", "string")
        column = f"{quote(field['name'])} {SQLITE_TYPES.get(kind, 'TEXT')}"
        if (field.get("constraints") or {}).get("required"):
            column += " NOT NULL"
        column += "".join(f" CHECK ({check})" for check in _checks(field))
        lines.append(column)
    if table.primary_key:
        lines.append(f"PRIMARY KEY ({', '.join(map(quote, table.primary_key))})")
    for fields, target, refs in table.foreign_keys:
        lines.append(f"FOREIGN KEY ({', '.join(map(quote, fields))}) "
                     f"REFERENCES {quote(target)} ({', '.join(map(quote, refs))})")
    return f"CREATE TABLE {quote(table.name)} (\n  " + ",\n  ".join(lines) + "\n)"


def _literal(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _checks(field: dict) -> list[str]:
    """The schema's constraints that SQLite can check itself (NULL passes each of them)."""
    name, constraints = quote(field["name"]), field.get("constraints") or {}
    checks = [f"{name} IN (0, 1)"] if field.get("type") == "boolean" else []
    if constraints.get("enum"):
        checks.append(f"{name} IN ({', '.join(map(_literal, constraints['enum']))})")
    if field.get("type") in ("integer", "number"):
        for key, op in (("minimum", ">="), ("maximum", "<=")):
            if key in constraints:
                checks.append(f"{name} {op} {_literal(constraints[key])}")
    return checks


def search_columns(table: Table) -> list[str]:
    """Free-text columns: strings that are no key, no code (enum or pattern) and no URL."""
    keys = set(table.primary_key)
    for fields, _, _ in table.foreign_keys:
        keys.update(fields)
    return [f["name"] for f in table.fields
            if f.get("type") == "string" and f["name"] not in keys and not f.get("format")
            and not {"enum", "pattern"} & set(f.get("constraints") or {})]


def write_sqlite(tables: list[Table], target: Path, *, fts: tuple[str, ...] = ()) -> Path:
    """Write the tables into a new SQLite file at `target`, with full-text search on the
    tables named in `fts` (as `<table>_fts`, external content, as datasette detects it)."""
    target.unlink(missing_ok=True)
    con = sqlite3.connect(target, isolation_level=None)
    try:
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("BEGIN")
        for table in _dependency_order(tables):
            con.execute(create_table_sql(table))
            names = [f["name"] for f in table.fields]
            kinds = [f.get("type", "string") for f in table.fields]
            insert = (f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, names))}) "
                      f"VALUES ({', '.join('?' * len(names))})")
            con.executemany(insert, ([sqlite_value(row.get(n), k) for n, k in zip(names, kinds)]
                                     for row in table.rows))
        for table in tables:
            if table.name in fts and (columns := search_columns(table)):
                index = quote(table.name + FTS_SUFFIX)
                con.execute(f"CREATE VIRTUAL TABLE {index} USING fts5("
                            f"{', '.join(map(quote, columns))}, content=[{table.name}])")
                con.execute(f"INSERT INTO {index}({index}) VALUES ('rebuild')")
        con.execute("COMMIT")
        problems = con.execute("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise ValueError(f"foreign keys broken in the SQLite export: {problems[:5]}")
        con.execute("VACUUM")
    finally:
        con.close()
    return target


def _dependency_order(tables: list[Table]) -> list[Table]:
    """Referenced tables before the tables that reference them, else descriptor order."""
    by_name = {t.name: t for t in tables}
    done: dict[str, Table] = {}

    def visit(table: Table, trail: tuple[str, ...]) -> None:
        if table.name in done or table.name in trail:
            return
        for _, target, _ in table.foreign_keys:
            if target in by_name:
                visit(by_name[target], trail + (table.name,))
        done[table.name] = table

    for table in tables:
        visit(table, ())
    return list(done.values())
