"""pledges.sqlite and its datasette metadata: every row round-trips with its type, the keys
are declared, and datasette serves it with titles, licence, facets and search."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import export_file
from pledgepack.exports.files import write_exports


@pytest.fixture(scope="module")
def exported(client_packages, tmp_path_factory) -> dict[str, Path]:
    folders = {}
    for name, package in client_packages.items():
        folder = tmp_path_factory.mktemp(f"export-{name}") / "dist"
        shutil.copytree(package, folder)
        assert write_exports(folder) == sorted(
            export_file(folder, kind).name for kind in ("sqlite", "datasette", "xlsx"))
        folders[name] = folder
    return folders


def tables_of(folder: Path) -> list[dict]:
    descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    return [r for r in descriptor["resources"] if r["type"] == "table"]


def decode(value, kind: str):
    """A SQLite value back to what pyarrow reads from the Parquet file."""
    if value is None:
        return None
    if kind == "list":
        return json.loads(value)
    if kind == "boolean":
        assert value in (0, 1)
        return bool(value)
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "datetime":
        assert value.endswith("Z")
        return dt.datetime.fromisoformat(value[:-1]).replace(tzinfo=dt.timezone.utc)
    return value


@pytest.mark.parametrize("package", ["shipped", "edge"])
def test_every_row_round_trips_with_its_type(exported, package):
    folder = exported[package]
    con = sqlite3.connect(export_file(folder, "sqlite"))
    for resource in tables_of(folder):
        fields = resource["schema"]["fields"]
        names = ", ".join(f'"{f["name"]}"' for f in fields)
        stored = con.execute(f'select {names} from "{resource["name"]}" order by rowid').fetchall()
        expected = pq.read_table(folder / f"data/{resource['name']}.parquet").to_pylist()
        assert len(stored) == len(expected), resource["name"]
        for row, want in zip(stored, expected):
            got = {f["name"]: decode(v, f["type"]) for f, v in zip(fields, row)}
            if "datetime" in {f["type"] for f in fields}:
                want = {k: v.astimezone(dt.timezone.utc).replace(microsecond=0)
                        if isinstance(v, dt.datetime) else v for k, v in want.items()}
            assert got == want, resource["name"]


def test_keys_and_types_are_declared(exported):
    folder = exported["edge"]
    con = sqlite3.connect(export_file(folder, "sqlite"))
    for resource in tables_of(folder):
        schema, name = resource["schema"], resource["name"]
        info = {row[1]: row for row in con.execute(f'pragma table_info("{name}")')}
        pk = [c for c, row in sorted(info.items(), key=lambda item: item[1][5]) if row[5]]
        assert pk == schema["primaryKey"], name
        for field in schema["fields"]:
            declared = info[field["name"]][2]
            assert declared == {"integer": "INTEGER", "number": "REAL",
                                "boolean": "INTEGER"}.get(field["type"], "TEXT"), field
            assert bool(info[field["name"]][3]) == bool(
                field.get("constraints", {}).get("required")), field
        keys = {(row[3], row[2], row[4]) for row in con.execute(f'pragma foreign_key_list("{name}")')}
        wanted = {(local, fk["reference"]["resource"], remote)
                  for fk in schema.get("foreignKeys", [])
                  for local, remote in zip(fk["fields"], fk["reference"]["fields"])}
        assert keys == wanted, name
    assert con.execute("pragma foreign_key_check").fetchall() == []
    con.execute("pragma foreign_keys = on")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        con.execute("insert into reports (statement_id, position, url) values ('nope', 1, 'x')")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        con.execute("update statements set measure = 'bogus'")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        con.execute("update reports set position = 0")


def test_full_text_search_finds_umlauts(exported):
    con = sqlite3.connect(export_file(exported["edge"], "sqlite"))
    found = con.execute("select statement_id from statements where rowid in "
                        "(select rowid from statements_fts where statements_fts match ?)",
                        ["Fußgänger"]).fetchall()
    assert found == [("edge-2024/straße",)]


def test_same_package_same_bytes(exported, tmp_path):
    again = tmp_path / "again"
    shutil.copytree(exported["shipped"], again)
    time.sleep(1.1)
    write_exports(again)
    for name in ("pledges.sqlite", "pledges.xlsx", "pledges.datasette.json"):
        assert (again / name).read_bytes() == (exported["shipped"] / name).read_bytes(), name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8")


@pytest.fixture(scope="module")
def datasette(exported):
    folder = exported["shipped"]
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("datasette")), "serve", "pledges.sqlite",
         "-m", "pledges.datasette.json", "-h", "127.0.0.1", "-p", str(port)],
        cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                fetch(base + "/-/versions.json")
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                time.sleep(0.1)
        yield base, folder
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()


def test_datasette_serves_the_tables_with_counts_and_a_facet(datasette):
    base, folder = datasette
    statements = pq.read_table(folder / "data/statements.parquet").to_pylist()
    data = json.loads(fetch(f"{base}/pledges/statements.json?_facet=status&_size=max"))
    assert data["filtered_table_rows_count"] == len(statements)
    assert len(data["rows"]) == len(statements)
    facet = {item["value"]: item["count"] for item in data["facet_results"]["status"]["results"]}
    assert facet == Counter(s["status"] for s in statements)
    page = fetch(f"{base}/pledges/statements")
    assert f"{len(statements)} rows" in page
    assert "Statements" in page and "Creative Commons Attribution 2.0 Generic" in page
    assert "Partially implemented" in page or "Not implemented" in page  # the status labels
    for resource in tables_of(folder):
        rows = pq.read_metadata(folder / f"data/{resource['name']}.parquet").num_rows
        table = json.loads(fetch(f"{base}/pledges/{resource['name']}.json?_size=0"))
        assert table["filtered_table_rows_count"] == rows, resource["name"]


def test_datasette_shows_column_descriptions_and_searches(datasette):
    base, folder = datasette
    meta = json.loads(fetch(f"{base}/-/metadata.json"))
    tables = meta["databases"]["pledges"]["tables"]
    assert tables["statements"]["columns"]["last_update"].startswith(
        "When the editors last reviewed")
    word = pq.read_table(folder / "data/statements.parquet").column("summary")[0].as_py().split()[0]
    found = json.loads(fetch(f"{base}/pledges/statements.json?_search={urllib.parse.quote(word)}"))
    assert found["filtered_table_rows_count"] >= 1
