"""check/proven.py: a rebuild checks one row at a time only the rows it does not share, at the
start and end of each table, with the last build's; the whole-table checks still read all."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from conftest import make_document
from pledgepack.build import build
from pledgepack.check import proven
from pledgepack.check.proven import LastRows, common_rows
from pledgepack.check.sqlchecks import check_parquet
from pledgepack.check.tabular import csv_difference
from pledgepack.check.validate import validate_package
from pledgepack.errors import PackageInvalid
from pledgepack.package import writers
from pledgepack.package.writers import write_csv
from pledgepack.schema import PackageSchema


@pytest.fixture(autouse=True)
def _cache_of_this_test(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # the tables here are small: their rows are proven all the same (MIN_CSV_BYTES is tried
    # on its own below)
    monkeypatch.setattr(proven, "MIN_CSV_BYTES", 0)


def table(ids: list, texts: list | None = None) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.string()),
                     "text": pa.array(texts if texts is not None else [f"t{i}" for i in ids],
                                      pa.string())})


@pytest.mark.parametrize("old, new, expected", [
    (list(range(10)), list(range(10)), (10, 0)),
    (list(range(10)), [0, 1, 2, 99, 4, 5, 6, 7, 8, 9], (3, 6)),
    (list(range(10)), [99] + list(range(1, 10)), (0, 9)),
    (list(range(10)), list(range(9)) + [99], (9, 0)),
    (list(range(10)), [0, 1, 2, 50, 51, 3, 4, 5, 6, 7, 8, 9], (3, 7)),  # two rows put in
    (list(range(10)), [0, 1, 2, 6, 7, 8, 9], (3, 4)),  # three taken out
    (list(range(10)), [], (0, 0)),
    ([], list(range(3)), (0, 0)),
    (list(range(3)), list(range(3)) * 2, (3, 0)),  # head and tail never overlap
])
def test_common_rows_finds_the_shared_start_and_end(old, new, expected):
    old_table, new_table = table([str(v) for v in old]), table([str(v) for v in new])
    assert common_rows(new_table, old_table) == expected


def test_common_rows_compares_every_column_nulls_included_across_blocks_and_chunks(monkeypatch):
    monkeypatch.setattr(proven, "BLOCK", 7)  # several blocks, and a search inside one
    ids = [str(i) for i in range(100)]
    texts = [None if i % 5 == 0 else f"t{i}" for i in range(100)]
    old = table(ids, texts)
    changed = list(texts)
    changed[40] = "anders"
    new = pa.concat_tables([table(ids[:33], changed[:33]), table(ids[33:], changed[33:])])
    assert new.column("id").num_chunks == 2
    assert common_rows(new, old) == (40, 59)
    changed[40], changed[70] = None, "t70"  # row 40 missing again; a value for row 70's null
    assert common_rows(table(ids, changed), old) == (70, 29)
    assert common_rows(table(ids, texts), old) == (100, 0)
    other = pa.table({"id": pa.array(ids), "text": pa.array(range(100))})  # another type
    assert common_rows(other, old) == (0, 0)


def test_a_csv_written_in_pieces_is_the_same_bytes_and_its_cut_is_between_rows(tmp_path):
    tricky = pa.table({
        "id": ["a", "b", "c", "d", "e"],
        "text": ['zwei\nZeilen', 'mit "Anführung"', "", None, "Komma, und ;"],
        "n": pa.array([1, None, 3, -4, 5], pa.int64()),
        "tags": pa.array([["x", "y"], [], None, ["z"], ["ü"]], pa.list_(pa.string())),
        "when": pa.array([dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone.utc)] * 5,
                         pa.timestamp("ms", tz="UTC")),
    })
    whole, cut = tmp_path / "whole.csv", tmp_path / "cut.csv"
    assert write_csv(tricky, whole) is None
    header = whole.read_bytes()[:whole.read_bytes().index(b"\n") + 1]
    for edge in ((0, 2), (3, 5), (0, 5), (2, 2)):  # nothing before, nothing after, both, none
        begin, end = write_csv(tricky, cut, edge)
        assert cut.read_bytes() == whole.read_bytes()
        assert (begin == len(header)) == (edge[0] == 0)
        assert (end == len(whole.read_bytes())) == (edge[1] == 5)
        assert (begin == end) == (edge[0] == edge[1])
    begin, end = write_csv(tricky, cut, (1, 3))
    data = cut.read_bytes()
    assert data == whole.read_bytes()
    middle = pacsv.read_csv(pa.BufferReader(pa.py_buffer(header + data[begin:end])),
                            parse_options=pacsv.ParseOptions(newlines_in_values=True))
    assert middle.column("id").to_pylist() == ["b", "c"]
    assert pacsv.read_csv(pa.BufferReader(pa.py_buffer(header + data[end:])))\
        .column("id").to_pylist() == ["d", "e"]


def test_the_rows_checked_alone_are_compared_and_named_by_their_place(tmp_path):
    schema = PackageSchema.load()
    statements = _statements(tmp_path)
    path = tmp_path / "s.csv"
    begin, end = write_csv(statements, path, (1, 2))
    declared = schema.table_schema("statements")
    assert csv_difference(path, statements, declared, (1, 2, begin, end)) is None
    summaries = statements.column("summary").to_pylist()
    index = statements.schema.get_field_index("summary")
    other = statements.set_column(index, "summary", pa.array(["x", "y", "z"]))
    assert csv_difference(path, other, declared, (1, 2, begin, end)) == (
        f"row 2, column summary: {summaries[1]!r} in CSV, 'y' in Parquet")
    # rows outside the part are not read back
    assert csv_difference(path, other.set_column(index, "summary", pa.array(
        ["x", summaries[1], "z"])), declared, (1, 2, begin, end)) is None
    assert csv_difference(path, other, declared) == (
        f"row 1, column summary: {summaries[0]!r} in CSV, 'x' in Parquet")


def _statements(tmp_path: Path) -> pa.Table:
    content = make_document(tmp_path / "content")
    result = build(content, tmp_path / "dist")
    first = pq.ParquetFile(Path(result.report.folder) / "data" / "statements.parquet").read()
    return pa.concat_tables([first, first.slice(0, 1)])  # three rows


def test_the_checks_of_one_row_look_at_the_rows_given_and_the_whole_table_checks_at_all(
        tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "b", "d"], "n": [1, -5, 2, -7]}), path)
    schema = {"fields": [{"name": "id", "type": "string",
                          "constraints": {"required": True, "unique": True}},
                         {"name": "n", "type": "integer", "constraints": {"minimum": 0}}]}
    con = duckdb.connect()
    everything = check_parquet(con, "t", path, schema, {"t": path})
    assert {p["check"] for p in everything} == {"minimum", "unique"}
    assert "2 row(s) fail the minimum" in next(p["message"] for p in everything
                                              if p["check"] == "minimum")
    # rows 1 and 2 (from 0) alone: one bad n of the two; the duplicate is found all the same
    part = check_parquet(con, "t", path, schema, {"t": path}, rows=(1, 3))
    assert {p["check"] for p in part} == {"minimum", "unique"}
    assert "1 row(s) fail the minimum check on n (row 2: -5)" in next(
        p["message"] for p in part if p["check"] == "minimum")
    assert [p["check"] for p in check_parquet(con, "t", path, schema, {"t": path},
                                               rows=(2, 3))] == ["unique"]


def test_the_order_of_the_key_is_read_from_the_row_before_to_the_row_after(tmp_path):
    path = tmp_path / "t.parquet"
    # out of order at rows 1-2 (from 0) and at rows 5-6
    pq.write_table(pa.table({"id": ["a", "c", "b", "d", "e", "g", "f"]}), path)
    schema = {"fields": [{"name": "id", "type": "string", "constraints": {"required": True}}],
              "primaryKey": ["id"]}
    con = duckdb.connect()

    def found(rows):
        return sorted(p["message"].split(" (")[0] for p in check_parquet(
            con, "t", path, schema, {"t": path}, rows=rows) if p["check"] == "row-order")

    assert found(None) == ["2 row(s) fail the row-order check on id"]
    assert found((3, 5)) == []  # rows 2 to 5 read: in order
    assert found((3, 6)) == ["1 row(s) fail the row-order check on id"]  # 6 after 5
    assert found((3, 3)) == []
    assert found((2, 3)) == ["1 row(s) fail the row-order check on id"]  # 2 after 1


def two_chapters_many_statements(root: Path) -> Path:
    def chapter(prefix: str, count: int) -> str:
        items = "".join(f"  - id: {prefix}{n:03}\n    status: not_implemented\n"
                        f"    summary: Vorhaben {prefix} {n}\n" for n in range(count))
        body = " ".join(f"[Text {n}](#{prefix}{n:03})" for n in range(count))
        return f'---\ntitle: "Kapitel {prefix}"\nstatements:\n{items}---\n{body}\n'

    return make_document(root, chapters={"1-a.md": chapter("a", 30), "2-b.md": chapter("b", 30)})


def set_status(content: Path, sid: str, status: str) -> None:
    for path in content.rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        marker = f"  - id: {sid}\n    status: "
        if marker in text:
            start = text.index(marker) + len(marker)
            end = text.index("\n", start)
            path.write_text(text[:start] + status + text[end:], encoding="utf-8")
            return
    raise AssertionError(sid)


def test_a_rebuild_checks_the_changed_row_alone_and_gives_a_clean_builds_bytes(
        tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    content = two_chapters_many_statements(tmp_path / "content")
    out = tmp_path / "dist"
    first = build(content, out)
    assert first.report.rows_proven == {}
    set_status(content, "b007", "implemented")
    rebuilt = build(content, out)
    assert not rebuilt.up_to_date and rebuilt.report.valid
    # one statement changed: its row, and its snapshot row in status_history, are checked;
    # the other 59 of each are the last build's
    assert rebuilt.report.rows_proven == {"statements": 59, "status_history": 59}
    assert "118 rows as the last build found them" in rebuilt.report.format()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "clean-cache"))
    clean = build(content, tmp_path / "clean")
    assert clean.report.rows_proven == {}
    for path in sorted((tmp_path / "clean").rglob("*")):
        if path.is_file() and path.name != ".pledgepack":
            assert (out / path.relative_to(tmp_path / "clean")).read_bytes() == \
                path.read_bytes(), path


def _corrupt_csv(monkeypatch, sid: str) -> None:
    """A CSV writer that writes the status of statement `sid` wrong (as a writer with a fault
    in it would): the read-back must see it wherever it checks that row."""
    real = writers.csv_columns

    def wrong(table):
        columns = real(table)
        if "status" not in columns.column_names or "id" not in columns.column_names:
            return columns
        ids, status = columns.column("id").to_pylist(), columns.column("status").to_pylist()
        status = [s + "-falsch" if i == sid else s for i, s in zip(ids, status)]
        return columns.set_column(columns.schema.get_field_index("status"), "status",
                                  pa.array(status, pa.string()))

    monkeypatch.setattr(writers, "csv_columns", wrong)


def test_the_changed_row_is_still_read_back_and_a_fault_in_it_fails_the_rebuild(
        tmp_path, monkeypatch):
    content = two_chapters_many_statements(tmp_path / "content")
    out = tmp_path / "dist"
    build(content, out)
    before = (out / "data" / "statements.csv").read_bytes()
    set_status(content, "b007", "implemented")
    _corrupt_csv(monkeypatch, "b007")
    with pytest.raises(PackageInvalid) as failed:
        build(content, out)
    assert "row 38, column status: 'implemented-falsch' in CSV, 'implemented' in Parquet" in \
        failed.value.report.format()
    assert (out / "data" / "statements.csv").read_bytes() == before  # dist left as it was


def test_rows_taken_as_proven_are_checked_again_by_pledgepack_validate(tmp_path, monkeypatch):
    # The build trusts that the same values give the same bytes: a writer that broke that
    # promise in a row it did not read back is what the full validation still finds.
    content = two_chapters_many_statements(tmp_path / "content")
    out = tmp_path / "dist"
    build(content, out)
    set_status(content, "b007", "implemented")
    _corrupt_csv(monkeypatch, "a003")
    rebuilt = build(content, out)
    assert rebuilt.report.rows_proven["statements"] == 59
    full = validate_package(out, csv_rows=False)
    assert not full.valid
    assert "row 4, column status" in full.format()


def test_nothing_is_taken_as_proven_from_a_last_build_that_cannot_vouch_for_it(
        tmp_path, monkeypatch):
    content = two_chapters_many_statements(tmp_path / "content")
    out = tmp_path / "dist"
    build(content, out)
    # its Parquet file touched since: the state differs from the build's record
    parquet = out / "data" / "statements.parquet"
    parquet.write_bytes(parquet.read_bytes())
    set_status(content, "b007", "implemented")
    assert build(content, out).report.rows_proven == {"status_history": 59}  # its file is
    set_status(content, "b008", "implemented")
    assert build(content, out).report.rows_proven == {"statements": 59, "status_history": 59}
    # a small table, or one of long rows, is read back whole: there the proof costs more than
    # it saves
    sizes = {name: (out / "data" / f"{name}.csv").stat().st_size
             for name in ("statements", "status_history")}
    small, large = sorted(sizes, key=sizes.get)
    monkeypatch.setattr(proven, "MIN_CSV_BYTES", sizes[small] + 1)
    set_status(content, "b009", "implemented")
    assert build(content, out).report.rows_proven == {large: 59}
    monkeypatch.setattr(proven, "MIN_CSV_BYTES", 0)
    monkeypatch.setattr(proven, "MAX_ROW_BYTES", sizes[large] // 60 - 1)
    set_status(content, "b010", "implemented")
    assert build(content, out).report.rows_proven == {small: 59}
    # another code or schema: the record's code is not this build's
    assert LastRows({"code": "other", "verdicts": {"statements": []}, "files": {
        "data/statements.parquet": []}}, out, "this").files == {}
    assert LastRows(None, out, "this").unproven("statements", pa.table({})) is None
