"""Build and release killed (SIGKILL) at random moments: `out` is a whole, valid package every
time, the old one or the new one, and the next run leaves nothing behind. `make test` kills a
few times; `make fuzz` many (PLEDGEPACK_FUZZ_KILLS)."""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CHAPTER, make_document
from pledgepack.check.validate import validate_package

KILLS = int(os.environ.get("PLEDGEPACK_FUZZ_KILLS", "4"))
ENV = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}


def files(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file()}


def _start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pledgepack", *map(str, args)], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_loop(tmp_path: Path, command: list[str], out: Path, seed: int,
               first: list[str] | None = None) -> int:
    """Kill `command` into `out` KILLS times; the content alternates between two versions
    (one for a release, whose version names one content), and `out` starts as what `first`
    (default: the command itself) writes."""
    content = make_document(tmp_path / "content")
    chapter = content / "testland-2024" / "1-1-verwaltung.md"
    versions = [CHAPTER] if first else [CHAPTER, CHAPTER.replace("status: implemented",
                                                                 "status: broken")]
    expected = []
    for n, text in enumerate(versions):
        chapter.write_text(text, encoding="utf-8")
        reference = tmp_path / f"reference-{n}"
        subprocess.run([sys.executable, "-m", "pledgepack", *command, "--content", content,
                        "--out", reference], env=ENV, check=True, capture_output=True)
        expected.append(files(reference))
    started = time.perf_counter()
    assert subprocess.run([sys.executable, "-m", "pledgepack", *command, "--content", content,
                           "--out", tmp_path / "timed"], env=ENV,
                          capture_output=True).returncode == 0
    full = time.perf_counter() - started
    assert subprocess.run([sys.executable, "-m", "pledgepack", *(first or command), "--content",
                           content, "--out", out], env=ENV, capture_output=True).returncode == 0
    rng = random.Random(seed)
    state = files(out)
    killed_midway = 0
    for n in range(KILLS):
        chapter.write_text(versions[n % len(versions)], encoding="utf-8")
        proc = _start(*command, "--content", content, "--out", out)
        time.sleep(rng.uniform(0, full * 1.1))
        proc.send_signal(signal.SIGKILL)
        code = proc.wait()
        killed_midway += code == -signal.SIGKILL
        now = files(out)
        assert now in (state, expected[n % len(versions)]), f"kill {n}: neither old nor new"
        assert validate_package(out).valid
        state = now
    final = subprocess.run([sys.executable, "-m", "pledgepack", *command, "--content",
                            content, "--out", out], env=ENV, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert sorted(p.name for p in out.parent.iterdir() if ".pledgepack-" in p.name) == []
    return killed_midway


def test_a_build_killed_at_random_moments(tmp_path):
    killed = _kill_loop(tmp_path, ["build", "--no-git-history"], tmp_path / "dist", seed=11)
    assert killed >= 1  # at least one kill hit a running build


def test_a_release_killed_at_random_moments(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    killed = _kill_loop(tmp_path, ["release", "--version", "1.0.0"], tmp_path / "dist", seed=7,
                        first=["build", "--no-git-history"])
    assert killed >= 1
    assert any((tmp_path / "dist").glob("*-1.0.0.zip"))


def test_the_database_writer_dies_with_a_killed_build(tmp_path):
    """The DuckDB child writes while the build validates; a build killed with -9 must not
    leave it running."""
    pid_file = tmp_path / "child.pid"
    parent = (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'import os, sys, time; from pledgepack.workers import die_with_parent; "
        "die_with_parent(int(sys.argv[1])); open(sys.argv[2], \"w\").write(str(os.getpid())); "
        "time.sleep(120)', str(os.getpid()), sys.argv[1]])\n"
        "time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", parent, str(pid_file)])
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        if "Z" in Path(f"/proc/{child}/stat").read_text().split(")")[-1].split()[0]:
            break  # dead, waiting to be reaped by init
        time.sleep(0.05)
    state = Path(f"/proc/{child}/stat")
    alive = state.exists() and state.read_text().split(")")[-1].split()[0] != "Z"
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive, "the child outlived its killed parent"


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:120]
    except OSError:
        return "?"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_build_killed_while_its_workers_parse_takes_them_along(tmp_path):
    """The parse pool's fork server and workers are the build's grandchildren: killed with -9,
    the build must not leave them idle for good (they did, holding their memory)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's; elsewhere the workers are not guarded")
    entry = ("  - id: s{n}\n    summary: Versprechen {n}\n    status: implemented\n"
             "    last_update: '2024-02-01'\n    categories: [A, B]\n")
    chapters = {}
    for c in range(400):
        ids = range(c * 60, c * 60 + 60)
        chapters[f"c{c:03d}.md"] = (
            f"---\ntitle: \"Kapitel {c}\"\norder: {c}\nstatements:\n"
            + "".join(entry.format(n=n) for n in ids) + "---\n"
            + "".join(f"[Versprechen {n}](#s{n}) steht hier.\n\n" for n in ids))
    content = make_document(tmp_path / "content", chapters=chapters)
    env = {**ENV, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    for attempt in range(5):
        proc = subprocess.Popen([sys.executable, "-m", "pledgepack", "build", "--content",
                                 content, "--out", tmp_path / f"out{attempt}", "--jobs", "2",
                                 "--no-git-history"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        seen: set[int] = set()
        deadline = time.monotonic() + 60
        # the fork server and both workers
        while len(seen) < 3 and proc.poll() is None and time.monotonic() < deadline:
            seen |= _descendants(proc.pid)
            time.sleep(0.005)
        if len(seen) >= 3 and proc.poll() is None:
            break
        proc.wait()
        shutil.rmtree(tmp_path / "cache", ignore_errors=True)  # parse again next time
    else:
        pytest.fail("never saw the build's workers running")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = {p: _command(p) for p in seen if _alive(p)}
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, f"{len(left)} of the build's {len(seen)} processes outlived it: {left}"
