"""`pledgepack query` cannot write files, attach databases or read other files unless asked."""
from __future__ import annotations

import duckdb
import pytest


@pytest.fixture
def db(run, content, tmp_path):
    out = tmp_path / "dist"
    assert run("build", "--content", content, "--out", out, "--no-git-history").exit_code == 0
    return next(out.glob("*.duckdb"))


@pytest.mark.parametrize("sql, made", [
    ("COPY (SELECT * FROM statements) TO '{target}/leak.csv'", "leak.csv"),
    ("ATTACH '{target}/other.duckdb' AS other", None),
    ("COPY statements TO '{target}/leak.parquet' (FORMAT parquet)", "leak.parquet"),
    ("SELECT * FROM read_csv('{secret}')", None),
    ("SELECT * FROM read_text('{secret}')", None),
    ("SELECT * FROM glob('{target}/*')", None),
    ("SET enable_external_access = true", None),
    ("LOAD httpfs", None),
])
def test_external_access_is_off_by_default(run, db, tmp_path, sql, made):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n", encoding="utf-8")
    target = tmp_path / "target"
    target.mkdir()
    query = sql.format(target=target, secret=secret)
    result = run("query", query, "--db", db)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Error: query failed: ")
    assert "disabled" in result.stderr or "Cannot enable external access" in result.stderr
    assert list(target.iterdir()) == []
    if made:
        allowed = run("query", query, "--db", db, "--allow-external-access")
        assert allowed.exit_code == 0, allowed.output
        assert (target / made).is_file()


def test_the_package_is_still_queried(run, db):
    result = run("query", "select id from statements order by id", "--db", db, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout == "id\nakte\nportal\n"
    history = run("history", "testland-2024/portal", "--db", db)
    assert history.exit_code == 0, history.output


def test_the_database_file_is_not_changed(run, db):
    before = db.read_bytes()
    result = run("query", "CREATE TABLE t AS SELECT 1", "--db", db)
    assert result.exit_code == 1
    assert db.read_bytes() == before
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from statements").fetchone() == (2,)
    con.close()
