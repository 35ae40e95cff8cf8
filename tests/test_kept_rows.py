"""Rebuilds that take the unchanged chapters' rows from those the last build kept
(package/rowcache.py), the files of unchanged tables from the last build, and the verdicts of
checks on bytes checked before: whatever changed, the package is the bytes of a clean build,
and every problem is still found."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import pledgepack.check.sqlchecks as sqlchecks
import pledgepack.content.cache as cache_module
from conftest import CHAPTER, Repo, chapter, make_document
from pledgepack.build import build
from pledgepack.check.validate import descriptor_findings, parquet_findings, validate_package
from pledgepack.errors import ContentError
from pledgepack.package import rowcache
from pledgepack.package.descriptor import sha256
from pledgepack.package.writers import write_csv
from pledgepack.query.views import DatabaseWriter

DOC = "testland-2024"
SECOND = chapter("""
    - id: netz
      summary: Schnelles Netz
      status: not_implemented
      last_update: 2024-04-01
      reports:
        - title: Ausbau
          url: https://example.org/netz
    - id: funk
      summary: Funkmasten
      status: implemented
    """, "Ein [schnelles Netz](#netz) mit [Funkmasten](#funk).\n", title="1.2 Netze")
THIRD = chapter("""
    - id: schule
      summary: Digitale Schulen
      status: partially_implemented
      last_update: 2024-05-01
      history:
        - date: 2024-01-15
          status: not_implemented
          note: Anfang
    """, "[Digitale Schulen](#schule) für alle.\n", title="2.1 Bildung")
DRAFT = chapter("""
    - id: entwurf
      summary: Ein Entwurf
      status: not_implemented
    """, "[Ein Entwurf](#entwurf).\n", title="3.1 Entwurf", extra="published: false\n")


def data(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file()}


def base_content(root: Path) -> Path:
    return make_document(root, chapters={"1-1-verwaltung.md": CHAPTER, "1-2-netze.md": SECOND,
                                         "2-1-bildung.md": THIRD, "3-1-entwurf.md": DRAFT})


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _move_statement(folder: Path) -> None:
    """'funk' leaves 1.2 for 2.1: the same id, in another chapter."""
    _replace(folder / "1-2-netze.md", "  - id: funk\n    summary: Funkmasten\n"
             "    status: implemented\n", "")
    _replace(folder / "1-2-netze.md", " mit [Funkmasten](#funk)", "")
    _replace(folder / "2-1-bildung.md", "statements:\n", "statements:\n  - id: funk\n"
             "    summary: Funkmasten\n    status: implemented\n")
    _replace(folder / "2-1-bildung.md", "für alle.", "für alle, mit [Funkmasten](#funk).")


# Each edit on the content as the edits before it left it, as editors make them.
EDITS = {
    "a chapter's text": lambda f: _replace(f / "1-1-verwaltung.md", "führen die",
                                          "führen bald die"),
    "a status": lambda f: _replace(f / "1-2-netze.md", "status: not_implemented",
                                   "status: partially_implemented"),
    "a new chapter": lambda f: (f / "1-3-neu.md").write_text(chapter("""
        - id: neu
          summary: Neues
          status: implemented
        """, "[Neues](#neu).\n", title="1.3 Neu"), encoding="utf-8"),
    "a statement moved to another chapter": _move_statement,
    "a history entry": lambda f: _replace(f / "2-1-bildung.md", "note: Anfang",
                                          "note: Der Anfang"),
    "a chapter renamed": lambda f: (f / "1-3-neu.md").rename(f / "1-4-neu.md"),
    "a chapter unpublished": lambda f: _replace(f / "1-4-neu.md", 'title: "1.3 Neu"\n',
                                                'title: "1.3 Neu"\npublished: false\n'),
    "a chapter removed": lambda f: (f / "1-1-verwaltung.md").unlink(),
    "a report": lambda f: _replace(f / "1-2-netze.md", "title: Ausbau", "title: Ausbau 2"),
}


@pytest.fixture
def taken(monkeypatch) -> list[str]:
    """The keys of the chapters whose rows a build took from the kept rows."""
    keys: list[str] = []
    real = cache_module.ChapterCache.elsewhere
    monkeypatch.setattr(cache_module.ChapterCache, "elsewhere",
                        lambda self, key: keys.append(key) or real(self, key))
    return keys


def clean_build(content: Path, out: Path, cache: Path, **options) -> dict[str, bytes]:
    """The package a build with no cache at all makes of `content`."""
    before = os.environ["XDG_CACHE_HOME"]
    os.environ["XDG_CACHE_HOME"] = str(cache)
    try:
        build(content, out, **options)
    finally:
        os.environ["XDG_CACHE_HOME"] = before
    return data(out)


@pytest.mark.parametrize("include_unpublished", [False, True])
def test_every_kind_of_edit_rebuilds_to_the_bytes_of_a_clean_build(tmp_path, monkeypatch, taken,
                                                                    include_unpublished):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    content = base_content(tmp_path / "content")
    out = tmp_path / "dist"
    options = {"include_unpublished": include_unpublished}
    build(content, out, **options)
    assert taken == []
    for n, (what, edit) in enumerate(EDITS.items()):
        edit(content / DOC)
        taken.clear()
        result = build(content, out, **options)
        assert not result.up_to_date, what
        assert taken, f"{what}: no chapter's rows were taken from the kept ones"
        clean = clean_build(content, tmp_path / f"clean-{n}", tmp_path / f"cache-{n}", **options)
        assert data(out) == clean, what
    # and the kept rows agree with a build that reads every chapter again
    rowcache_file = next((tmp_path / "cache").glob(f"pledgepack/chapters-*/{rowcache.FILE}"))
    rowcache_file.unlink()
    taken.clear()
    assert not build(content, tmp_path / "again", **options).up_to_date and taken == []
    assert data(tmp_path / "again") == data(out)


def test_a_rebuild_in_a_repository_gives_the_bytes_of_a_clean_build(tmp_path, monkeypatch,
                                                                   taken):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    repo = Repo(tmp_path / "repo")
    base_content(repo.path / "content")
    repo.commit({}, "the first chapters", when="2024-02-01T10:00:00+00:00")
    content, out = repo.path / "content", tmp_path / "dist"
    build(content, out)
    cache = repo.path / ".git" / "pledgepack"
    for n, (what, edit) in enumerate(list(EDITS.items())[:5]):
        edit(content / DOC)
        repo.commit({}, what, when=f"2024-0{n + 3}-01T10:00:00+00:00")
        taken.clear()
        assert not build(content, out).up_to_date and taken, what
        shutil.move(cache, tmp_path / "kept")
        try:
            build(content, tmp_path / f"clean-{n}")
        finally:
            shutil.rmtree(cache)
            shutil.move(tmp_path / "kept", cache)
        assert data(out) == data(tmp_path / f"clean-{n}"), what
    # an edit not committed yet: a snapshot row after the history
    _replace(content / DOC / "1-2-netze.md", "status: partially_implemented", "status: broken")
    assert not build(content, out).up_to_date
    shutil.rmtree(cache)
    build(content, tmp_path / "clean-last")
    assert data(out) == data(tmp_path / "clean-last")


def test_a_duplicate_id_against_a_kept_chapter_is_the_error_of_a_clean_build(tmp_path,
                                                                            monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    content = base_content(tmp_path / "content")
    out = tmp_path / "dist"
    build(content, out)
    before = data(out)
    # 'akte' is also the id of a statement of 1.1, whose rows are kept
    _replace(content / DOC / "1-2-netze.md", "id: funk", "id: akte")
    _replace(content / DOC / "1-2-netze.md", "(#funk)", "(#akte)")
    with pytest.raises(ContentError) as rebuilt:
        build(content, out)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "no-cache"))
    with pytest.raises(ContentError) as clean:
        build(content, tmp_path / "clean")
    assert [str(d) for d in rebuilt.value.diagnostics] == \
        [str(d) for d in clean.value.diagnostics]
    assert any("duplicate id 'akte': also used at" in d.message and "1-1-verwaltung.md:" in
               d.message for d in rebuilt.value.diagnostics)
    assert data(out) == before


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "a count changed",
                                    "another schema"])
def test_kept_rows_that_do_not_match_are_not_used(tmp_path, monkeypatch, taken, damage):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    content = base_content(tmp_path / "content")
    build(content, tmp_path / "first")
    path = next((tmp_path / "cache").glob(f"pledgepack/chapters-*/{rowcache.FILE}"))
    whole = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(whole[: len(whole) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\xff" * 100 + whole[100:])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "a count changed":
        # the header is JSON at the end: a chapter that claims one row more than it gave
        assert b'[1,2,1,0]' in whole
        path.write_bytes(whole.replace(b'[1,2,1,0]', b'[1,3,1,0]', 1))
    else:
        monkeypatch.setattr(rowcache, "salt", lambda schema: "another")
    _replace(content / DOC / "1-2-netze.md", "Funkmasten", "Funkmasten!")
    taken.clear()
    result = build(content, tmp_path / "second")
    assert result.report.valid and taken == []
    assert data(tmp_path / "second") == clean_build(content, tmp_path / "clean",
                                                    tmp_path / "no-cache")


def test_unchanged_tables_are_taken_from_the_last_build_and_not_checked_again(tmp_path,
                                                                             monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    content = base_content(tmp_path / "content")
    out = tmp_path / "dist"
    first = build(content, out)
    assert first.report.proven == [] and first.report.keys_only == []
    inodes = {p.name: p.stat().st_ino for p in (out / "data").iterdir()}
    checked: list[tuple[str, bool]] = []
    real = sqlchecks.check_parquet

    def check_parquet(con, name, path, schema, parquet, foreign_keys_only=False, rows=None):
        checked.append((name, foreign_keys_only))
        return real(con, name, path, schema, parquet, foreign_keys_only, rows)

    def in_this_process(self, descriptor, folder, declared, parquet, skip, keys_only,
                        descriptor_check=True, spans=None):
        # the database's child would check out of sight
        checked.append(("descriptor", descriptor_check))
        found = {"parquet": parquet_findings(declared, parquet, skip, keys_only, spans)}
        if descriptor_check:
            found["descriptor"] = descriptor_findings(descriptor, folder)
        return found

    monkeypatch.setattr(sqlchecks, "check_parquet", check_parquet)
    monkeypatch.setattr(DatabaseWriter, "check", in_this_process)
    # The text of a chapter: only the sections change.
    _replace(content / DOC / "1-1-verwaltung.md", "führen die", "führen bald die")
    second = build(content, out)
    now = {p.name: p.stat().st_ino for p in (out / "data").iterdir()}
    # (status_history holds a history entry, so it is made again: to the same bytes, which
    # were checked before)
    assert {name for name in now if now[name] == inodes[name]} == {
        f"{table}.{kind}" for table in ("statements", "reports") for kind in ("csv", "parquet")}
    # statements point to sections: only their foreign keys are checked again
    assert second.report.keys_only == ["statements"]
    assert set(second.report.proven) == {"documents", "reports", "status_history", "statuses"}
    # the descriptor differs from the one found sound only in the sizes and hashes of the
    # sections' files: its own check is not run again
    assert sorted(checked) == [("descriptor", False), ("sections", False), ("statements", True)]
    assert second.report.descriptor_proven and not first.report.descriptor_proven
    # the rows of the proven tables are said as the checks found them before
    assert {k: v for k, v in second.report.resources.items() if "sections" not in k} == \
        {k: v for k, v in first.report.resources.items() if "sections" not in k}
    assert data(out) == clean_build(content, tmp_path / "clean", tmp_path / "no-cache")
    # A file changed by hand is not taken: written anew, it is the bytes the last build
    # checked, whose verdict stands.
    statements = out / "data" / "statements.csv"
    statements.write_bytes(statements.read_bytes().replace(b"Portal", b"Pforte", 1))
    _replace(content / DOC / "1-1-verwaltung.md", "führen bald die", "führen die")
    build(content, out)
    assert (out / "data" / "statements.csv").stat().st_ino != now["statements.csv"]
    assert b"Pforte" not in (out / "data" / "statements.csv").read_bytes()
    assert data(out) == clean_build(content, tmp_path / "clean-2", tmp_path / "no-cache-2")


def test_rows_are_named_by_their_values_however_they_were_put_together():
    """rowcache.rows_id: the same rows from Python values, from slices of other tables (with
    a validity bitmap of their own), in pieces or in one, get one name; a value changed, or
    a missing value for an empty one, gives another."""
    arrow = pa.schema([("id", pa.string()), ("n", pa.int64()),
                       ("tags", pa.list_(pa.string()))])
    rows = {"id": ["a", "b", None], "n": [1, None, 3], "tags": [["x"], [], None]}
    plain = pa.table(rows, schema=arrow)
    other = pa.table({"id": [None, "a", "b", "q"], "n": [9, 1, None, 4],
                      "tags": [None, ["x"], [], ["y"]]}, schema=arrow)
    pieces = pa.concat_tables([other.slice(1, 2), pa.table(
        {"id": [None], "n": [3], "tags": [None]}, schema=arrow)])
    assert pieces.column("id").num_chunks == 2

    def name(table):
        return rowcache.rows_id("salt", False, "statements", table)

    assert name(plain) == name(pieces) == name(pieces.combine_chunks())
    for column, value in (("id", ""), ("n", 0), ("tags", [])):
        changed = dict(rows, **{column: rows[column][:2] + [value]})
        assert name(pa.table(changed, schema=arrow)) != name(plain), column
    assert name(plain.slice(0, 2)) != name(plain)
    assert rowcache.rows_id("salt", True, "statements", plain) != name(plain)


def test_a_table_an_edit_left_as_it_was_is_taken_over_while_the_kept_rows_stay(tmp_path,
                                                                              monkeypatch):
    """A table's rows are named by their values, not by the chapters that gave them: each
    rebuild takes over the files of every table an edit left as it was, also once the kept
    rows are older than the last build (as in a large corpus, where they stay while few
    chapters change: DRIFT makes these four chapters few)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(rowcache, "DRIFT", 1.0)
    content = base_content(tmp_path / "content")
    for n in range(6):  # chapters no edit touches, whose rows the kept ones give
        (content / DOC / f"4-{n}-mehr.md").write_text(
            SECOND.replace("1.2 Netze", f"4.{n} Mehr").replace("(#", f"(#m{n}-")
            .replace("id: ", f"id: m{n}-"), encoding="utf-8")
    out = tmp_path / "dist"
    build(content, out)
    kept = next((tmp_path / "cache").glob(f"pledgepack/chapters-*/{rowcache.FILE}"))
    kept_state = (kept.stat().st_ino, kept.stat().st_mtime_ns)
    edits = [
        ("a chapter's text", EDITS["a chapter's text"], {"statements", "reports"}),
        ("a status", EDITS["a status"], {"sections", "reports"}),
        ("another chapter's text",
         lambda f: _replace(f / "1-2-netze.md", "(#netz) mit", "(#netz) samt"),
         {"statements", "reports"}),
        ("a status back", lambda f: _replace(f / "1-2-netze.md", "status: partially_implemented",
                                             "status: not_implemented"), {"sections", "reports"}),
    ]
    for n, (what, edit, unchanged) in enumerate(edits):
        before = {p.name: p.stat().st_ino for p in (out / "data").iterdir()}
        edit(content / DOC)
        assert not build(content, out).up_to_date, what
        now = {p.name: p.stat().st_ino for p in (out / "data").iterdir()}
        taken_over = {name.split(".")[0] for name in now if now[name] == before[name]}
        assert taken_over == unchanged, what
        assert (kept.stat().st_ino, kept.stat().st_mtime_ns) == kept_state, what
        assert data(out) == clean_build(content, tmp_path / f"clean-{n}",
                                        tmp_path / f"no-cache-{n}"), what


def test_a_proven_table_still_has_its_foreign_keys_checked(tmp_path, monkeypatch):
    """Verdicts are taken only for the bytes they were found on: when a table a proven one
    points to changes, the proven one's foreign keys are checked on the new bytes."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    content = base_content(tmp_path / "content")
    out = tmp_path / "dist"
    first = build(content, out)
    proven = {key: rows for own, whole, rows in first.report.verdicts.values()
              for key in (own, whole)}
    package = tmp_path / "package"
    shutil.copytree(out, package)
    # the sections lose the chapter 1.2 that statements point to
    sections = pq.ParquetFile(package / "data" / "sections.parquet").read()
    keep = [sid != f"{DOC}/1-2-netze" for sid in sections.column("section_id").to_pylist()]
    fewer = sections.filter(pa.array(keep))
    assert len(fewer) == len(sections) - 1
    pq.write_table(fewer, package / "data" / "sections.parquet", compression="zstd")
    write_csv(fewer, package / "data" / "sections.csv")
    descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    for resource in descriptor["resources"]:
        for part in (resource, resource.get("parquet") or {}):
            if str(part.get("path", "")).startswith("data/sections."):
                part["hash"] = "sha256:" + sha256(package / part["path"])
                part["bytes"] = (package / part["path"]).stat().st_size
    (package / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    report = validate_package(package, csv_rows=False, rehash=False, proven=proven)
    assert report.keys_only == ["statements"]
    assert any(p.check == "foreign-key" and "statements" in (p.resource or "")
               for p in report.problems), report.format()
    # and without verdicts the same problem
    assert any(p.check == "foreign-key" and "statements" in (p.resource or "") for p in
               validate_package(package, csv_rows=False).problems)
    assert pacsv.read_csv(package / "data" / "sections.csv").num_rows == len(fewer)


def test_a_build_killed_while_keeping_its_rows_leaves_none_half_written(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    content = base_content(tmp_path / "content")
    killed = subprocess.run([sys.executable, "-m", "pledgepack", "build", "--content",
                             str(content), "--out", str(tmp_path / "killed")],
                            env={**os.environ, "PLEDGEPACK_KILL_AT": "row-cache"},
                            capture_output=True)
    assert killed.returncode == -9
    assert list((tmp_path / "cache").glob(f"pledgepack/chapters-*/{rowcache.FILE}")) == []
    assert not (tmp_path / "killed").exists()
    first = build(content, tmp_path / "one")
    assert first.report.valid
    _replace(content / DOC / "1-2-netze.md", "Funkmasten", "Funkmasten!")
    build(content, tmp_path / "one")
    assert data(tmp_path / "one") == clean_build(content, tmp_path / "clean",
                                                 tmp_path / "no-cache")


def test_the_descriptor_key_leaves_out_only_sizes_and_hashes_of_their_form(tmp_path):
    from pledgepack.check.validate import descriptor_key

    out = tmp_path / "dist"
    build(base_content(tmp_path / "content"), out)
    descriptor = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    key = descriptor_key(descriptor)
    assert key is not None

    def changed(edit) -> str | None:
        other = json.loads(json.dumps(descriptor))
        edit(other)
        return descriptor_key(other)

    def resource(d: dict, n: int = 1) -> dict:
        return d["resources"][n]

    # other files, other hashes and sizes: the same check
    assert changed(lambda d: resource(d).update(bytes=7, hash="sha256:" + "0" * 64)) == key
    assert changed(lambda d: resource(d)["parquet"].update(bytes=0)) == key
    # anything else, or a size or hash of another form, is checked again
    for edit in (lambda d: d.update(created="2030-01-01T00:00:00Z"),
                 lambda d: resource(d).update(title="Andere"),
                 lambda d: resource(d)["schema"]["fields"][0].update(type="integer"),
                 lambda d: resource(d).update(path="data/other.csv"),
                 lambda d: d["licenses"].clear()):
        assert changed(edit) not in (key, None)
    for edit in (lambda d: resource(d).update(hash="SHA256:" + "0" * 64),
                 lambda d: resource(d).update(hash="md5:" + "0" * 32),
                 lambda d: resource(d).update(bytes=-1),
                 lambda d: resource(d).update(bytes=True),
                 lambda d: resource(d)["parquet"].pop("hash"),
                 lambda d: resource(d).pop("parquet")):
        assert changed(edit) is None


def test_a_descriptor_that_changed_beyond_its_hashes_is_checked_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    content = base_content(tmp_path / "content")
    out = tmp_path / "dist"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = build(content, out)
    assert first.report.descriptor_key and not first.report.descriptor_proven
    _replace(content / DOC / "1-1-verwaltung.md", "führen die", "führen bald die")
    assert build(content, out).report.descriptor_proven
    # a new date: the descriptor says another `created`
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    _replace(content / DOC / "1-1-verwaltung.md", "führen bald die", "führen die")
    third = build(content, out)
    assert not third.up_to_date and not third.report.descriptor_proven
    assert third.report.valid
    # pledgepack validate checks it whatever the build proved
    assert validate_package(out).valid
