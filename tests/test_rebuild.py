"""Rebuilds: parsed chapters come from the cache, an unchanged package is left untouched, and
whatever changed (a chapter, a setting, a file in the output by hand) builds in full."""
from __future__ import annotations

import json
import marshal
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pytest

from conftest import CHAPTER, make_document
from pledgepack.build import build
import pledgepack.content.cache as cache_module
from pledgepack.content.cache import SUFFIX
from pledgepack.package import rowcache


@pytest.fixture(autouse=True)
def _cache_of_this_test(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def snapshot(out: Path) -> dict[str, tuple]:
    """Each file's bytes, inode and mtime: what a skipped build must not change."""
    found = {}
    for path in sorted(out.rglob("*")):
        if path.is_file():
            info = path.stat()
            found[path.relative_to(out).as_posix()] = (path.read_bytes(), info.st_ino,
                                                       info.st_mtime_ns)
    return found


def data(out: Path) -> dict[str, bytes]:
    return {k: v[0] for k, v in snapshot(out).items()}


def entries() -> list[Path]:
    return sorted(Path(os.environ["XDG_CACHE_HOME"]).glob(f"pledgepack/chapters-*/*{SUFFIX}"))


def pack_keys() -> set[str]:
    """The keys of the entries in the one pack of the cache."""
    (pack,) = entries()
    form, kept = marshal.loads(pack.read_bytes())
    return set(kept)


def rows_file() -> Path:
    (found,) = Path(os.environ["XDG_CACHE_HOME"]).glob(f"pledgepack/chapters-*/{rowcache.FILE}")
    return found


def kept_rows_keys() -> set[str]:
    """The keys of the chapters whose rows the last build kept."""
    with pa.memory_map(str(rows_file())) as source:
        whole = source.read_buffer()
    end = whole.size - 8 - len(rowcache.MAGIC)
    (length,) = struct.unpack("<Q", whole.slice(end, 8).to_pybytes())
    header = json.loads(whole.slice(end - length, length).to_pybytes())
    return {chapter[0] for chapter in header["chapters"]}


def two_chapters(root: Path) -> Path:
    second = CHAPTER.replace("1.1 Digitale Verwaltung", "1.2 Netze").replace("(#", "(#netz-")
    second = second.replace("id: ", "id: netz-")
    return make_document(root, chapters={"1-1-verwaltung.md": CHAPTER, "1-2-netze.md": second})


def edit(content: Path) -> None:
    chapter = sorted(content.rglob("*.md"))[0]
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\nMehr Text.\n", encoding="utf-8")


def test_an_unchanged_rebuild_leaves_every_file_untouched(tmp_path, monkeypatch, run):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    content = two_chapters(tmp_path / "content")
    # a warning, which a build that finds dist up to date must say again
    chapter = sorted(content.rglob("*.md"))[0]
    chapter.write_text(chapter.read_text(encoding="utf-8").replace(
        "    measure: law\n", "    measure: law\n    colour: blue\n"), encoding="utf-8")
    out = tmp_path / "dist"
    first = build(content, out)
    assert not first.up_to_date
    assert any("unknown field 'colour'" in d.message for d in first.diagnostics)
    before = snapshot(out)
    looked_up = []
    real_get = cache_module.ChapterCache.get
    monkeypatch.setattr(cache_module.ChapterCache, "get",
                        lambda self, key: looked_up.append(key) or real_get(self, key))
    again = build(content, out)
    assert again.up_to_date and again.counts == first.counts
    assert again.diagnostics == first.diagnostics and again.report.valid
    assert looked_up == []  # told from the chapters' keys, none of them read from the cache
    assert "parse" in again.timings and "write" not in again.timings
    assert snapshot(out) == before
    result = run("build", "--content", content, "--out", out)
    assert result.exit_code == 0
    assert f"{out} is up to date: 1 documents, 2 sections" in result.stderr + result.stdout
    assert snapshot(out) == before


def test_a_command_that_finds_the_package_up_to_date_starts_no_pyarrow(tmp_path, monkeypatch):
    """pyarrow, with numpy, takes 0.1-0.15 s to import: `pledgepack build` imports it once it
    has work to do, and not at all when it finds the package up to date (then it answers in
    about 0.2 s at 100k statements). A build with work still sets pyarrow up as a command does
    (its memory pool: test_build.py), and calls Arrow's compute functions without importing
    pyarrow.compute, whose wrappers take another 0.07 s to make (package/compute.py)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    content = two_chapters(tmp_path / "content")
    # as an editor's files are: settled, not files that may be written again as they are read
    time.sleep(cache_module.SETTLED_NS / 1e9 + 0.1)
    script = textwrap.dedent("""
        import json, sys
        from pledgepack.cli import main
        sys.argv = ["pledgepack", "build", "--content", sys.argv[1], "--out", sys.argv[2]]
        try:
            main()
        except SystemExit as exc:
            assert exc.code in (0, None), exc.code
        print(json.dumps({name: name in sys.modules for name in ("pyarrow", "numpy",
                                                        "pyarrow.compute")}))
    """)

    def command() -> tuple[str, dict]:
        proc = subprocess.run([sys.executable, "-c", script, str(content), str(tmp_path / "dist")],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        *said, modules = proc.stdout.strip().splitlines()
        return "\n".join(said), json.loads(modules)

    said, modules = command()
    assert "built " in said
    assert modules == {"pyarrow": True, "numpy": True, "pyarrow.compute": False}
    said, modules = command()
    assert " is up to date: " in said
    assert modules == {"pyarrow": False, "numpy": False, "pyarrow.compute": False}
    edit(content)
    said, modules = command()
    assert "built " in said and modules["pyarrow"] and not modules["pyarrow.compute"]


def test_one_edited_chapter_rebuilds_to_the_bytes_of_a_clean_build(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    content = two_chapters(tmp_path / "content")
    out = tmp_path / "dist"
    build(content, out)
    assert len(pack_keys()) == 2 and len(kept_rows_keys()) == 2
    cached = kept_rows_keys()
    edit(content)
    rebuilt = build(content, out)
    assert not rebuilt.up_to_date
    # The other chapter's rows were taken from the kept rows: the pack holds the edited
    # chapter's entry alone, and the kept rows the edited one's and the other's.
    assert len(pack_keys()) == 1 and not pack_keys() & cached
    assert len(kept_rows_keys()) == 2 and len(kept_rows_keys() & cached) == 1
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "no-cache-yet"))
    clean = build(content, tmp_path / "clean")
    assert not clean.up_to_date
    assert data(out) == data(tmp_path / "clean")


@pytest.mark.parametrize("read_only", [False, True], ids=["writer", "reader"])
def test_a_rebuild_while_an_analyst_holds_the_database_gives_a_clean_build(
        tmp_path, monkeypatch, read_only):
    """A rebuild's database child copies the tables of the database in `out` (query/views.py's
    write_database_here). An analyst who holds it open for writing (`duckdb dist/pledges.duckdb`)
    keeps the child from attaching it: the file is written from the Parquet files alone. One who
    reads it does not, and the copy serves. Either way the bytes are a clean build's."""
    import duckdb

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    content = two_chapters(tmp_path / "content")
    out = tmp_path / "dist"
    build(content, out)
    analyst = duckdb.connect(str(out / "pledges.duckdb"), read_only=read_only)
    try:
        assert analyst.execute("SELECT count(*) FROM statements").fetchone()[0] > 0
        edit(content)
        rebuilt = build(content, out)
    finally:
        analyst.close()
    assert not rebuilt.up_to_date and rebuilt.report.valid
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "no-cache-yet"))
    build(content, tmp_path / "clean")
    assert data(out) == data(tmp_path / "clean")


def many_chapters(root: Path, count: int) -> Path:
    chapters = {}
    for n in range(count):
        text = CHAPTER.replace("1.1 Digitale Verwaltung", f"1.{n} Kapitel {n}")
        chapters[f"1-{n:02}-kapitel.md"] = text.replace("(#", f"(#k{n}-").replace(
            "id: ", f"id: k{n}-")
    return make_document(root, chapters=chapters)


def test_kept_rows_stay_while_few_chapters_changed_and_the_rebuilds_stay_clean(
        tmp_path, monkeypatch):
    """Where a rebuild read a chapter or two of many anew, the kept rows are not written
    again (all of their bytes, in every such rebuild): the next build takes the other
    chapters' rows from them and the chapters read since from the chapter cache. Once more
    than rowcache.DRIFT of the rows come from elsewhere, they are written again."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setattr(cache_module, "SETTLED_NS", 0)  # the files here are moments old
    content = many_chapters(tmp_path / "content", 80)  # 4 rows each
    out = tmp_path / "dist"
    build(content, out)
    first = kept_rows_keys()
    assert len(first) == 80
    kept_file = rows_file().read_bytes(), rows_file().stat().st_mtime_ns
    chapters = sorted(content.rglob("*.md"))
    reads = _chapter_reads(monkeypatch)

    def clean(n: int) -> None:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / f"clean-cache-{n}"))
        try:
            assert not build(content, tmp_path / f"clean-{n}").up_to_date
        finally:
            monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        assert data(out) == data(tmp_path / f"clean-{n}")

    for n, chapter in enumerate(chapters[:2]):
        chapter.write_text(chapter.read_text(encoding="utf-8") + f"\nMehr Text {n}.\n",
                           encoding="utf-8")
        reads.clear()
        assert not build(content, out).up_to_date
        # only the chapter edited now was read; the one edited before came from the pack
        assert reads == [chapter.name]
        assert (rows_file().read_bytes(), rows_file().stat().st_mtime_ns) == kept_file
        assert len(pack_keys()) == n + 1 and not pack_keys() & first
        clean(n)
    # 12 chapters more: the kept rows are written again
    for chapter in chapters[2:14]:
        chapter.write_text(chapter.read_text(encoding="utf-8") + "\nNoch mehr.\n",
                           encoding="utf-8")
    assert not build(content, out).up_to_date
    assert len(kept_rows_keys()) == 80 and len(kept_rows_keys() & first) == 80 - 14
    assert len(pack_keys()) == 14 and pack_keys() <= kept_rows_keys()
    clean(2)


def test_a_file_changed_or_deleted_by_hand_builds_again(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    content = two_chapters(tmp_path / "content")
    out = tmp_path / "dist"
    build(content, out)
    good = data(out)
    csv = out / "data" / "statements.csv"
    info = csv.stat()
    # Edited, same size, and given its old mtime back: the ctime still tells.
    text = csv.read_bytes()
    csv.write_bytes(text.replace(b"implemented", b"implementeD", 1))
    os.utime(csv, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert csv.stat().st_size == info.st_size and csv.read_bytes() != text
    assert not build(content, out).up_to_date
    assert data(out) == good
    (out / "pledges.duckdb").unlink()
    assert not build(content, out).up_to_date
    assert data(out) == good
    (out / "extra.sqlite").write_bytes(b"not ours")
    assert not build(content, out).up_to_date
    assert data(out) == good
    assert build(content, out).up_to_date


def test_a_new_date_or_setting_builds_again(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    content = two_chapters(tmp_path / "content")
    out = tmp_path / "dist"
    build(content, out)
    assert build(content, out).up_to_date
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700086400")
    assert not build(content, out).up_to_date
    assert '"created": "2023-11-15T22:13:20Z"' in (out / "datapackage.json").read_text()
    assert not build(content, out, include_unpublished=True).up_to_date
    assert not build(content, out, version="1.0.0").up_to_date
    assert not build(content, out, git_history=False).up_to_date
    assert build(content, out, git_history=False).up_to_date
    (content / "testland-2024" / "document.yaml").write_text(
        "title: Anderer Titel\n", encoding="utf-8")
    assert not build(content, out, git_history=False).up_to_date
    assert "Anderer Titel" in (out / "data" / "documents.csv").read_text(encoding="utf-8")


def test_a_broken_cache_entry_is_parsed_again(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    content = two_chapters(tmp_path / "content")
    build(content, tmp_path / "one")
    (pack,) = entries()
    whole = pack.read_bytes()
    parsed = []
    real = cache_module.ChapterCache.store
    monkeypatch.setattr(cache_module.ChapterCache, "store",
                        lambda self, key, data: parsed.append(key) or real(self, key, data))
    for n, broken in enumerate((whole[:40], b"\xff garbage", whole[:-1], b"")):
        rows_file().unlink()  # so that the chapters are looked up in the pack
        pack.write_bytes(broken)
        parsed.clear()
        result = build(content, tmp_path / f"two-{n}")
        assert not result.up_to_date and result.counts["statements"] == 4
        assert len(parsed) == 2  # both chapters parsed again
        assert data(tmp_path / "one") == data(tmp_path / f"two-{n}")
        assert pack.read_bytes() == whole


def _cli(*args, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pledgepack", "build", *map(str, args)],
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_a_build_killed_while_caching_and_two_builds_at_once_leave_a_usable_cache(
        tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    content = two_chapters(tmp_path / "content")
    killed = _cli("--content", content, "--out", tmp_path / "killed",
                  env={"PLEDGEPACK_KILL_AT": "cache-entry"})
    killed.communicate()
    assert killed.returncode == -signal.SIGKILL
    assert entries() == []
    builds = [_cli("--content", content, "--out", tmp_path / name) for name in ("a", "b")]
    for proc in builds:
        _, stderr = proc.communicate()
        assert proc.returncode == 0, stderr
    assert len(entries()) == 1
    hits = []
    real_get, real_elsewhere = cache_module.ChapterCache.get, cache_module.ChapterCache.elsewhere
    monkeypatch.setattr(cache_module.ChapterCache, "get",
                        lambda self, key: hits.append(key) or real_get(self, key))
    monkeypatch.setattr(cache_module.ChapterCache, "elsewhere",
                        lambda self, key: hits.append(key) or real_elsewhere(self, key))
    assert build(content, tmp_path / "from-the-cache").counts["statements"] == 4
    assert len(hits) == 2 and len(kept_rows_keys()) == 2
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "fresh"))
    build(content, tmp_path / "clean")
    assert data(tmp_path / "a") == data(tmp_path / "b") == data(tmp_path / "clean")


def _chapter_reads(monkeypatch) -> list[str]:
    """The names of the chapter files read from now on."""
    reads: list[str] = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: (
        reads.append(self.name) if self.suffix == ".md" else None) or real(self))
    return reads


def test_a_chapter_in_the_state_it_was_read_in_is_not_read_again_and_any_write_shows(
        tmp_path, monkeypatch):
    """A file's state (size, times, inode) stands for its bytes once it has settled: a write
    changes its change time, which cannot be set back, and a file put in its place has
    another inode, whatever its size and modification time."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setattr(cache_module, "SETTLED_NS", 0)  # the files here are moments old
    content = two_chapters(tmp_path / "content")
    out = tmp_path / "dist"
    build(content, out)
    reads = _chapter_reads(monkeypatch)
    assert build(content, out).up_to_date and reads == []
    chapter = sorted(content.rglob("*.md"))[0]

    def rewrite(old: bytes, new: bytes, replace: bool) -> None:
        before = chapter.stat()
        text = chapter.read_bytes()
        assert old in text and len(old) == len(new)
        if replace:  # another file, renamed over it
            other = chapter.with_suffix(".new")
            other.write_bytes(text.replace(old, new, 1))
            other.replace(chapter)
        else:
            chapter.write_bytes(text.replace(old, new, 1))
        os.utime(chapter, ns=(before.st_atime_ns, before.st_mtime_ns))
        after = chapter.stat()
        assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)

    for n, (old, new, replace) in enumerate([(b"Digitale", b"Digitaal", False),
                                             (b"Digitaal", b"Digitale", True)]):
        rewrite(old, new, replace)
        reads.clear()
        rebuilt = build(content, out)
        assert not rebuilt.up_to_date and reads == [chapter.name], (old, new)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / f"no-cache-{n}"))
        build(content, tmp_path / f"clean-{n}")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        assert data(out) == data(tmp_path / f"clean-{n}")
    reads.clear()
    assert build(content, out).up_to_date and reads == []


def test_a_chapter_written_moments_before_it_was_read_is_read_again(tmp_path, monkeypatch):
    """Within the same tick of the file system's clock, a second write of the same size
    leaves the same state: a file that had not settled when it was read is read again."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    # "moments" made long, so that a slow machine cannot let the files settle meanwhile
    monkeypatch.setattr(cache_module, "SETTLED_NS", 3600 * 10**9)
    content = two_chapters(tmp_path / "content")
    out = tmp_path / "dist"
    build(content, out)
    reads = _chapter_reads(monkeypatch)
    assert build(content, out).up_to_date
    assert sorted(reads) == sorted(p.name for p in content.rglob("*.md"))


def test_the_fork_server_starts_only_where_enough_chapters_are_to_be_parsed(tmp_path,
                                                                             monkeypatch):
    """A full build starts the workers' fork server while it reads the chapters; a rebuild
    whose changed chapters are too few for workers parses them itself, and does not start
    it (which costs a core about 0.15 s while the rebuild is at its busiest)."""
    import pledgepack.content.folder as folder_module
    import pledgepack.workers as workers_module

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setattr(cache_module, "SETTLED_NS", 0)  # the files here are moments old
    monkeypatch.setattr(folder_module, "PARALLEL_MIN_FILES", 4)
    started = []
    real = workers_module.warm_up
    monkeypatch.setattr(workers_module, "warm_up", lambda: started.append(1) or real())
    content = many_chapters(tmp_path / "content", 6)
    out = tmp_path / "dist"
    build(content, out, jobs=2)
    assert started == [1]
    for changed in (1, 3, 4, 6):
        started.clear()
        for chapter in sorted(content.rglob("*.md"))[:changed]:
            chapter.write_text(chapter.read_text(encoding="utf-8") + f"\nEdit {changed}.\n",
                               encoding="utf-8")
        rebuilt = build(content, out, jobs=2)
        assert not rebuilt.up_to_date
        assert started == ([1] if changed >= 4 else []), changed
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "no-cache"))
    build(content, tmp_path / "clean", jobs=1)
    assert data(out) == data(tmp_path / "clean")


def test_a_relative_cache_setting_is_ignored_and_without_a_cache_folder_the_build_still_runs(
        tmp_path, monkeypatch):
    """Content outside a repository keeps its cache in XDG_CACHE_HOME, and a relative one is
    ignored (as the XDG base directory specification asks): the cache goes to ~/.cache. With
    no absolute folder at all (HOME relative too) there is no cache, and every build reads
    and writes in full, to the same bytes."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    content = two_chapters(tmp_path / "content")
    home = tmp_path / "home"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative-cache")
    first = build(content, tmp_path / "dist")
    assert not (tmp_path / "relative-cache").exists()
    assert list((home / ".cache" / "pledgepack").glob(f"chapters-*/*{SUFFIX}"))
    assert build(content, tmp_path / "dist").up_to_date

    monkeypatch.setenv("HOME", "relative-home")
    for n in range(2):
        nowhere = build(content, tmp_path / "uncached")
        assert not nowhere.up_to_date and nowhere.counts == first.counts, n
    assert not (tmp_path / "relative-home").exists() and not (tmp_path / "~").exists()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "clean-cache"))
    build(content, tmp_path / "clean")
    assert data(tmp_path / "uncached") == data(tmp_path / "clean")
