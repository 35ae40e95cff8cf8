"""The output folder: only an earlier build is replaced, the swap is atomic (proved by killing
the build at every step), a symbolic link keeps pointing where it did, one writer at a time,
and what killed runs leave behind is cleaned."""
from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CHAPTER, make_document, make_repo
from pledgepack.check.validate import validate_package

DOC = "testland-2024"


def files(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file()}


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".pledgepack-" in p.name)


def cli(*args, cwd: Path | None = None, env: dict | None = None, **kwargs):
    """The real command in a process of its own, so that it can be killed."""
    return subprocess.run([sys.executable, "-m", "pledgepack", *map(str, args)], cwd=cwd,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          **kwargs)


def refused(run, content: Path, out: Path, needle: str):
    before = files(out) if out.is_dir() else None
    result = run("build", "--content", content, "--out", out)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert needle in result.stderr, result.stderr
    assert result.stderr.startswith("Error: ")
    if before is not None:
        assert files(out) == before
    return result


@pytest.mark.parametrize("fill", [
    {"notes.txt": "keep me"},
    {"datapackage.json": "{}", "notes.txt": "keep me"},
    {"datapackage.json": '{"resources": [{"name": "other", "path": "x.csv"}]}', "x.csv": "a\n"},
    {"README.md": "my site"},
    {".git/HEAD": "ref: refs/heads/main\n"},
    {"data/statements.csv": "x", "data/deeper/file.csv": "y", ".pledgepack": "x"},
    {".pledgepack": "x", "index.html": "<p>web root</p>"},
    {"datapackage.json": "not json", ".pledgepack": "x"},
])
def test_a_folder_that_is_not_a_build_is_never_replaced(run, content, tmp_path, fill):
    out = tmp_path / "mine"
    for name, text in fill.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text, encoding="utf-8")
    refused(run, content, out, "is not a pledgepack build")
    assert leftovers(tmp_path) == []


def test_a_file_or_a_link_inside_is_never_replaced(run, content, tmp_path):
    out = tmp_path / "file"
    out.write_text("keep me", encoding="utf-8")
    refused(run, content, out, "exists and is not a folder")
    assert out.read_text(encoding="utf-8") == "keep me"
    built = tmp_path / "dist"
    assert run("build", "--content", content, "--out", built).exit_code == 0
    (tmp_path / "precious").mkdir()
    (built / "data" / "link").symlink_to(tmp_path / "precious")
    refused(run, content, built, "data/link is not a file the build writes")
    assert (tmp_path / "precious").is_dir()


def test_out_that_is_or_holds_the_content_is_refused(run, tmp_path):
    content = make_document(tmp_path / "site" / "content")
    for out in (content, content.parent, content / DOC):
        refused(run, content, out, "is, holds or lies in the content folder")
    assert (content / DOC / "1-1-verwaltung.md").read_text(encoding="utf-8") == CHAPTER


def test_out_dot_in_a_tracker_repository_deletes_nothing(tmp_path):
    repo = make_repo(tmp_path)
    make_document(repo.path / "content")
    (repo.path / "README.md").write_text("tracker", encoding="utf-8")
    repo.commit({})
    before = files(repo.path)
    for out in (".", repo.path):
        result = cli("build", "--content", "content", "--out", out, cwd=repo.path)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert "refusing to" in result.stderr
    assert files(repo.path) == before
    # A repository root elsewhere than the working directory: its .git is not a build's.
    elsewhere = cli("build", "--content", repo.path / "content", "--out", repo.path,
                    cwd=tmp_path)
    assert elsewhere.returncode == 1 and "is, holds or lies in the content folder" in elsewhere.stderr
    other = make_repo(tmp_path / "other")
    (other.path / "file.txt").write_text("x", encoding="utf-8")
    result = cli("build", "--content", repo.path / "content", "--out", other.path, cwd=tmp_path)
    assert result.returncode == 1 and ".git is not a file the build writes" in result.stderr


def test_an_earlier_build_is_replaced_also_one_without_the_marker(run, content, tmp_path):
    out = tmp_path / "dist"
    assert run("build", "--content", content, "--out", out).exit_code == 0
    assert (out / ".pledgepack").is_file()
    (out / ".pledgepack").unlink()
    chapter = content / DOC / "1-1-verwaltung.md"
    chapter.write_text(CHAPTER.replace("status: implemented", "status: broken"), encoding="utf-8")
    assert run("build", "--content", content, "--out", out).exit_code == 0
    assert b"broken" in (out / "data" / "statements.csv").read_bytes()
    assert (out / ".pledgepack").is_file()
    assert leftovers(tmp_path) == []


def test_a_symlinked_out_updates_what_it_points_to(run, content, tmp_path):
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("site", encoding="utf-8")
    link = tmp_path / "dist"
    link.symlink_to(web / "data")  # dangling until the first build
    for status in ("implemented", "broken"):
        chapter = content / DOC / "1-1-verwaltung.md"
        chapter.write_text(CHAPTER.replace("status: implemented", f"status: {status}"),
                           encoding="utf-8")
        result = run("build", "--content", content, "--out", link)
        assert result.exit_code == 0, result.output
        assert link.is_symlink() and os.readlink(link) == str(web / "data")
        assert status.encode() in (web / "data" / "data" / "statements.csv").read_bytes()
        assert validate_package(web / "data").valid
    assert (web / "index.html").read_text(encoding="utf-8") == "site"
    assert leftovers(web) == [] and leftovers(tmp_path) == []


def _two_versions(tmp_path: Path) -> tuple[Path, Path, dict, Path]:
    """A content folder and its build in `out`; the content is then changed. Returns the old
    build's files and the chapter."""
    content = make_document(tmp_path / "content")
    out = tmp_path / "dist"
    first = cli("build", "--content", content, "--out", out, "--no-git-history")
    assert first.returncode == 0, first.stderr
    chapter = content / DOC / "1-1-verwaltung.md"
    chapter.write_text(CHAPTER.replace("status: implemented", "status: broken"), encoding="utf-8")
    return content, out, files(out), chapter


@pytest.mark.parametrize("exchange, step, new", [
    (True, "written", False), (True, "swap", False), (True, "swapped", True),
    (False, "swap", False), (False, "between-renames", False), (False, "swapped", True)])
def test_a_build_killed_at_any_step_leaves_a_whole_package(tmp_path, step, new, exchange):
    content, out, old, _ = _two_versions(tmp_path)
    env = {"PLEDGEPACK_KILL_AT": step}
    if not exchange:
        env["PLEDGEPACK_NO_EXCHANGE"] = "1"
    killed = cli("build", "--content", content, "--out", out, "--no-git-history", env=env)
    assert killed.returncode == -9, killed.stderr
    if step == "between-renames":
        # Without an atomic exchange there is one instant without `out`; the next run puts
        # the old package back before anything else.
        assert not out.exists()
        again = cli("build", "--content", tmp_path / "missing", "--out", out)
        assert again.returncode == 1
    assert validate_package(out).valid
    assert (files(out) != old) is new
    if new:
        assert b"broken" in (out / "data" / "statements.csv").read_bytes()
    final = cli("build", "--content", content, "--out", out, "--no-git-history")
    assert final.returncode == 0, final.stderr
    assert leftovers(tmp_path) == []
    assert b"broken" in (out / "data" / "statements.csv").read_bytes()


def test_a_second_build_waits_for_the_first(tmp_path):
    content, out, old, _ = _two_versions(tmp_path)
    fd = os.open(tmp_path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a running build holds it
    try:
        busy = cli("build", "--content", content, "--out", out, "--no-git-history",
                   env={"PLEDGEPACK_LOCK_TIMEOUT": "0.3"})
        assert busy.returncode == 1
        assert busy.stderr.strip() == (
            f"Error: {out}: another pledgepack build or release is writing into {tmp_path}; "
            "wait for it to finish, then run again")
        assert files(out) == old
        waiting = subprocess.Popen(
            [sys.executable, "-m", "pledgepack", "build", "--content", str(content), "--out",
             str(out), "--no-git-history"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(1.5)
        assert waiting.poll() is None and files(out) == old
    finally:
        os.close(fd)
    _, stderr = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, stderr
    assert b"broken" in (out / "data" / "statements.csv").read_bytes()


def test_leftovers_of_killed_runs_are_cleaned_and_only_those(tmp_path):
    repo = make_repo(tmp_path)
    make_document(repo.path / "content")
    repo.commit({})
    out = tmp_path / "dist"
    stale = tmp_path / ".dist.pledgepack-tmp-x1y2"
    (stale / "data").mkdir(parents=True)
    (stale / "data" / "statements.csv").write_text("half", encoding="utf-8")
    work = tmp_path / ".dist.pledgepack-work-abc"
    work.mkdir()
    repo.git("worktree", "add", "--quiet", "--detach", str(work / "tree-v1.0.0"), "HEAD")
    mine = [tmp_path / ".dist.keep", tmp_path / "other.pledgepack-tmp-1", tmp_path / ".distx"]
    for path in mine:
        path.mkdir()
    result = cli("build", "--content", repo.path / "content", "--out", out)
    assert result.returncode == 0, result.stderr
    assert not stale.exists() and not work.exists()
    assert all(path.is_dir() for path in mine)
    worktrees = repo.git("worktree", "list", "--porcelain")
    assert worktrees.count("worktree ") == 1, worktrees


def test_a_killed_release_leaves_the_previous_release(tmp_path):
    repo = make_repo(tmp_path)
    content = make_document(repo.path / "content")
    repo.commit({}, when="2024-02-01T10:00:00+00:00")
    out = tmp_path / "dist"
    assert cli("release", "--version", "1.0.0", "--content", content, "--out", out).returncode == 0
    old = files(out)
    repo.git("tag", "v1.0.0")
    (content / DOC / "1-1-verwaltung.md").write_text(
        CHAPTER.replace("status: implemented", "status: broken"), encoding="utf-8")
    repo.commit({}, when="2024-03-01T10:00:00+00:00")
    for step in ("released", "swap"):
        killed = cli("release", "--version", "1.1.0", "--content", content, "--out", out,
                     env={"PLEDGEPACK_KILL_AT": step})
        assert killed.returncode == -9, killed.stderr
        assert files(out) == old
        assert validate_package(out).valid
    done = cli("release", "--version", "1.1.0", "--content", content, "--out", out)
    assert done.returncode == 0, done.stderr
    assert (out / "pledgepack-1.1.0.zip").is_file() or any(out.glob("*-1.1.0.zip"))
    assert leftovers(tmp_path) == []
    assert repo.git("worktree", "list", "--porcelain").count("worktree ") == 1
    sums = (out / "SHA256SUMS").read_text(encoding="utf-8")
    assert ".pledgepack" not in sums
    assert json.loads((out / "datapackage.json").read_text(encoding="utf-8"))["version"] == "1.1.0"


@pytest.fixture
def mount(tmp_path):
    """Mount file systems for a test (root in a container may; elsewhere the test says what
    it needs) and unmount them afterwards."""
    mounted: list[Path] = []

    def do(*args: str, at: Path) -> Path:
        at.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(["mount", *args, str(at)], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"needs root with the right to mount (run as root): {proc.stderr}")
        mounted.append(at)
        return at

    yield do
    for at in reversed(mounted):
        subprocess.run(["umount", "-l", str(at)], check=True)


def test_a_read_only_checkout_builds_without_the_cache(tmp_path, mount):
    repo = make_repo(tmp_path)
    make_document(repo.path / "content")
    repo.commit({})
    chapter = repo.path / "content" / DOC / "1-1-verwaltung.md"
    chapter.write_text(CHAPTER.replace("status: implemented", "status: broken"), encoding="utf-8")
    repo.commit({}, when="2024-02-01T10:00:00+00:00")
    ro = mount("--bind", str(repo.path), at=tmp_path / "ro")
    subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True)
    with pytest.raises(OSError):
        (ro / "probe").write_text("x")
    out = tmp_path / "dist"
    result = cli("build", "--content", ro / "content", "--out", out)
    assert result.returncode == 0, result.stderr
    assert validate_package(out).valid
    history = (out / "data" / "status_history.csv").read_text(encoding="utf-8")
    assert "broken" in history and "implemented" in history
    assert not (repo.path / ".git" / "pledgepack").exists()


def test_a_full_disk_or_a_read_only_out_leaves_the_old_build(tmp_path, mount):
    content = make_document(tmp_path / "content")
    disk = mount("-t", "tmpfs", "-o", "size=3m", "tmpfs", at=tmp_path / "disk")
    out = disk / "dist"
    first = cli("build", "--content", content, "--out", out, "--no-git-history")
    assert first.returncode == 0, first.stderr
    old = files(out)
    (disk / "filler").write_bytes(b"\0" * (3 * 1024 * 1024 - sum(map(len, old.values())) - 4096
                                          * 40))
    # An edit, so that the builds below have a new package to write.
    chapter = next(content.rglob("*.md"))
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\nMehr Text.\n", encoding="utf-8")
    full = cli("build", "--content", content, "--out", out, "--no-git-history")
    assert full.returncode == 1
    assert "Traceback" not in full.stderr
    assert full.stderr.startswith("Error: ") and "No space left on device" in full.stderr
    assert len(full.stderr.strip().splitlines()) == 1, full.stderr
    assert files(out) == old and leftovers(disk) == []
    (disk / "filler").unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    readonly = cli("build", "--content", content, "--out", out, "--no-git-history")
    assert readonly.returncode == 1
    assert "Traceback" not in readonly.stderr and "Read-only file system" in readonly.stderr
    assert files(out) == old
