"""Benchmark of `pledgepack.build.build()` on a synthetic corpus, against a YAML floor.

What it measures
----------------
The corpus comes from ../shared/bench/make_corpus.py (beside the repository; set
PLEDGEPACK_CORPUS_SCRIPT to use another copy) and is written to a temporary folder.
The default is 40 documents x 25 chapters x 100 statements = 100k statements.

Each repeat runs two things, one after the other, each in a fresh child process:

* the YAML floor: for every chapter file, read it, split off the front matter with
  `pledgepack.content.yamltext.HANDLER.split()` and load it with `yaml.CSafeLoader`, in a single
  process. This is about the least any build must do to read the content; finding the
  files is not timed.
* a full `build(corpus, out)` into a fresh out folder, with its phase timings
  (parse, tables, write, validate, duckdb), the time outside the phases ("other": schema
  loading, the `git log` timestamp, building the descriptor, the final swap) and the
  total wall time of the call (imports not included; what `pledgepack build` does just
  before it, command_pyarrow, included).

Each child reports its peak resident memory with getrusage: RUSAGE_SELF for its own
process, RUSAGE_CHILDREN for the largest of its descendants (the build's pools run under
multiprocessing's forkserver, which the child stops and waits for, so that the workers it
reaped are counted). ru_maxrss is in KiB on Linux; the report shows MiB.
Caveat: a child started with fork/vfork + exec (the build runs `git log`) inherits the
parent's high-water mark in ru_maxrss, so RUSAGE_CHILDREN can read as large as the main
process was at that moment. The build child therefore also polls /proc every 50 ms for
the peak RSS (VmHWM) of each descendant; "largest worker (sampled)" is that number.
The same poll sums the proportional set size (Pss in /proc/PID/smaps_rollup: each shared
page divided among the processes that map it) of the build's process and all of its
descendants at that moment; "all processes, PSS (sampled)" is the largest such sum:
the memory the build takes from the machine, each page counted once. A peak shorter than the
poll's 50 ms may fall between two samples.

How to read it
--------------
The medians table is the summary; the per-repeat rows are the raw numbers. Machines
are noisy, so "total / floor" is the median of the ratios taken within each repeat, not
the ratio of the medians: it says how many times the cost of merely parsing the YAML
the build takes. "after the parse / floor" is the same for all the build does once the
chapters are read (tables, files, validation, database, swap). "largest phase" is where to
look first when making the build faster.

Usage: bench_build.py [--documents N] [--chapters N] [--statements N] [--repeat N]
A quick run: bench_build.py --documents 2 --chapters 5 --statements 10 --repeat 1
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS_SCRIPT_ENV = "PLEDGEPACK_CORPUS_SCRIPT"
DEFAULT_CORPUS_SCRIPT = REPO.parent / "shared" / "bench" / "make_corpus.py"
PHASES = ("parse", "tables", "write", "validate", "duckdb")
# The checks of the build's validation gate (the frictionless row pass is not one of them).
VALIDATE_CHECKS = ("descriptor", "files", "parquet", "csv-parquet")
RSS_COLUMNS = ("rss_main", "rss_child", "rss_worker", "pss_tree")
CHILD_FLAG = "--child"
MIB = 1024 * 1024


# --- child processes -------------------------------------------------------------------

def chapter_files(corpus: Path) -> list[Path]:
    """The chapter files of the corpus (*.md, not hidden), in a stable order."""
    return sorted(p for p in corpus.rglob("*.md")
                  if not any(part.startswith(".") for part in p.relative_to(corpus).parts))


def peak_rss() -> dict[str, int]:
    """Peak RSS in KiB of this process and of its largest waited-for descendant."""
    return {"rss_self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "rss_children_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}


def stop_forkserver() -> None:
    """Stop multiprocessing's forkserver and wait for it, so RUSAGE_CHILDREN includes it
    and the pool workers it reaped (they are its children, not ours)."""
    from multiprocessing import forkserver

    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)
    if stop:
        stop()


class DescendantSampler(threading.Thread):
    """Polls /proc for the peak RSS (VmHWM, KiB) of every descendant of this process, and
    for the largest sum of the PSS (KiB) of this process and its descendants at one time."""

    def __init__(self, interval: float = 0.05):
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_kib: dict[int, int] = {}
        self.peak_pss_kib = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.sample()

    def stop(self) -> int | None:
        """Stop polling; the largest peak seen, or None without /proc."""
        self._done.set()
        self.join()
        return max(self.peak_kib.values(), default=0) if os.path.isdir("/proc") else None

    def sample(self) -> None:
        descendants = self._descendants()
        for pid in descendants:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    kib = int(line.split()[1])
                    self.peak_kib[pid] = max(kib, self.peak_kib.get(pid, 0))
        pss = 0
        for pid in (os.getpid(), *descendants):
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue  # gone, or no smaps_rollup (before Linux 4.14)
            pss += next((int(line.split()[1]) for line in rollup.splitlines()
                         if line.startswith("Pss:")), 0)
        self.peak_pss_kib = max(self.peak_pss_kib, pss)

    @staticmethod
    def _descendants() -> set[int]:
        children: dict[int, list[int]] = {}
        try:
            entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
        except OSError:
            return set()
        for name in entries:
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(name))
        found, todo = set(), [os.getpid()]
        while todo:
            for pid in children.get(todo.pop(), []):
                if pid not in found:
                    found.add(pid)
                    todo.append(pid)
        return found


def child_floor(corpus: Path) -> dict:
    """Read, split and load the front matter of every chapter, single process."""
    import yaml

    from pledgepack.content.yamltext import HANDLER

    files = chapter_files(corpus)
    statements = 0
    started = time.perf_counter()
    for path in files:
        fm, _body = HANDLER.split(path.read_text(encoding="utf-8"))
        meta = yaml.load(fm, Loader=yaml.CSafeLoader) or {}
        statements += len(meta.get("statements") or [])
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "files": len(files), "statements": statements, **peak_rss()}


def child_build(corpus: Path, out: Path) -> dict:
    """One full build, with its phase timings and total wall time."""
    import pledgepack
    from pledgepack.workers import quiet_blas

    quiet_blas()  # as `pledgepack build` does first, before numpy is imported
    from pledgepack.build import build, command_pyarrow
    # an import, like those above: not timed (the command imports it once it has work to do;
    # the command line's own times, imports and all, are bench_rebuild.py's last line)
    import pyarrow  # noqa: F401

    sampler = DescendantSampler()
    sampler.start()
    started = time.perf_counter()
    command_pyarrow()  # as `pledgepack build` does before the build
    result = build(corpus, out)
    total = time.perf_counter() - started
    worker_kib = sampler.stop()
    pss_kib = sampler.peak_pss_kib
    # The build's peaks, read before anything else runs here: the full validation below
    # holds more than the build does.
    stop_forkserver()
    rss = peak_rss()
    # What `pledgepack validate` (and a release) adds on top: the frictionless pass over
    # every CSV row, which the build's own gate leaves out. Timed after the build, not in it.
    from pledgepack.check.validate import validate_package

    started = time.perf_counter()
    full = validate_package(out)
    full_seconds = time.perf_counter() - started
    stop_forkserver()
    return {"timings": result.timings, "validate": result.report.timings, "total": total,
            "full_validate": full_seconds, "full_valid": full.valid,
            "counts": result.counts,
            "module": str(Path(pledgepack.__file__).parent), "rss_worker_kib": worker_kib,
            "pss_tree_kib": pss_kib, **rss}


def child_main(args: list[str]) -> int:
    """Entry point of a child process: run one measurement, print it as JSON."""
    kind, *paths = args
    runners = {"floor": child_floor, "build": child_build}
    print(json.dumps(runners[kind](*map(Path, paths))))
    return 0


# --- parent: corpus and measurements ---------------------------------------------------

def corpus_script() -> Path:
    """make_corpus.py from the environment variable or beside the repository."""
    return Path(os.environ.get(CORPUS_SCRIPT_ENV) or DEFAULT_CORPUS_SCRIPT)


def make_corpus(script: Path, corpus: Path, args: argparse.Namespace) -> None:
    command = [sys.executable, str(script), "--documents", str(args.documents),
               "--chapters", str(args.chapters), "--statements", str(args.statements),
               str(corpus)]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"bench: {script.name} failed (exit {proc.returncode}):\n{proc.stderr}")


def child_env() -> dict[str, str]:
    """Environment for the children: this checkout's src/ first on the import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO / "src"), env.get("PYTHONPATH")) if p)
    return env


def run_child(kind: str, *paths: Path, cache: Path | None = None) -> dict:
    """Run one measurement in a fresh Python process and return what it reported; a build
    gets an empty chapter cache of its own (`cache`), so that every repeat is a full build."""
    command = [sys.executable, str(Path(__file__).resolve()), CHILD_FLAG, kind,
               *map(str, paths)]
    env = child_env()
    if cache is not None:
        env["XDG_CACHE_HOME"] = str(cache)
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    if proc.returncode:
        sys.exit(f"bench: {kind} run failed (exit {proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(corpus: Path, work: Path, repeat: int) -> list[dict]:
    """Floor and build alternately, `repeat` times; one row of numbers per repeat."""
    rows = []
    for n in range(1, repeat + 1):
        floor = run_child("floor", corpus)
        out = work / f"out-{n}"
        built = run_child("build", corpus, out, cache=work / f"cache-{n}")
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(work / f"cache-{n}", ignore_errors=True)
        row = {"floor": floor["seconds"], **{p: built["timings"].get(p, 0.0) for p in PHASES}}
        row["other"] = built["total"] - sum(built["timings"].values())
        row["total"] = built["total"]
        row["ratio"] = built["total"] / floor["seconds"]
        # everything once the chapters are read: the tables, files, validation and database
        after = built["total"] - sum(built["timings"].get(p, 0.0)
                                     for p in ("history", "check", "parse"))
        row["after_parse_ratio"] = after / floor["seconds"]
        row["full_validate"] = built["full_validate"]
        if not built["full_valid"]:
            sys.exit("bench: the built package failed `pledgepack validate`")
        row["rss_floor"] = floor["rss_self_kib"] / 1024
        row["rss_main"] = built["rss_self_kib"] / 1024
        row["rss_child"] = built["rss_children_kib"] / 1024
        row["rss_worker"] = (built["rss_worker_kib"] or 0) / 1024
        row["pss_tree"] = built["pss_tree_kib"] / 1024
        for check in VALIDATE_CHECKS:
            row[f"validate:{check}"] = built["validate"].get(check, 0.0)
        rows.append({"row": row, "floor": floor, "build": built})
    return rows


# --- report -----------------------------------------------------------------------------

def corpus_bytes(corpus: Path) -> int:
    return sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())


def median(rows: list[dict], key: str) -> float:
    return statistics.median(r["row"][key] for r in rows)


def print_header(args: argparse.Namespace, corpus: Path, runs: list[dict]) -> None:
    first = runs[0]
    counts = first["build"]["counts"]
    print("pledgepack build benchmark")
    print(f"corpus:     {args.documents} documents x {args.chapters} chapters x "
          f"{args.statements} statements")
    print(f"            {first['floor']['files']} chapter files, "
          f"{first['floor']['statements']} statements, {corpus_bytes(corpus) / MIB:.1f} MiB")
    print("built rows: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    print(f"pledgepack: {first['build']['module']}")
    print(f"python:     {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{args.repeat} repeat(s)")


def print_medians(runs: list[dict]) -> None:
    total = median(runs, "total")
    print()
    print(f"medians over {len(runs)} repeat(s)        seconds   % of total")
    for key, label in (("floor", "yaml floor (1 process)"), *((p, p) for p in PHASES),
                       ("other", "other (outside phases)"), ("total", "total build")):
        value = median(runs, key)
        print(f"  {label:<30} {value:8.3f}   {100 * value / total:9.1f}")
    print(f"  {'pledgepack validate (full)':<30} {median(runs, 'full_validate'):8.3f}"
          "   run after the build, not part of it")
    print()
    print("inside the build's validate (medians, seconds)")
    for check in VALIDATE_CHECKS:
        print(f"  {check:<30} {median(runs, f'validate:{check}'):8.3f}")
    print()
    print("peak RSS (MiB)")
    print(f"  {'yaml floor process':<30} {median(runs, 'rss_floor'):8.1f}")
    print(f"  {'build main process':<30} {median(runs, 'rss_main'):8.1f}")
    print(f"  {'build largest child (rusage)':<30} {median(runs, 'rss_child'):8.1f}")
    print(f"  {'build largest worker (sampled)':<30} {median(runs, 'rss_worker'):8.1f}")
    print(f"  {'all processes, PSS (sampled)':<30} {median(runs, 'pss_tree'):8.1f}")
    print()
    largest = max(PHASES, key=lambda p: median(runs, p))
    print(f"total / floor (median of per-repeat ratios): {median(runs, 'ratio'):.2f}x")
    print(f"after the parse / floor (the same):          "
          f"{median(runs, 'after_parse_ratio'):.2f}x")
    print(f"largest phase: {largest} ({median(runs, largest):.3f} s, "
          f"{100 * median(runs, largest) / total:.1f}% of total)")


def print_raw(runs: list[dict]) -> None:
    columns = ("floor", *PHASES, "other", "total", "ratio", *RSS_COLUMNS)
    print()
    print("per repeat (seconds; ratio = total/floor; rss in MiB)")
    print("  " + " ".join(f"{c:>10}" for c in ("#", *columns)))
    for n, run in enumerate(runs, 1):
        cells = [f"{run['row'][c]:10.1f}" if c in RSS_COLUMNS else f"{run['row'][c]:10.3f}"
                 for c in columns]
        print("  " + " ".join([f"{n:>10}", *cells]))


# --- main -------------------------------------------------------------------------------

def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time each phase of pledgepack's build against a YAML-parsing floor.")
    parser.add_argument("--documents", type=positive, default=40)
    parser.add_argument("--chapters", type=positive, default=25, help="per document")
    parser.add_argument("--statements", type=positive, default=100, help="per chapter")
    parser.add_argument("--repeat", type=positive, default=3,
                        help="floor/build pairs to run (default 3)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    if argv[:1] == [CHILD_FLAG]:
        return child_main(argv[1:])
    args = parse_args(argv)
    script = corpus_script()
    if not script.is_file():
        source = CORPUS_SCRIPT_ENV if os.environ.get(CORPUS_SCRIPT_ENV) else \
            "<repo>/../shared/bench/make_corpus.py"
        print(f"bench: corpus generator not found: looked for {script} (from {source}); "
              f"set {CORPUS_SCRIPT_ENV} to its path", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="pledgepack-bench-") as tmp:
        work = Path(tmp)
        corpus = work / "corpus"
        make_corpus(script, corpus, args)
        runs = measure(corpus, work, args.repeat)
        print_header(args, corpus, runs)
        print_medians(runs)
        print_raw(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
