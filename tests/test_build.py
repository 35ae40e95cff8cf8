"""The build end to end: shipped content, the package files, determinism, consumers' tools."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import CHAPTER, assert_csv_matches_parquet, chapter, make_document
from pledgepack.build import build
from pledgepack.schema import PackageSchema

SCHEMA = PackageSchema.load()
FIXTURES = Path(__file__).parent / "fixtures"
BIN = Path(sys.executable).parent


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def built(shipped: Path, tmp_path: Path, run) -> Path:
    out = tmp_path / "dist"
    result = run("build", "--content", shipped, "--out", out)
    assert result.exit_code == 0, result.output
    return out


SHIPPED_COUNTS = {"ae34-verwaltung-digitalisieren": 8, "behoerden-digitalisieren": 13,
                  "berlin-2021": 16, "bitkom-2020": 25, "bund-2021": 40}
SHIPPED_TOTAL = sum(SHIPPED_COUNTS.values())


def test_shipped_content_publishes_all_five_documents(shipped, tmp_path, run):
    out = tmp_path / "dist"
    result = run("build", "--content", shipped, "--out", out)
    assert result.exit_code == 0
    statements = pq.read_table(out / "data" / "statements.parquet").to_pylist()
    by_document = {}
    for row in statements:
        by_document.setdefault(row["document_id"], []).append(row)
    assert {k: len(v) for k, v in by_document.items()} == SHIPPED_COUNTS
    assert all(row["anchored"] for row in statements)
    bund = {row["id"]: row for row in by_document["bund-2021"]}
    assert bund["verschlüsselung"]["last_update"].isoformat() == "2021-11-30"
    assert bund["digitale-verwaltung"]["quote"] == "Die Verwaltung wird digitaler und konsequent bürgerorientiert"
    berlin = {row["id"]: row for row in by_document["berlin-2021"]}
    assert berlin["cdo"]["quote"].startswith("Die Koalition richtet einen „Chief Digital Officer“")
    assert "itdz-finanzierung" not in berlin
    chapter_file = f"{shipped}/berlin-2021/19-4-digitalisierung.md"
    no_source = ("warning: the document does not say where it comes from: the package says "
                 "'not stated' for its source")
    no_licence = "warning: the document states no licence: the package says 'not stated' for it"
    warnings = [line for line in result.stderr.splitlines() if not line.startswith("  hint:")]
    assert warnings == [
        f"{shipped}/ae34-verwaltung-digitalisieren/document.yaml: {no_source}",
        f"{shipped}/ae34-verwaltung-digitalisieren/document.yaml: {no_licence}",
        f"{shipped}/behoerden-digitalisieren/document.yaml: {no_source}",
        f"{shipped}/behoerden-digitalisieren/document.yaml: {no_licence}",
        f'{chapter_file}:113:62: warning: anchor "(itdz-finanzierung)" lacks "#"',
        f"{shipped}/bitkom-2020/document.yaml: {no_licence}",
        f"{shipped}/package.yaml: warning: package.yaml does not say: homepage",
        f"note: {shipped} is not in a git repository: status_history holds one snapshot row per "
        "statement"]
    assert ("  hint: write [text](#itdz-finanzierung) to mark the pledge, or give the link a full "
            "URL") in result.stderr.splitlines()
    documents = {d["document_id"]: d for d in pq.read_table(out / "data/documents.parquet").to_pylist()}
    assert documents["berlin-2021"]["jurisdiction"] == "DE-BE"
    assert documents["bitkom-2020"]["kind"] == "position_paper"
    assert f"{SHIPPED_TOTAL} statements" in result.stdout


def test_seed_003_as_the_tracker_has_it_gives_16_anchored_statements(tmp_path, run):
    """statements: [] and the pledges only as anchors: each anchor becomes a statement."""
    root = make_document(tmp_path / "content", name="berlin-2021", chapters={
        "19-4-digitalisierung.md": (FIXTURES / "seed-003-19-4-digitalisierung.md").read_text()})
    result = run("build", "--content", root, "--out", tmp_path / "dist")
    assert result.exit_code == 0
    rows = {r["id"]: r for r in pq.read_table(tmp_path / "dist/data/statements.parquet").to_pylist()}
    assert len(rows) == 16 and "itdz-finanzierung" not in rows
    assert rows["cdo"]["status"] == "not_implemented" and rows["cdo"]["last_update"] is None
    assert rows["cdo"]["summary"] == rows["cdo"]["quote"]
    assert rows["organisationseinheit"]["line"] == 8 and rows["nutzerverwaltung"]["position"] == 16
    assert result.stderr.count("has no front-matter entry") == 16
    assert '19-4-digitalisierung.md:49:62: warning: anchor "(itdz-finanzierung)" lacks "#"' in result.stderr


def test_anchor_text_spanning_lines_is_one_collapsed_quote(content, tmp_path):
    build(content, tmp_path / "dist")
    rows = {r["id"]: r for r in pq.read_table(tmp_path / "dist/data/statements.parquet").to_pylist()}
    assert rows["portal"]["quote"] == "ein Portal für alle Leistungen"
    assert rows["portal"]["line"] == 25 and rows["akte"]["line"] == 26
    assert rows["portal"]["categories"] == ["Verwaltung", "Digitales"]
    assert rows["akte"]["measure"] == "law" and rows["akte"]["responsible"] == "Innenministerium"
    reports = pq.read_table(tmp_path / "dist/data/reports.parquet").to_pylist()
    assert reports == [{"statement_id": "testland-2024/portal", "position": 1,
                        "title": "Portal gestartet", "url": "https://example.gov/portal"}]


def test_frictionless_validate_accepts_the_package(built):
    result = subprocess.run([str(BIN / "frictionless"), "validate", "--json",
                             str(built / "datapackage.json")], capture_output=True, text=True)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["valid"] is True, result.stdout[-2000:]
    assert [task["name"] for task in report["tasks"]] == SCHEMA.table_names
    assert not [task for task in report["tasks"] if task.get("warnings")]
    descriptor = json.loads((built / "datapackage.json").read_text())
    assert descriptor["$schema"] == "https://datapackage.org/profiles/2.0/datapackage.json"
    assert descriptor["licenses"][0]["name"] == "CC-BY-2.0"


def test_every_file_has_path_format_bytes_and_hash(built):
    import hashlib

    descriptor = json.loads((built / "datapackage.json").read_text())
    assert [r["name"] for r in descriptor["resources"]] == SCHEMA.table_names
    for resource in descriptor["resources"]:
        assert (resource["format"], resource["mediatype"]) == ("csv", "text/csv")
        assert (resource["parquet"]["format"], resource["parquet"]["mediatype"]) == (
            "parquet", "application/vnd.apache.parquet")
        assert resource["path"] == f"data/{resource['name']}.csv"
        assert resource["parquet"]["path"] == f"data/{resource['name']}.parquet"
        for entry in (resource, resource["parquet"]):
            path = built / entry["path"]
            assert entry["bytes"] == path.stat().st_size
            assert entry["hash"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("table", SCHEMA.table_names)
def test_parquet_is_typed_sorted_and_equal_to_csv(built, table):
    parquet = pq.read_table(built / "data" / f"{table}.parquet")
    fields = SCHEMA.fields(table)
    assert parquet.column_names == [f["name"] for f in fields]
    expected = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(),
                "boolean": pa.bool_(), "date": pa.date32(),
                "datetime": pa.timestamp("ms", tz="UTC"), "list": pa.list_(pa.string())}
    for f in fields:
        assert parquet.schema.field(f["name"]).type == expected[f["type"]], f["name"]
    rows = parquet.to_pylist()
    key = SCHEMA.primary_key(table)
    assert [tuple(r[k] for k in key) for r in rows] == sorted(tuple(r[k] for k in key) for r in rows)
    assert_csv_matches_parquet(built / "data" / f"{table}.csv", built / "data" / f"{table}.parquet",
                               fields)


def test_two_builds_are_byte_identical(shipped, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    build(shipped, tmp_path / "one")
    build(shipped, tmp_path / "two", jobs=1)
    one, two = files_of(tmp_path / "one"), files_of(tmp_path / "two")
    assert sorted(one) == [".pledgepack"] + ["data/" + f"{t}.{ext}" for t in sorted(SCHEMA.table_names)
                           for ext in ("csv", "parquet")] + ["datapackage.json", "pledges.duckdb",
                                                             "views.sql"]
    assert one == two
    assert json.loads(one["datapackage.json"])["created"] == "2023-11-14T22:13:20Z"


def database_digests(parquet: dict[str, Path], folder: Path, times: int) -> set[str]:
    """The sha256 of each of `times` database files written from the same Parquet files."""
    import hashlib

    from pledgepack.query.views import write_database

    digests = set()
    for n in range(times):
        (folder / f"db{n}").mkdir()
        digests.add(hashlib.sha256(
            write_database(SCHEMA, folder / f"db{n}", parquet).read_bytes()).hexdigest())
    return digests


def test_the_database_file_is_the_same_every_time(built, tmp_path):
    """Nondeterminism in the .duckdb file showed only now and then; build it several times."""
    parquet = {name: built / "data" / f"{name}.parquet" for name in SCHEMA.table_names}
    assert len(database_digests(parquet, tmp_path, 6)) == 1


def test_the_database_child_checks_as_validation_does(built, tmp_path):
    """The build's descriptor and Parquet checks run in its database's child: the same
    findings as `pledgepack validate` makes itself, bad rows and a bad descriptor included,
    and the same database beside them."""
    from pledgepack.check.validate import descriptor_findings, parquet_findings
    from pledgepack.package.descriptor import parquet_files
    from pledgepack.query.views import DatabaseWriter

    folder = tmp_path / "package"
    shutil.copytree(built, folder)
    (folder / "pledges.duckdb").unlink()
    path = folder / "data" / "statements.parquet"
    table = pq.read_table(path)
    status = table.column("status").to_pylist()
    status[0] = "vielleicht"  # not one of the statuses
    ids = table.column("statement_id").to_pylist()
    ids[2] = ids[1]  # a primary key twice
    table = table.set_column(table.schema.get_field_index("status"), "status",
                             pa.array(status, pa.string()))
    table = table.set_column(0, "statement_id", pa.array(ids, pa.string()))
    pq.write_table(table, path, compression="zstd")
    descriptor = json.loads((folder / "datapackage.json").read_text())
    declared = parquet_files(descriptor)
    parquet = {name: folder / p["path"] for name, p in declared.items()}
    descriptor["licenses"] = "CC0-1.0"  # the profile wants a list

    writer = DatabaseWriter(SCHEMA)
    writer.start(folder, parquet)
    found = writer.check(descriptor, folder, declared, parquet)
    written = writer.wait().read_bytes()
    assert found == json.loads(json.dumps({
        "descriptor": descriptor_findings(descriptor, folder),
        "parquet": parquet_findings(declared, parquet)}))
    assert [t for t, _ in found["descriptor"]] == ["package-error"], found["descriptor"]
    assert "'licenses'" in found["descriptor"][0][1]
    checks = {p["check"] for p in found["parquet"]["statements"]["problems"]}
    assert {"enum", "primary-key"} <= checks, found["parquet"]["statements"]
    assert (found["parquet"]["statements"]["rows"] is None
            and found["parquet"]["sections"]["rows"] > 0)
    alone = tmp_path / "alone"
    alone.mkdir()
    from pledgepack.query.views import write_database

    assert write_database(SCHEMA, alone, parquet).read_bytes() == written


def test_the_database_child_checks_without_starting_pyarrow(built, tmp_path, monkeypatch):
    """The child has no use for pyarrow (nor numpy behind it): its checks come from a module
    that imports neither, and starting them would cost the build's busiest moment about
    0.08 s of a core. Python's own import log, asked of the child through its environment,
    says what it imported. Nor does it import what the duckdb package puts around DuckDB's
    engine (check/sqlchecks.py's engine)."""
    from pledgepack.package.descriptor import parquet_files
    from pledgepack.query.views import DatabaseWriter

    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")
    folder = tmp_path / "package"
    shutil.copytree(built, folder)
    (folder / "pledges.duckdb").unlink()
    descriptor = json.loads((folder / "datapackage.json").read_text())
    declared = parquet_files(descriptor)
    parquet = {name: folder / p["path"] for name, p in declared.items()}
    writer = DatabaseWriter(SCHEMA)
    try:
        writer.start(folder, parquet)
        found = writer.check(descriptor, folder, declared, parquet)
        writer._proc.wait(timeout=60)
        writer._stderr.seek(0)
        log = writer._stderr.read().decode("utf-8", "replace")
    finally:
        writer.cancel()
    assert found["descriptor"] == [] and found["parquet"]["statements"]["rows"] > 0
    imported = {line.rsplit("|", 1)[1].strip() for line in log.splitlines()
                if line.startswith("import time:") and "|" in line}
    assert {"_duckdb", "frictionless", "pledgepack.check.findings"} <= imported
    assert not {"pyarrow", "numpy", "pandas"} & imported, sorted(imported)
    # nor the Python layer of the duckdb package, 50-120 ms: DuckDB's engine does the work
    assert "duckdb" not in imported, sorted(imported)


def test_the_database_is_the_same_whatever_order_the_tables_come_in(built, tmp_path):
    """The build hands each table to the database's child as its Parquet file is done, in
    whatever order the writing threads finish, and the child stores each as it comes: the
    file is the same bytes all the same. Two of the shipped tables are repeated until they
    are more than the five row groups of 122,880 rows that DuckDB would write out on its own
    while the table is made, in the order the tables come: so it did, and these orders gave
    different files. A table that never comes is an error, not a database without it."""
    import random

    from pledgepack.errors import PledgepackError
    from pledgepack.query.views import DatabaseWriter, write_database

    (tmp_path / "data").mkdir()
    rows = 5 * 122_880 + 1  # more than DuckDB buffers before it writes row groups out
    parquet = {}
    for name in SCHEMA.table_names:
        table = pq.read_table(built / "data" / f"{name}.parquet")
        if name in ("statements", "status_history"):
            table = pa.concat_tables([table] * (rows // table.num_rows + 1))
        parquet[name] = tmp_path / "data" / f"{name}.parquet"
        pq.write_table(table, parquet[name])
    assert pq.ParquetFile(parquet["statements"]).metadata.num_rows > rows
    (tmp_path / "in-order").mkdir()
    in_order = write_database(SCHEMA, tmp_path / "in-order", parquet).read_bytes()
    names = list(SCHEMA.table_names)
    orders = {"reversed": names[::-1],
              "largest first": sorted(names, key=lambda n: -parquet[n].stat().st_size),
              "shuffled": random.Random(7).sample(names, len(names))}
    for label, order in orders.items():
        (tmp_path / label).mkdir()
        writer = DatabaseWriter(SCHEMA)
        writer.begin(tmp_path / label)
        for name in order:
            writer.ready(name, parquet[name])
        assert writer.wait().read_bytes() == in_order, label
    con = duckdb.connect(str(tmp_path / "shuffled" / "pledges.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from statements").fetchone()[0] == \
            pq.ParquetFile(parquet["statements"]).metadata.num_rows
    finally:
        con.close()
    (tmp_path / "missing").mkdir()
    writer = DatabaseWriter(SCHEMA)
    writer.begin(tmp_path / "missing")
    for name in SCHEMA.table_names[:-1]:
        writer.ready(name, parquet[name])
    last = SCHEMA.table_names[-1]
    with pytest.raises(PledgepackError, match=f"the Parquet file of table {last} never came"):
        writer.wait()


def test_a_database_child_that_fails_its_checks_says_so(built, tmp_path):
    """A child that cannot check gives no findings: the build hears why, it does not hang."""
    from pledgepack.errors import PledgepackError
    from pledgepack.query.views import DatabaseWriter

    parquet = {name: built / "data" / f"{name}.parquet" for name in SCHEMA.table_names}
    out = tmp_path / "db"
    out.mkdir()
    writer = DatabaseWriter(SCHEMA)
    writer.start(out, parquet)
    with pytest.raises(PledgepackError, match="the checks beside the database failed: KeyError"):
        writer.check({"resources": []}, built, {"statements": {"schema": {"no": "fields"}}},
                     {"statements": parquet["statements"]})
    writer.cancel()


def at_scale(built: Path, folder: Path, rows: int = 60_000) -> dict[str, Path]:
    """The built package's Parquet files, with `rows` statements of long and short texts."""
    statements = pa.table({
        "statement_id": [f"doc-{i // 100}/vorhaben-{i}" for i in range(rows)],
        "document_id": [f"doc-{i // 100}" for i in range(rows)],
        "section_id": [f"doc-{i // 100}/kapitel-{i // 10}" for i in range(rows)],
        "id": [f"vorhaben-{i}" for i in range(rows)],
        "summary": [f"Vorhaben {i}: " + "Verwaltung digital " * (i % 7) for i in range(rows)],
        "quote": [None if i % 3 else f"Wir werden {i} umsetzen" for i in range(rows)],
        "status": [SCHEMA.statuses[i % 4] for i in range(rows)],
        "position": list(range(rows)), "anchored": [i % 5 > 0 for i in range(rows)],
        "reviewed": [i % 2 > 0 for i in range(rows)],
    })
    arrow = SCHEMA.arrow_schema("statements")
    statements = pa.table([statements.column(f.name) if f.name in statements.column_names
                           else pa.nulls(rows, f.type) for f in arrow], schema=arrow)
    parquet = {name: built / "data" / f"{name}.parquet" for name in SCHEMA.table_names}
    parquet["statements"] = folder / "statements.parquet"
    pq.write_table(statements, parquet["statements"])
    return parquet


def test_the_database_file_is_the_same_at_scale(built, tmp_path):
    """From about 40k rows on, DuckDB's blocks showed leftover memory; 60k statements here."""
    assert len(database_digests(at_scale(built, tmp_path), tmp_path, 3)) == 1


def test_the_database_file_is_the_same_from_reused_memory(built, tmp_path):
    """DuckDB 2.0.0 wrote the unused end of a storage block as its allocator handed it over:
    in one process, once the allocator held other strings, the same rows gave another file
    (each of four writes here a file of its own). The build's child relies on the pinned
    DuckDB zeroing it; this test writes the database in this process four times, each after
    other texts of other lengths were made and freed, and the tables in other orders."""
    import hashlib
    import random

    from pledgepack.check.sqlchecks import engine
    from pledgepack.query.views import _Arriving, connect_here, write_database_here

    parquet = at_scale(built, tmp_path)
    digests = set()
    for n in range(4):
        churn = engine().connect(":memory:")
        churn.execute(f"CREATE TABLE t AS SELECT repeat(md5(i::VARCHAR || '{n}'), (i % 97)::INT) "
                      f"AS s FROM range({20_000 + 5_000 * n}) r(i)")
        churn.execute("SELECT count(DISTINCT s), max(s) FROM t").fetchall()
        churn.close()
        arriving = _Arriving()  # the tables in the order the build hands them over
        order = list(SCHEMA.table_names)
        random.Random(n).shuffle(order)
        for name in order:
            arriving.add(name, parquet[name])
        arriving.end()
        path = tmp_path / f"db{n}.duckdb"
        write_database_here(SCHEMA, path, arriving, connect_here())
        digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(digests) == 1


class _Recording:
    """A connection that says what it is told to execute, and lets a test wait for a step."""

    def __init__(self, con, wait_for: str | None = None, count: int = 0):
        import threading

        self.con, self.statements = con, []
        self.wait_for, self.count, self.reached = wait_for, count, threading.Event()

    def execute(self, sql: str):
        result = self.con.execute(sql)
        self.statements.append(sql)
        if self.wait_for and sum(self.wait_for in s for s in self.statements) >= self.count:
            self.reached.set()
        return result

    def close(self) -> None:
        self.con.close()


def _stored(path: Path, table: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(f"SELECT * FROM data.{table} ORDER BY ALL").fetchall()
    finally:
        con.close()


def test_a_rebuild_copies_the_tables_it_takes_over_from_the_previous_database(built, tmp_path):
    """A rebuild's database child copies the last build's tables while it waits for the new
    ones (query/views.py's write_database_here): a table that comes as kept stays as copied,
    any other is dropped and stored from its new Parquet file. The file is the same bytes as
    one written from the files alone. Here the previous database's statements are others
    than the new Parquet file's, which only a copy can bring into the new file."""
    import threading

    from pledgepack.query.views import PRIOR, _Arriving, connect_here, write_database, \
        write_database_here

    (tmp_path / "previous").mkdir()
    scaled = at_scale(built, tmp_path)
    previous = write_database(SCHEMA, tmp_path / "previous", scaled)
    shipped = {name: built / "data" / f"{name}.parquet" for name in SCHEMA.table_names}
    kept = {"statements", "documents"}
    expected = {**shipped, **{name: scaled[name] for name in kept}}  # what the new file holds
    (tmp_path / "clean").mkdir()
    clean = write_database(SCHEMA, tmp_path / "clean", expected).read_bytes()

    arriving = _Arriving()
    con = _Recording(connect_here(), f"FROM {PRIOR}.", len(SCHEMA.table_names))
    path = tmp_path / "new.duckdb"
    failed = []
    writer = threading.Thread(target=lambda: failed.extend(
        [] if write_database_here(SCHEMA, path, arriving, con, previous) else [None]))
    writer.start()
    # every table copied before any file comes: then each that is not kept is dropped
    assert con.reached.wait(60), con.statements
    for name in SCHEMA.table_names:
        arriving.add(name, shipped[name], kept=name in kept)
    arriving.end()
    writer.join()
    assert not failed
    dropped = {s.split(".")[-1].strip('"') for s in con.statements if s.startswith("DROP")}
    assert dropped == set(SCHEMA.table_names) - kept
    (tmp_path / "shipped").mkdir()
    from_files = write_database(SCHEMA, tmp_path / "shipped", shipped)
    assert _stored(path, "statements") == _stored(previous, "statements") != \
        _stored(from_files, "statements")
    assert _stored(path, "sections") == _stored(from_files, "sections")
    assert path.read_bytes() == clean


@pytest.mark.parametrize("previous", ["not a database", "another database", "locked"])
def test_a_previous_database_that_cannot_serve_is_done_without(built, tmp_path, previous):
    """The previous database is only a shortcut: one that is not a database, lacks the
    tables, or is held by a writer (an analyst's `duckdb dist/pledges.duckdb`) gives the file
    the Parquet files alone give, with the tables copied from it or not."""
    from pledgepack.query.views import _Arriving, connect_here, write_database, \
        write_database_here

    parquet = {name: built / "data" / f"{name}.parquet" for name in SCHEMA.table_names}
    (tmp_path / "clean").mkdir()
    clean = write_database(SCHEMA, tmp_path / "clean", parquet).read_bytes()
    path = tmp_path / "previous.duckdb"
    holder = None
    if previous == "not a database":
        path.write_bytes(b"DUCK" * 5000)
    elif previous == "another database":
        other = duckdb.connect(str(path))
        other.execute("CREATE SCHEMA data")
        other.execute("CREATE TABLE data.documents AS SELECT 1 AS x")
        other.close()
    else:
        shutil.copyfile(tmp_path / "clean" / "pledges.duckdb", path)
        holder = duckdb.connect(str(path))  # read-write: it locks the file
    try:
        arriving = _Arriving()
        for name in SCHEMA.table_names:
            arriving.add(name, parquet[name], kept=previous == "another database"
                         and name == "statements")
        arriving.end()
        out = tmp_path / "new.duckdb"
        write_database_here(SCHEMA, out, arriving, connect_here(), path)
        assert out.read_bytes() == clean
    finally:
        if holder is not None:
            holder.close()


def test_created_comes_from_the_last_content_commit(content, tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    build(content, tmp_path / "plain")
    assert "created" not in json.loads((tmp_path / "plain/datapackage.json").read_text())
    env = {**os.environ, "GIT_AUTHOR_DATE": "2024-05-06T07:08:09Z",
           "GIT_COMMITTER_DATE": "2024-05-06T07:08:09Z", "GIT_AUTHOR_NAME": "Ed",
           "GIT_AUTHOR_EMAIL": "ed@example.org", "GIT_COMMITTER_NAME": "Ed",
           "GIT_COMMITTER_EMAIL": "ed@example.org"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "content"]):
        subprocess.run(["git", *args], cwd=content, env=env, check=True)
    build(content, tmp_path / "git")
    assert json.loads((tmp_path / "git/datapackage.json").read_text())["created"] == "2024-05-06T07:08:09Z"


def test_parallel_reading_gives_the_same_package(tmp_path, monkeypatch):
    import pledgepack.check.validate as validate_module
    import pledgepack.content.folder as content_module

    chapters = {f"{n}-kapitel.md": CHAPTER.replace("id: portal", f"id: portal-{n}")
                .replace("#portal", f"#portal-{n}").replace("id: akte", f"id: akte-{n}")
                .replace("#akte", f"#akte-{n}") for n in range(6)}
    root = make_document(tmp_path / "content", chapters=chapters)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    build(root, tmp_path / "serial", jobs=1)
    monkeypatch.setattr(content_module, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(validate_module, "PARALLEL_MIN_BYTES", 0)
    # A cache of its own, so that the workers parse every chapter rather than the cache of the
    # serial build answering; then once more from what the workers left in that cache.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-of-the-workers"))
    # The build's workers send their rows as Arrow tables (_parse_batches); other readers'
    # workers send whole results (_parse_all).
    sent = []
    for name in ("_parse_all", "_parse_batches"):
        real = getattr(content_module, name)
        monkeypatch.setattr(content_module, name,
                            lambda jobs_in, *args, real=real: sent.extend(jobs_in)
                            or real(jobs_in, *args))
    result = build(root, tmp_path / "parallel", jobs=2)
    assert result.counts["statements"] == 12
    assert len(sent) == 6
    assert files_of(tmp_path / "serial") == files_of(tmp_path / "parallel")
    sent.clear()
    build(root, tmp_path / "cached", jobs=2)
    assert sent == []
    assert files_of(tmp_path / "serial") == files_of(tmp_path / "cached")


def _numbered(n: int, text: str = CHAPTER) -> str:
    return (text.replace("id: portal", f"id: portal-{n}").replace("#portal", f"#portal-{n}")
            .replace("id: akte", f"id: akte-{n}").replace("#akte", f"#akte-{n}"))


def test_rows_the_workers_send_as_arrow_make_the_package_one_process_makes(tmp_path,
                                                                           monkeypatch):
    """The build's workers send each run of chapters' rows as Arrow tables: with unpublished
    chapters (left out, then taken in), history entries and reports among them, the package
    is the bytes one process makes of Python rows; an id used twice across two runs is the
    error one process reports, with both places."""
    import pledgepack.content.folder as content_module
    from pledgepack.errors import ContentError

    history = CHAPTER.replace(
        "    measure: law\n",
        "    measure: law\n    history:\n      - date: 2023-05-01\n"
        "        status: not_implemented\n        note: Anfang\n")
    assert history != CHAPTER
    chapters = {f"{n}-kapitel.md": _numbered(n, history if n % 3 == 0 else CHAPTER)
                for n in range(7)}
    for n in (2, 5):
        chapters[f"{n}-kapitel.md"] = chapters[f"{n}-kapitel.md"].replace(
            "published: true", "published: false")
    root = make_document(tmp_path / "content", chapters=chapters)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    original, original_whole = content_module._parse_batches, content_module._whole
    for flags in ({}, {"include_unpublished": True}):
        name = "-".join(flags) or "plain"
        monkeypatch.setattr(content_module, "PARALLEL_MIN_FILES", 64)
        serial = build(root, tmp_path / f"serial-{name}", jobs=1, **flags)
        monkeypatch.setattr(content_module, "PARALLEL_MIN_FILES", 1)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / f"cache-{name}"))
        runs, whole = [], []
        monkeypatch.setattr(content_module, "_parse_batches",
                            lambda todo, *args: runs.append(len(todo)) or original(todo, *args))
        # read whole again only where an id is given twice: not here
        monkeypatch.setattr(content_module, "_whole",
                            lambda result, *args: whole.append(result) or result)
        parallel = build(root, tmp_path / f"parallel-{name}", jobs=2, **flags)
        assert runs == [7], "the workers did not parse the chapters"
        assert whole == []
        assert parallel.counts == serial.counts
        assert parallel.counts["statements"] == (14 if flags else 10)
        assert files_of(tmp_path / f"serial-{name}") == files_of(tmp_path / f"parallel-{name}")
    # Two runs of one chapter each: chapter 0's id again in chapter 6.
    monkeypatch.setattr(content_module, "_whole", original_whole)
    [sixth] = root.rglob("6-kapitel.md")
    sixth.write_text(_numbered(0), encoding="utf-8")
    errors = []
    for jobs, minimum in ((1, 64), (2, 1)):
        monkeypatch.setattr(content_module, "PARALLEL_MIN_FILES", minimum)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / f"cache-duplicate-{jobs}"))
        with pytest.raises(ContentError) as caught:
            build(root, tmp_path / f"duplicate-{jobs}", jobs=jobs)
        errors.append([str(d) for d in caught.value.diagnostics])
    assert errors[0] == errors[1]
    assert any("duplicate id 'portal-0'" in e and "0-kapitel.md" in e and "6-kapitel.md" in e
               for e in errors[1]), errors[1]


def test_duckdb_answers_from_any_directory_and_after_a_copy(built, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    moved = tmp_path / "moved"
    shutil.copytree(built, moved)
    shutil.rmtree(built)
    con = duckdb.connect(str(moved / "pledges.duckdb"), read_only=True)
    assert con.execute("select count(*) from statements").fetchone() == (SHIPPED_TOTAL,)
    assert con.execute("select typeof(status) from statements limit 1").fetchone()[0].startswith("ENUM")
    shares = con.execute("select document_id, sum(share) from status_summary "
                         "where scope = 'document' group by 1 order by 1").fetchall()
    assert shares == [(document, 1.0) for document in sorted(SHIPPED_COUNTS)]
    detail = con.execute("select document_title, section_title from statement_details "
                         "where statement_id = 'bund-2021/glasfaser'").fetchone()
    assert detail[0].startswith("Mehr Fortschritt wagen") and detail[1].startswith("2.2 ")


def test_duckdb_14_reads_the_database(built, tmp_path):
    python = os.environ.get("PLEDGEPACK_DUCKDB14_PYTHON")
    assert python, ("set PLEDGEPACK_DUCKDB14_PYTHON to a Python with duckdb 1.4 installed; "
                    "'make test' does this")
    script = ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
              "print(duckdb.__version__, con.execute('select count(*) from statements').fetchone()[0], "
              "con.execute('select count(*) from status_summary').fetchone()[0])")
    result = subprocess.run([python, "-c", script, str(built / "pledges.duckdb")], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    version, count, summary = result.stdout.split()
    assert version.startswith("1.4.") and count == str(SHIPPED_TOTAL) and int(summary) > 0


def test_views_sql_runs_from_the_package_folder(built, monkeypatch):
    monkeypatch.chdir(built)
    con = duckdb.connect()
    con.execute((built / "views.sql").read_text())
    assert con.execute("select count(*) from statements").fetchone() == (SHIPPED_TOTAL,)
    assert con.execute("select count(*) from statuses").fetchone() == (4,)


def test_overdue_lists_missed_deadlines_that_are_not_implemented(tmp_path):
    root = make_document(tmp_path / "content", chapters={"1-kapitel.md": chapter(
        """\
        - id: alt
          status: not_implemented
          deadline: 2020-01-01
        - id: erledigt
          status: implemented
          deadline: 2020-01-01
        - id: spaeter
          status: partially_implemented
          deadline: 2999-01-01
        """, body="[Alt](#alt), [erledigt](#erledigt), [später](#spaeter).\n")})
    build(root, tmp_path / "dist")
    con = duckdb.connect(str(tmp_path / "dist/pledges.duckdb"), read_only=True)
    assert con.execute("select statement_id from overdue").fetchall() == [("testland-2024/alt",)]


def test_bare_chapters_folder_is_one_document(tmp_path, run):
    chapters = tmp_path / "tracker" / "_chapters"
    chapters.mkdir(parents=True)
    (chapters / "digitales.md").write_text(CHAPTER, encoding="utf-8")
    result = run("build", "--content", chapters, "--out", tmp_path / "a")
    assert result.exit_code == 0, result.output
    documents = pq.read_table(tmp_path / "a/data/documents.parquet").to_pylist()
    assert [(d["document_id"], d["title"]) for d in documents] == [("tracker", "tracker")]
    result = run("build", "--content", chapters, "--out", tmp_path / "b",
                 "--document-id", "ampel-2021", "--document-title", "Koalitionsvertrag 2021")
    assert result.exit_code == 0, result.output
    documents = pq.read_table(tmp_path / "b/data/documents.parquet").to_pylist()
    assert [(d["document_id"], d["title"]) for d in documents] == [("ampel-2021", "Koalitionsvertrag 2021")]
    ids = pq.read_table(tmp_path / "b/data/statements.parquet").column("statement_id").to_pylist()
    assert ids == ["ampel-2021/akte", "ampel-2021/portal"]


def test_unpublished_chapters_are_left_out_unless_asked(tmp_path, run):
    hidden = CHAPTER.replace("published: true", "published: false").replace("portal", "p2").replace("akte", "a2")
    root = make_document(tmp_path / "content", chapters={"1-offen.md": CHAPTER, "2-intern.md": hidden})
    assert run("build", "--content", root, "--out", tmp_path / "a").exit_code == 0
    sections = pq.read_table(tmp_path / "a/data/sections.parquet").to_pylist()
    assert [s["section_id"] for s in sections] == ["testland-2024/1-offen"]
    assert run("build", "--content", root, "--out", tmp_path / "b", "--include-unpublished").exit_code == 0
    sections = pq.read_table(tmp_path / "b/data/sections.parquet").to_pylist()
    assert [(s["section_id"], s["published"]) for s in sections] == [
        ("testland-2024/1-offen", True), ("testland-2024/2-intern", False)]
    assert pq.read_table(tmp_path / "b/data/statements.parquet").num_rows == 4


def test_ids_are_nfc_normalised(tmp_path):
    decomposed = "verschlu\u0308sselung"
    root = make_document(tmp_path / "content", chapters={"1-kapitel.md": chapter(
        f"- id: {decomposed}\n  status: not_implemented\n  summary: Recht\n",
        body="[Recht auf Verschlüsselung](#verschlüsselung)\n")})
    result = build(root, tmp_path / "dist")
    rows = pq.read_table(tmp_path / "dist/data/statements.parquet").to_pylist()
    assert [r["id"] for r in rows] == ["verschlüsselung"] and rows[0]["anchored"] is True
    assert result.warnings == []


def test_snapshot_history_has_one_row_per_statement(built):
    history = pq.read_table(built / "data/status_history.parquet").to_pylist()
    statements = pq.read_table(built / "data/statements.parquet").to_pylist()
    assert len(history) == len(statements)
    bund = next(h for h in history if h["statement_id"] == "bund-2021/glasfaser")
    assert (bund["seq"], bund["event"], bund["source"], bund["status"]) == (1, "snapshot", "snapshot", "not_implemented")
    assert (bund["effective_date"].isoformat(), bund["effective_date_source"]) == (
        "2021-11-30", "editor")
    assert bund["recorded_at"] is None
    assert all(h["effective_date_source"] is None for h in history
               if h["effective_date"] is None)


def test_a_failed_database_write_names_the_output_and_keeps_it(content, tmp_path, run,
                                                               monkeypatch):
    """The .duckdb file is written last, in a child process; when that fails the message names
    --out, not the temporary folder the new package was built in, and --out stays as it was."""
    import pledgepack.build as build_module
    from pledgepack.errors import PledgepackError

    out = tmp_path / "dist"
    assert run("build", "--content", content, "--out", out).exit_code == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    class Failing:
        def __init__(self, schema, warm=True):
            self.folder = self.path = None

        def begin(self, folder, previous=None):
            self.folder, self.path = folder, folder / "pledges.duckdb"

        def ready(self, name, parquet):
            pass

        kept = ready

        def stop_copies(self):
            pass

        def check(self, descriptor, folder, declared, parquet, skip=(), keys_only=(),
                  descriptor_check=True, spans=None):
            from pledgepack.check.validate import descriptor_findings, parquet_findings

            found = {"parquet": parquet_findings(declared, parquet, skip, keys_only, spans)}
            if descriptor_check:
                found["descriptor"] = descriptor_findings(descriptor, folder)
            return found

        def wait(self):
            raise PledgepackError(f"{self.folder / 'pledges.duckdb'}: writing the database "
                                  "failed: IO Error: No space left on device")

        def cancel(self):
            pass

    monkeypatch.setattr(build_module, "DatabaseWriter", Failing)
    # An edit, so that the build has a new package to write (an unchanged one is up to date).
    chapter = next(content.rglob("*.md"))
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\nMehr Text.\n", encoding="utf-8")
    result = run("build", "--content", content, "--out", out)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{out / 'pledges.duckdb'}: writing the database failed" in result.stderr
    assert ".tmp" not in result.stderr and "pledgepack-" not in result.stderr
    assert f"({out} left as it was)" in result.stderr
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the repository another owner")
def test_a_repository_of_another_owner_builds_and_says_why_without_history(tmp_path, run):
    """git refuses a repository owned by another user ("dubious ownership"): the build still
    builds, and says that git refused, not that there is no repository."""
    from conftest import make_repo

    repo = make_repo(tmp_path)
    content = make_document(repo.path / "content")
    repo.commit({}, when="2024-02-01T10:00:00+00:00")
    subprocess.run(["chown", "-R", "65534:65534", str(repo.path)], check=True)
    out = tmp_path / "dist"
    result = run("build", "--content", content, "--out", out)
    assert result.exit_code == 0, result.output
    assert "git refuses to read its repository" in result.stderr
    assert "safe.directory" in result.stderr
    assert "is not in a git repository" not in result.stderr
    sources = set(pq.read_table(out / "data/status_history.parquet").column("source").to_pylist())
    assert sources <= {"snapshot", "front_matter"}


def test_a_phase_inside_another_counts_for_itself_only():
    import time

    from pledgepack.build import _Phases

    phases = _Phases(None)
    started = time.perf_counter()
    phases.run("parse", lambda: (time.sleep(0.05), phases.run("history", time.sleep, 0.1)))
    total = time.perf_counter() - started
    assert phases.timings["history"] >= 0.1
    assert 0.05 <= phases.timings["parse"] < 0.1
    assert abs(sum(phases.timings.values()) - total) < 0.01


def test_the_database_child_started_early_is_ended_when_the_build_fails(tmp_path, monkeypatch):
    """The child that writes the database starts before the tables are built; a build that
    fails before handing it the Parquet files must not leave it waiting for them."""
    import pledgepack.package.tables as tables_module  # the build imports it once it has work

    def children() -> list[int]:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                command = (stat.parent / "cmdline").read_bytes()
            except OSError:
                continue
            if int(fields[1]) == os.getpid() and b"pledgepack.query.views" in command \
                    and fields[0] != "Z":
                found.append(int(stat.parent.name))
        return found

    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to list the build's children")
    content = make_document(tmp_path / "content")
    started = []

    def failing_tables(*args, ready, **kwargs):
        started.extend(children())
        ready("documents", pa.table({"document_id": ["a"] * 100_000}), None)  # one being written
        raise RuntimeError("tables failed")

    monkeypatch.setattr(tables_module, "build_tables", failing_tables)
    with pytest.raises(RuntimeError, match="tables failed"):
        build(content, tmp_path / "out", git_history=False)
    assert started, "the database child was not running while the tables were built"
    assert children() == []
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["content"]  # no temporary folder


def test_the_builds_own_check_trusts_only_the_hashes_it_just_took(tmp_path):
    """Inside the build the files are not hashed a second time; sizes, places and the form
    of each hash are still checked, and a package checked on its own is hashed again."""
    from pledgepack.check.validate import validate_package

    out = tmp_path / "out"
    build(make_document(tmp_path / "content"), out, git_history=False)
    parquet = out / "data" / "statements.parquet"
    data = bytearray(parquet.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    parquet.write_bytes(bytes(data))
    assert {p.check for p in validate_package(out, csv_rows=False).problems} >= {"hash"}
    assert "hash" not in {p.check for p in
                          validate_package(out, csv_rows=False, rehash=False).problems}
    descriptor = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    csv = next(r for r in descriptor["resources"] if r["name"] == "documents")
    csv["bytes"] += 1
    csv["hash"] = "sha256:short"
    (out / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    found = validate_package(out, csv_rows=False, rehash=False).problems
    assert {(p.check, p.resource) for p in found} >= {("bytes", "documents"),
                                                     ("hash", "documents")}


def test_the_build_command_spares_pandas_and_leaves_it_usable(content, tmp_path):
    """pyarrow would import pandas at the build's first conversion of Python values (0.3-0.4
    s, where pandas is installed): `pledgepack build` has it go without, and pandas, imported
    after in the same process, still works with pyarrow both ways."""
    if importlib.util.find_spec("pandas") is None:
        pytest.skip("pandas is not installed (pip install pandas): there is nothing to spare")
    script = textwrap.dedent("""
        import sys
        from pledgepack.cli import main
        content, out = sys.argv[1:3]
        sys.argv = ["pledgepack", "build", "--content", content, "--out", out]
        try:
            main()
        except SystemExit as exc:
            assert exc.code in (0, None), exc.code
        assert "pandas" not in sys.modules, "the build imported pandas"
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq
        frame = pq.ParquetFile(out + "/data/statements.parquet").read().to_pandas()
        assert isinstance(frame, pd.DataFrame) and len(frame) > 0
        assert pa.Table.from_pandas(frame, preserve_index=False).num_rows == len(frame)
        print(pa.array(pd.Series([1, None], dtype="Int64")).to_pylist())
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(content), str(tmp_path / "dist")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[1, None]"


def _without_blas_setting() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}


def _threads_after_pyarrow(quiet: bool) -> int:
    """The threads of a fresh process that imported pyarrow (and with it numpy), after
    workers.quiet_blas where `quiet`."""
    script = textwrap.dedent(f"""
        import os
        if {quiet!r}:
            from pledgepack.workers import quiet_blas
            quiet_blas()
        import pyarrow
        print(len(os.listdir("/proc/self/task")))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=_without_blas_setting(), check=True)
    return int(proc.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2,
                    reason="counts threads in /proc, which OpenBLAS starts only on several "
                           "cores: Linux with two cores or more")
def test_the_command_and_the_database_child_start_no_blas_threads(monkeypatch):
    """numpy, which pyarrow imports, would start OpenBLAS's threads, which spin for about 0.1
    s of CPU in each process: the command line and the database's child ask for none, unless
    the user set how many."""
    loud, quiet = _threads_after_pyarrow(False), _threads_after_pyarrow(True)
    assert quiet < loud, f"{quiet} threads with quiet_blas, {loud} without"
    script = textwrap.dedent("""
        import os, sys
        from pledgepack.cli import main
        sys.argv = ["pledgepack", "--version"]
        try:
            main()
        except SystemExit:
            pass
        print(os.environ.get("OPENBLAS_NUM_THREADS"))
    """)
    env = _without_blas_setting()
    for given, expected in ((None, "1"), ("2", "2")):
        if given:
            env["OPENBLAS_NUM_THREADS"] = given
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env=env, check=True)
        assert proc.stdout.strip().splitlines()[-1] == expected
    from pledgepack.query.views import DatabaseWriter

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    writer = DatabaseWriter(PackageSchema.load(None))
    try:
        # Until the child has called exec, its environment reads as empty: read it again then.
        deadline = time.monotonic() + 10
        while True:
            environ = Path(f"/proc/{writer._proc.pid}/environ").read_bytes().split(b"\0")
            if environ != [b""] or time.monotonic() > deadline:
                break
            time.sleep(0.01)
    finally:
        writer.cancel()
    assert b"OPENBLAS_NUM_THREADS=1" in environ


def _backends_of_a_command(content: Path, out: Path, given: str | None) -> list[str]:
    """Arrow's memory pool in a `pledgepack build` process, once it built `out`, and in a
    worker of its fork server (the parse's), with ARROW_DEFAULT_MEMORY_POOL set to `given`."""
    script = textwrap.dedent("""
        import sys
        from concurrent.futures import ProcessPoolExecutor
        import pyarrow as pa
        from pledgepack.cli import main
        from pledgepack.workers import context, start_quiet_worker
        content, out = sys.argv[1:3]
        sys.argv = ["pledgepack", "build", "--content", content, "--out", out]
        try:
            main()
        except SystemExit as exc:
            assert exc.code in (0, None), exc.code
        with ProcessPoolExecutor(1, mp_context=context(),
                                 initializer=start_quiet_worker) as pool:
            worker = pool.submit(
                eval, "__import__('pyarrow').default_memory_pool().backend_name").result()
        print(pa.default_memory_pool().backend_name, worker)
    """)
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    env["SOURCE_DATE_EPOCH"] = "1700000000"
    if given:
        env["ARROW_DEFAULT_MEMORY_POOL"] = given
    proc = subprocess.run([sys.executable, "-c", script, str(content), str(out)],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Unsupported backend" not in proc.stderr, proc.stderr
    return proc.stdout.splitlines()[-1].split()


def test_the_command_and_its_workers_allocate_from_jemalloc_unless_told_otherwise(
        shipped, tmp_path):
    """mimalloc, pyarrow's default, gives freed pages back and faults them in again as the
    next table is made: the command line and its parse workers allocate from jemalloc where
    this pyarrow has it, and a pool the user named is kept. The files come out the same."""
    import pyarrow as pa

    default = subprocess.run(
        [sys.executable, "-c", "import pyarrow as pa; print(pa.default_memory_pool()"
                               ".backend_name)"], capture_output=True, text=True, check=True,
        env={k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    ).stdout.strip()
    chosen = "jemalloc" if "jemalloc" in pa.supported_memory_backends() else default
    assert _backends_of_a_command(shipped, tmp_path / "a", None) == [chosen, chosen]
    assert _backends_of_a_command(shipped, tmp_path / "b", "system") == ["system", "system"]
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")
