"""frictionless' SQL export and datapackage-to-datasette load the package: one table per
table resource and no other (the Parquet files are no resources of their own), every row
arrives, also where nullable columns have a pattern; pledgepack validate still checks it."""
from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pledgepack.check.validate import validate_package


TABLES = {"documents", "sections", "statements", "reports", "status_history", "statuses"}


def csv_tables(folder: Path) -> dict[str, int]:
    """Rows per table, counted in the CSV files the descriptor declares."""
    descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    rows = {}
    for resource in descriptor["resources"]:
        with open(folder / resource["path"], newline="", encoding="utf-8") as handle:
            rows[resource["name"]] = sum(1 for _ in csv.reader(handle)) - 1
    return rows


def counts(db: Path) -> dict[str, int]:
    """Rows per table of every table the database holds."""
    con = sqlite3.connect(db)
    try:
        names = [n for (n,) in con.execute("select name from sqlite_master where type = 'table'")]
        return {n: con.execute(f'select count(*) from "{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def test_the_packages_have_their_tables_and_rows(client_packages):
    # the shipped content has no reports yet; the edge values fill every table
    assert all(csv_tables(client_packages["edge"]).values())
    for folder in client_packages.values():
        rows = csv_tables(folder)
        assert set(rows) == TABLES and rows["statements"], rows
        for name, count in rows.items():
            assert pq.read_metadata(folder / f"data/{name}.parquet").num_rows == count


@pytest.mark.parametrize("package", ["shipped", "edge"])
def test_frictionless_sql_export_loads_every_row(client_packages, package, tmp_path):
    from frictionless import Package

    folder = client_packages[package]
    target = tmp_path / "x.db"
    Package(str(folder / "datapackage.json")).publish(f"sqlite:///{target}")
    assert counts(target) == csv_tables(folder)


@pytest.mark.parametrize("package", ["shipped", "edge"])
def test_datapackage_to_datasette_loads_every_row(client_packages, package, tmp_path):
    folder = client_packages[package]
    tool = Path(sys.executable).with_name("datapackage-to-datasette")
    result = subprocess.run([tool, "x.db", str(folder / "datapackage.json"), "meta.json"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    expected = csv_tables(folder)
    assert counts(tmp_path / "x.db") == expected
    meta = json.loads((tmp_path / "meta.json").read_text(encoding="utf-8"))
    # it keys the metadata by the file name, which datasette (naming databases by the stem)
    # does not match: our own pledges.datasette.json is the one to serve with
    assert set(expected) <= set(meta["databases"]["x.db"]["tables"])


def test_the_edge_package_has_nulls_where_patterns_are(client_packages):
    con = duckdb.connect()
    data = client_packages["edge"] / "data"
    assert con.execute(f"select count(*) from '{data}/sections.parquet' "
                       "where number is null").fetchone()[0] > 0
    assert con.execute(f"select count(*) from '{data}/status_history.parquet' "
                       'where "commit" is null').fetchone()[0] > 0


def test_validate_still_checks_the_patterns(client_packages, tmp_path):
    folder = tmp_path / "dist"
    shutil.copytree(client_packages["shipped"], folder)
    descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    def patterned(schema_of):
        return {(r["name"], f["name"]) for r in descriptor["resources"]
                for f in schema_of(r)["fields"] if "pattern" in f.get("constraints", {})}

    # the descriptor states the patterns it has checked: in the Parquet files' schemas
    parquet = patterned(lambda r: r["parquet"]["schema"])
    assert {("sections", "number"), ("status_history", "commit")} <= parquet
    assert not {("sections", "number"), ("status_history", "commit")} & patterned(
        lambda r: r["schema"])
    target = folder / "data" / "sections.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * REPLACE ('2.x' AS number) FROM read_parquet('{target}')) "
                f"TO '{tmp_path}/x.parquet' (FORMAT parquet)")
    (tmp_path / "x.parquet").replace(target)
    problems = validate_package(folder, csv_rows=False).problems
    assert any(p.resource == "data/sections.parquet" and p.check == "pattern"
               and p.field == "number" and "'2.x'" in p.message for p in problems), \
        [(p.resource, p.check) for p in problems]
    assert any(p.resource == "sections" and p.check == "csv-parquet" for p in problems)
