"""Every SQL example of the README and of a release's data README runs against the shipped
package with DuckDB 2.x (the Python API), DuckDB 1.4 and the `duckdb` command line, and returns
rows."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import REPO

DUCKDB14 = """\
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
print(duckdb.__version__)
for sql in json.load(sys.stdin):
    print(len(con.execute(sql).fetchall()))
"""


def sql_examples(markdown: str) -> list[str]:
    """The statements of every ```sql block, comments dropped, without the final ';'."""
    found = []
    for block in re.findall(r"^```sql\n(.*?)^```", markdown, re.S | re.M):
        lines = [line for line in block.splitlines() if not line.strip().startswith("--")]
        for statement in re.split(r";\s*(?:\n|$)", "\n".join(lines)):
            if statement.strip():
                found.append(statement.strip())
    return found


def test_sql_examples_are_found():
    text = "```sql\n-- a\nselect 1;\nselect 2\nfrom t;\n```\n```sh\nx;\n```\n"
    assert sql_examples(text) == ["select 1", "select 2\nfrom t"]


@pytest.fixture(scope="module")
def examples(shipped_release) -> list[str]:
    found = sql_examples((REPO / "README.md").read_text(encoding="utf-8"))
    found += sql_examples((shipped_release / "README.md").read_text(encoding="utf-8"))
    assert len(found) >= 7
    assert not [s for s in found if s.startswith(".")], "dot commands run in the CLI only"
    return found


def test_with_duckdb_2(shipped_release, examples, monkeypatch):
    monkeypatch.chdir(shipped_release)
    con = duckdb.connect("pledges.duckdb", read_only=True)
    assert duckdb.__version__.startswith("2.")
    for sql in examples:
        assert con.execute(sql).fetchall(), sql


def test_with_duckdb_1_4(shipped_release, examples):
    python = os.environ.get("PLEDGEPACK_DUCKDB14_PYTHON")
    assert python, ("set PLEDGEPACK_DUCKDB14_PYTHON to a Python with duckdb 1.4 installed; "
                    "'make test' does this")
    result = subprocess.run([python, "-c", DUCKDB14, "pledges.duckdb"], cwd=shipped_release,
                            input=json.dumps(examples), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    version, *counts = result.stdout.split()
    assert version.startswith("1.4.")
    for sql, rows in zip(examples, counts, strict=True):
        assert int(rows) > 0, sql


def test_with_the_duckdb_command_line(shipped_release, examples):
    cli = Path(sys.executable).with_name("duckdb")
    version = subprocess.run([cli, "--version"], capture_output=True, text=True).stdout
    assert version.startswith("v1.")
    for sql in examples:
        result = subprocess.run([cli, "-readonly", "-json", "pledges.duckdb", "-c", sql],
                                cwd=shipped_release, capture_output=True, text=True)
        assert result.returncode == 0 and not result.stderr, (sql, result.stderr)
        assert json.loads(result.stdout or "[]"), sql
