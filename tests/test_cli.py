"""validate and query through the CLI, and the docs that must not rot."""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, to_earlier_shape
from pledgepack.check.validate import validate_package
from pledgepack.cli import cli


@pytest.fixture
def dist(content: Path, tmp_path: Path, run) -> Path:
    out = tmp_path / "dist"
    assert run("build", "--content", content, "--out", out).exit_code == 0
    return out


def test_validate_reports_a_valid_package(dist, run):
    result = run("validate", dist)
    assert result.exit_code == 0
    assert result.stdout.strip().endswith("valid (12 files, 6 tables, 11 rows)")


def test_validate_json_equals_the_library_report(dist, run):
    result = run("validate", dist, "--json")
    shown = json.loads(result.stdout)
    expected = validate_package(dist).to_dict()
    shown.pop("seconds"), expected.pop("seconds")
    assert shown == expected and shown["valid"] is True


def test_validate_finds_every_tampered_file(dist, run):
    path = dist / "data" / "statements.csv"
    path.write_text(path.read_text(encoding="utf-8").replace('"implemented"', '"done"'),
                    encoding="utf-8")
    (dist / "data" / "reports.parquet").write_bytes(b"not parquet")
    result = run("validate", dist, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    found = {(p["resource"], p["check"]) for p in report["problems"]}
    assert ("statements", "hash") in found and ("statements", "bytes") in found
    assert ("statements", "constraint-error") in found
    assert ("statements", "csv-parquet") in found
    assert ("data/reports.parquet", "hash") in found
    assert ("data/reports.parquet", "parquet") in found
    text = run("validate", dist)
    assert text.exit_code == 1
    assert len(text.stdout.strip().splitlines()) == len(report["problems"]) + 1
    assert "INVALID" in text.stdout


def test_validate_checks_parquet_against_the_schema(dist, run):
    import duckdb

    target = dist / "data" / "statements.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * REPLACE (CASE WHEN id = 'akte' THEN 'kaputt' ELSE status END "
                f"AS status) FROM read_parquet('{target}')) TO '{dist}/x.parquet' (FORMAT parquet)")
    (dist / "x.parquet").replace(target)
    problems = validate_package(dist).problems
    checks = {(p.resource, p.check) for p in problems}
    assert ("data/statements.parquet", "enum") in checks
    assert ("data/statements.parquet", "foreign-key") in checks
    enum = next(p for p in problems if p.check == "enum")
    assert "row 1: 'kaputt'" in enum.message


def test_validate_checks_the_parquet_facts_the_descriptor_states(dist):
    path = dist / "datapackage.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    by_name = {r["name"]: r for r in descriptor["resources"]}
    by_name["reports"]["parquet"]["bytes"] += 1
    by_name["sections"]["parquet"]["hash"] = "sha256:" + "0" * 64
    del by_name["statuses"]["parquet"]
    path.write_text(json.dumps(descriptor), encoding="utf-8")
    problems = validate_package(dist, csv_rows=False).problems
    assert {(p.resource, p.check) for p in problems} == {
        ("data/reports.parquet", "bytes"), ("data/sections.parquet", "hash"),
        ("statuses", "csv-parquet"),
        # the statuses' Parquet file is where the statuses the others reference are checked
        ("data/statements.parquet", "foreign-key"), ("data/status_history.parquet", "foreign-key")}
    assert next(p for p in problems if p.resource == "statuses").message == \
        "declares no Parquet file (property 'parquet')"


def test_validate_reads_a_package_in_the_earlier_shape(dist, run):
    import duckdb

    to_earlier_shape(dist)
    descriptor = json.loads((dist / "datapackage.json").read_text(encoding="utf-8"))
    assert len(descriptor["resources"]) == 12
    result = run("validate", dist)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("valid (12 files, 6 tables, 11 rows)")
    target = dist / "data" / "statements.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * REPLACE ('kaputt' AS status) FROM read_parquet('{target}')) "
                f"TO '{dist}/x.parquet' (FORMAT parquet)")
    (dist / "x.parquet").replace(target)
    checks = {(p.resource, p.check) for p in validate_package(dist, csv_rows=False).problems}
    assert {("data/statements.parquet", "enum"), ("data/statements.parquet", "foreign-key"),
            ("data/statements.parquet", "hash"), ("statements", "csv-parquet")} <= checks


def test_validate_without_a_package_says_so(tmp_path, run):
    result = run("validate", tmp_path)
    assert result.exit_code == 1
    assert "datapackage.json not found" in result.stdout


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_query_formats(dist, run, monkeypatch, fmt):
    sql = "select id, status, categories, deadline from statements order by id"
    result = run("query", sql, "--db", dist / "pledges.duckdb", "--format", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "json":
        assert json.loads(result.stdout) == [
            {"id": "akte", "status": "implemented", "categories": None, "deadline": "2025-12-31"},
            {"id": "portal", "status": "partially_implemented",
             "categories": ["Verwaltung", "Digitales"], "deadline": None}]
    elif fmt == "csv":
        assert list(csv.reader(io.StringIO(result.stdout))) == [
            ["id", "status", "categories", "deadline"], ["akte", "implemented", "", "2025-12-31"],
            ["portal", "partially_implemented", "Verwaltung;Digitales", ""]]
    else:
        lines = result.stdout.splitlines()
        assert re.split(r"\s*\|\s*", lines[0].strip()) == ["id", "status", "categories", "deadline"]
        assert "[Verwaltung, Digitales]" in lines[3] and lines[-1] == "(2 rows)"
    monkeypatch.chdir(dist.parent)
    assert run("query", "select count(*) as n from statements", "--format", "csv").stdout == "n\n2\n"


def test_query_errors_are_clean(dist, run, tmp_path, monkeypatch):
    result = run("query", "select nope from statements", "--db", dist / "pledges.duckdb")
    assert result.exit_code == 1 and "query failed" in result.stderr and "Traceback" not in result.output
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    monkeypatch.chdir(empty)
    result = run("query", "select 1")
    assert result.exit_code == 1 and "run 'pledgepack build' first" in result.stderr


def test_help_does_not_import_the_heavy_libraries():
    script = ("import sys; from pledgepack.cli import cli; "
              "print(sorted(m for m in ('pyarrow', 'duckdb', 'frictionless', 'yaml') "
              "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() == "[]"
    result = subprocess.run([str(Path(sys.executable).parent / "pledgepack"), "--help"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "build" in result.stdout


def test_every_command_has_help_and_is_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make build" in readme and "make test" in readme
    commands = []
    for name, command in cli.commands.items():
        commands.append((name, command))
        commands += [(f"{name} {sub}", c) for sub, c in getattr(command, "commands", {}).items()]
    for name, command in commands:
        assert command.help and command.help.strip(), name
        assert f"pledgepack {name}" in readme, name
        for param in command.params:
            if param.param_type_name == "option" and not param.hidden:
                assert param.help, f"{name} {param.opts}"
                assert param.opts[0] in readme, f"{name} {param.opts[0]} missing from README"


def test_progress_shows_on_a_terminal_and_not_in_ci(content, tmp_path, run, monkeypatch):
    import pledgepack.cli as cli_module

    monkeypatch.setenv("CI", "true")
    quiet = run("build", "--content", content, "--out", tmp_path / "a")
    assert quiet.exit_code == 0 and "\r" not in quiet.stderr
    monkeypatch.setattr(cli_module, "_interactive", lambda: True)
    shown = run("build", "--content", content, "--out", tmp_path / "b")
    assert shown.exit_code == 0
    assert "parse: 1/1" in shown.stderr and "validate: done" in shown.stderr
