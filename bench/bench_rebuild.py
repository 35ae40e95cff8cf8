"""Benchmark of rebuilds: a full build, a rebuild with nothing changed, and a rebuild after one
chapter changed, at several corpus sizes, with the peak memory of each.

"One chapter" adds text to one chapter (its section row changes); "one status" then changes
one statement's status in another (the statements and status_history change).
Each size gets a fresh corpus from ../shared/bench/make_corpus.py (PLEDGEPACK_CORPUS_SCRIPT
to use another copy) and a cache folder of its own (XDG_CACHE_HOME; the corpus is not a git
repository). Each run is `build(corpus, out)` in a fresh child process, timed around the call
and what `pledgepack build` does just before it (imports not included); peak RSS is the
child's own (getrusage), workers not included; the peak PSS of all its processes together
(bench_build.py's DescendantSampler, sampled every 50 ms) is printed below each size, and
the CPU seconds (user and system) of the child and of the processes it waited for (the
database's child, the parse's workers), with how many of the machine's cores that keeps busy
over the build's wall time: near the core count, a rebuild is bound by the work it does, not
by waiting, and only less work makes it faster.
Below that, the same four builds as `python -m pledgepack build`, timed from the process's
start to its exit, as a user waits for them (Python's start and the imports included).
Ratios are taken within one run of this script: rebuild / full build.

Usage: bench_rebuild.py [--sizes 10k,100k,300k] [--repeat N]
A size is statements, made as 40 documents x 25 chapters x (size / 1000) statements.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS_SCRIPT = Path(os.environ.get("PLEDGEPACK_CORPUS_SCRIPT")
                     or REPO.parent / "shared" / "bench" / "make_corpus.py")
CHILD_FLAG = "--child"
KINDS = ("full", "unchanged", "one chapter", "one status")
SETTLE_SECONDS = 2.5


def child(corpus: str, out: str) -> int:
    from pledgepack.workers import quiet_blas

    quiet_blas()  # as `pledgepack build` does first, before numpy is imported
    from pledgepack.build import build, command_pyarrow
    # an import, like those above: not timed (the command imports it once it has work to do;
    # the command line's own times, imports and all, are bench_rebuild.py's last line)
    import pyarrow  # noqa: F401

    from bench_build import DescendantSampler

    sampler = DescendantSampler()
    sampler.start()
    cpu = _cpu_seconds()
    started = time.perf_counter()
    command_pyarrow()  # as `pledgepack build` does before the build
    result = build(corpus, out)
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    sampler.stop()
    print(json.dumps({"seconds": seconds, "up_to_date": result.up_to_date,
                      "pss_kib": sampler.peak_pss_kib, "cpu_seconds": cpu,
                      "timings": result.timings,
                      "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
    return 0


def _cpu_seconds() -> float:
    """User and system CPU seconds of this process and of the children it has waited for."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                          resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_build(corpus: Path, out: Path, cache: Path) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache),
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO / "src"),
                                                      os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), CHILD_FLAG,
                           str(corpus), str(out)], capture_output=True, text=True, env=env)
    if proc.returncode:
        sys.exit(f"bench: build failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_command(corpus: Path, out: Path, cache: Path) -> dict:
    """`pledgepack build` as a user runs it: wall time from the process's start to its exit,
    Python's start, the imports and the end of the process included."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache),
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO / "src"),
                                                      os.environ.get("PYTHONPATH")) if p)}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pledgepack", "build", "--content",
                           str(corpus), "--out", str(out)], capture_output=True, text=True,
                          env=env)
    seconds = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"bench: pledgepack build failed:\n{proc.stderr}")
    return {"seconds": seconds, "up_to_date": " is up to date: " in proc.stdout}


def edit_one_chapter(corpus: Path, n: int) -> None:
    """The text of one chapter: its section's row changes, its statements stay."""
    chapter = sorted(corpus.rglob("*.md"))[0]
    chapter.write_text(chapter.read_text(encoding="utf-8") + f"\nEdit {n}.\n", encoding="utf-8")


def edit_one_status(corpus: Path, n: int) -> None:
    """An editor's usual change: the status of one statement, in another chapter; the
    statements and status_history tables change."""
    chapter = sorted(corpus.rglob("*.md"))[1]
    text = chapter.read_text(encoding="utf-8")
    match = re.search(r"^(\s*status: )(\S+)$", text, re.MULTILINE)
    if match is None:
        sys.exit(f"bench: no status line in {chapter}")
    new = "implemented" if match.group(2) != "implemented" else "not_implemented"
    chapter.write_text(text[:match.start(2)] + new + text[match.end(2):], encoding="utf-8")


def measure(size: int, repeat: int, work: Path) -> dict[str, list[dict]]:
    corpus = work / f"corpus-{size}"
    subprocess.run([sys.executable, str(CORPUS_SCRIPT), "--documents", "40", "--chapters",
                    "25", "--statements", str(max(1, size // 1000)), str(corpus)],
                   check=True, capture_output=True)
    # An editor's chapters are older than the build: a file written moments before a build
    # reads it is read again by the next one (content/cache.py's SETTLED_NS, 2 s), which a
    # corpus made a moment ago would measure instead of a rebuild. The edits below are
    # measured as editors make them, just before the build.
    time.sleep(SETTLE_SECONDS)
    runs: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    runs.update({f"command {kind}": [] for kind in KINDS})
    for n in range(repeat):
        cache, out = work / f"cache-{size}-{n}", work / f"out-{size}-{n}"
        runs["full"].append(run_build(corpus, out, cache))
        runs["unchanged"].append(run_build(corpus, out, cache))
        edit_one_chapter(corpus, n)
        runs["one chapter"].append(run_build(corpus, out, cache))
        edit_one_status(corpus, n)
        runs["one status"].append(run_build(corpus, out, cache))
        if not runs["unchanged"][-1]["up_to_date"] or runs["one chapter"][-1]["up_to_date"] \
                or runs["one status"][-1]["up_to_date"]:
            sys.exit("bench: a rebuild did not do what it should")
        # the same, as the command line runs it
        cache, out = work / f"cache-{size}-{n}-command", work / f"out-{size}-{n}-command"
        runs["command full"].append(run_command(corpus, out, cache))
        runs["command unchanged"].append(run_command(corpus, out, cache))
        edit_one_chapter(corpus, repeat + n)
        runs["command one chapter"].append(run_command(corpus, out, cache))
        edit_one_status(corpus, repeat + n)
        runs["command one status"].append(run_command(corpus, out, cache))
        if not runs["command unchanged"][-1]["up_to_date"] \
                or runs["command one chapter"][-1]["up_to_date"] \
                or runs["command one status"][-1]["up_to_date"]:
            sys.exit("bench: a rebuild by the command line did not do what it should")
    return runs


def main(argv: list[str]) -> int:
    if argv[:1] == [CHILD_FLAG]:
        return child(*argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k",
                        help="statements per corpus, comma-separated (default 10k,100k)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    sizes = [int(s.lower().replace("k", "000")) for s in args.sizes.split(",")]
    if not CORPUS_SCRIPT.is_file():
        print(f"bench: corpus generator not found at {CORPUS_SCRIPT}; set "
              "PLEDGEPACK_CORPUS_SCRIPT", file=sys.stderr)
        return 2
    print(f"rebuild benchmark, {args.repeat} repeat(s) per size, medians; "
          "rss = peak of the build's main process")
    print(f"{'statements':>10} {'full s':>8} {'rss MiB':>8} {'unchanged s':>12} {'ratio':>6} "
          f"{'rss MiB':>8} {'one chapter s':>14} {'ratio':>6} {'rss MiB':>8} "
          f"{'one status s':>13} {'ratio':>6} {'rss MiB':>8}")
    with tempfile.TemporaryDirectory(prefix="pledgepack-rebuild-") as tmp:
        for size in sizes:
            runs = measure(size, args.repeat, Path(tmp))
            sec = {k: statistics.median(r["seconds"] for r in runs[k]) for k in KINDS}
            rss = {k: statistics.median(r["rss_kib"] for r in runs[k]) / 1024 for k in KINDS}
            ratio = {k: statistics.median(b["seconds"] / a["seconds"] for a, b in
                                          zip(runs["full"], runs[k])) for k in KINDS}
            print(f"{size:>10} {sec['full']:8.2f} {rss['full']:8.0f} {sec['unchanged']:12.2f} "
                  f"{ratio['unchanged']:6.2f} {rss['unchanged']:8.0f} "
                  f"{sec['one chapter']:14.2f} {ratio['one chapter']:6.2f} "
                  f"{rss['one chapter']:8.0f} {sec['one status']:13.2f} "
                  f"{ratio['one status']:6.2f} {rss['one status']:8.0f}")
            pss = {k: statistics.median(r["pss_kib"] for r in runs[k]) / 1024 for k in KINDS}
            print(" " * 10 + " peak PSS of all processes (MiB): " + ", ".join(
                f"{kind} {pss[kind]:.0f}" for kind in KINDS))
            cpu = {k: statistics.median(r["cpu_seconds"] for r in runs[k]) for k in KINDS}
            busy = {k: statistics.median(r["cpu_seconds"] / r["seconds"] for r in runs[k])
                    for k in KINDS}
            print(" " * 10 + f" CPU s of all processes (cores busy of {os.cpu_count()}): "
                  + ", ".join(f"{kind} {cpu[kind]:.2f} ({busy[kind]:.1f})" for kind in KINDS))
            wall = {k: statistics.median(r["seconds"] for r in runs[f"command {k}"])
                    for k in KINDS}
            of_full = {k: statistics.median(b["seconds"] / a["seconds"] for a, b in zip(
                runs["command full"], runs[f"command {k}"])) for k in KINDS}
            print(" " * 10 + " the command line, start to exit (s): " + ", ".join(
                f"{kind} {wall[kind]:.2f}" + ("" if kind == "full" else f" ({of_full[kind]:.2f}x)")
                for kind in KINDS))
            for kind in ("full", "one chapter", "one status"):
                phases = {k: statistics.median(r["timings"].get(k, 0.0) for r in runs[kind])
                          for k in ("parse", "tables", "write", "validate", "duckdb")}
                print(" " * 10 + f" {kind} phases: " + ", ".join(
                    f"{k} {v:.2f}" for k, v in phases.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
