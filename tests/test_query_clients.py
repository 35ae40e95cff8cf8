"""`pledgepack query` on every table and view of a package, in every format.

`pytz` is made unimportable, as on a machine that lacks it: DuckDB must hand over
TIMESTAMP WITH TIME ZONE values without it.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys

import duckdb
import pytest


def catalog(db) -> dict[str, list[tuple[str, str]]]:
    """relation -> [(column, type)] for every view, every stored table (schema `data`) and
    the status_as_of macro."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        found: dict[str, list] = {}
        for schema, table, column, kind in con.execute(
                "select table_schema, table_name, column_name, data_type "
                "from information_schema.columns "
                "order by table_schema, table_name, ordinal_position").fetchall():
            name = table if schema == "main" else f"{schema}.{table}"
            found.setdefault(name, []).append((column, kind))
        macro = "status_as_of('2024-06-01')"
        found[macro] = [(d[0], "") for d in con.execute(f"from {macro}").description]
        return found
    finally:
        con.close()


def count(db, relation: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"select count(*) from {relation}").fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def no_pytz(monkeypatch):
    monkeypatch.setitem(sys.modules, "pytz", None)


@pytest.mark.parametrize("package", ["shipped", "edge"])
def test_every_relation_in_every_format(client_packages, package, run, no_pytz):
    db = client_packages[package] / "pledges.duckdb"
    relations = catalog(db)
    assert {"statements", "timeline", "status_history", "statement_details",
            "data.statements"} <= set(relations)
    for name, columns in relations.items():
        expected = count(db, name)
        sql = f"select * from {name}"
        results = {fmt: run("query", sql, "--db", db, "--format", fmt)
                   for fmt in ("table", "csv", "json")}
        for fmt, result in results.items():
            assert result.exit_code == 0, (name, fmt, result.output)
        records = json.loads(results["json"].stdout)
        assert len(records) == expected, name
        rows = list(csv.reader(io.StringIO(results["csv"].stdout)))
        assert rows[0] == [c for c, _ in columns] and len(rows) == expected + 1, name
        last = results["table"].stdout.splitlines()[-1]
        assert last == f"({expected} row{'s' if expected != 1 else ''})", name
        for column, kind in columns:
            if kind == "TIMESTAMP WITH TIME ZONE":
                for record in records:
                    if record[column] is not None:
                        assert dt.datetime.fromisoformat(record[column]).utcoffset() is not None
