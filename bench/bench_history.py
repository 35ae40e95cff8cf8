"""Benchmark of the git history walk (`pledgepack.history.walk.git_history`).

Three measurements, each the median of --repeat runs, on repositories made by
../shared/bench/make_corpus.py (set PLEDGEPACK_CORPUS_SCRIPT to use another copy):

1. The walk on `--documents 5 --chapters 20 --statements 20 --commits 2000`: a full walk
   without cache, and a rebuild after one more commit with the cache.
2. How the cost grows: the same number of commits over 4x as many chapter files (the
   commits touch about as many files, so the time should barely move), and twice the
   commits (the time should about double). Cost follows the file versions read, not
   commits x files.
3. Against git-history, when it is installed (`pip install git-history`): a one-chapter
   repository with as many commits as the walk's bench repository (`--documents 1
   --chapters 1 --statements 20 --commits 2000`), git-history with a --convert that reads the
   front matter's statements, beside our walk. Aim: the walk at least 20x faster. git-history
   runs once (it takes minutes); the walk --repeat times.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pledgepack.history.walk import git_history
from pledgepack.schema import PackageSchema

REPO = Path(__file__).resolve().parent.parent
CORPUS_SCRIPT = Path(os.environ.get("PLEDGEPACK_CORPUS_SCRIPT",
                                    REPO.parent / "shared" / "bench" / "make_corpus.py"))
SCHEMA = PackageSchema.load()
CODES = {"statuses": frozenset(SCHEMA.statuses), "measures": frozenset(SCHEMA.measures)}
CONVERT = ("text = content.decode('utf-8')\n"
           "front = text.split('\\n---\\n', 1)[0].split('---\\n', 1)[1]\n"
           "return yaml.load(front, Loader=yaml.CSafeLoader)['statements']")


def make_corpus(folder: Path, documents: int, chapters: int, statements: int,
                commits: int) -> Path:
    subprocess.run([sys.executable, str(CORPUS_SCRIPT), "--documents", str(documents),
                    "--chapters", str(chapters), "--statements", str(statements),
                    "--commits", str(commits), str(folder)], check=True, capture_output=True)
    return folder


def median_time(repeat: int, fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def walk(corpus: Path, cache: Path | None = None):
    return git_history(corpus, **CODES, cache_dir=cache)


def versions_read(corpus: Path) -> int:
    """Chapter file versions the walk has to parse: distinct blobs in the history."""
    out = subprocess.run(["git", "-C", str(corpus), "log", "--first-parent", "--raw",
                          "--no-abbrev", "--format=", "--", "*.md"],
                         capture_output=True, text=True, check=True).stdout
    return len({line.split()[3] for line in out.splitlines() if line.startswith(":")})


def commit_one_more(corpus: Path) -> None:
    chapter = next(corpus.glob("vertrag-000/*.md"))
    text = chapter.read_text(encoding="utf-8")
    chapter.write_text(text.replace("status: not_implemented", "status: implemented", 1),
                       encoding="utf-8")
    env = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@example.org",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "b@example.org"}
    subprocess.run(["git", "-C", str(corpus), "commit", "-qam", "one more"], env=env, check=True)


def bench_walk(work: Path, repeat: int) -> None:
    """A full walk, then an incremental one after one more commit."""
    corpus = make_corpus(work / "hist", 5, 20, 20, 2000)
    full, result = median_time(repeat, lambda: walk(corpus))
    cache = work / "cache"
    walk(corpus, cache=cache)
    commit_one_more(corpus)
    incremental, again = median_time(1, lambda: walk(corpus, cache=cache))
    print(f"walk: 5 documents x 20 chapters x 20 statements, {result.commits} commits, "
          f"{versions_read(corpus)} chapter versions, {len(result.changes)} rows")
    print(f"  full walk, no cache       {full:8.3f} s")
    print(f"  after one more commit     {incremental:8.3f} s (cache; {again.commits_read} "
          f"commit read)")


def bench_growth(work: Path, repeat: int) -> None:
    print("growth: seconds for a full walk, by chapters and commits")
    print(f"  {'chapters':>8} {'commits':>8} {'versions':>9} {'seconds':>8} {'ms/version':>11}")
    for chapters, commits in ((20, 1000), (80, 1000), (20, 2000)):
        corpus = make_corpus(work / f"grow-{chapters}-{commits}", 5, chapters, 20, commits)
        seconds, _ = median_time(repeat, lambda: walk(corpus))
        versions = versions_read(corpus)
        print(f"  {chapters:>8} {commits:>8} {versions:>9} {seconds:>8.3f} "
              f"{1000 * seconds / versions:>11.2f}")


def bench_git_history(work: Path, repeat: int) -> None:
    tool = shutil.which("git-history") or str(Path(sys.executable).parent / "git-history")
    if not Path(tool).exists():
        print("git-history: not installed (pip install git-history); comparison skipped")
        return
    corpus = make_corpus(work / "one-chapter", 1, 1, 20, 2000)
    # git-history follows one path, the one at HEAD, and not across renames.
    chapter = next(corpus.glob("vertrag-000/*.md")).relative_to(corpus).as_posix()
    followed = subprocess.run(["git", "-C", str(corpus), "log", "--format=%H", "--", chapter],
                              capture_output=True, text=True, check=True).stdout.split()

    def run_git_history() -> None:
        database = work / "git-history.db"
        database.unlink(missing_ok=True)
        subprocess.run([tool, "file", str(database), chapter, "--repo", str(corpus), "--id", "id",
                        "--import", "yaml", "--convert", CONVERT, "--silent"],
                       check=True, capture_output=True)

    theirs, _ = median_time(1, run_git_history)
    ours, result = median_time(repeat, lambda: walk(corpus))
    print(f"git-history: 1 chapter, {len(result.changes)} status rows, {result.commits} commits")
    print(f"  git-history file --convert  {theirs:8.3f} s  ({len(followed)} commits of {chapter}:"
          " it does not follow the chapter's renames)")
    print(f"  pledgepack walk             {ours:8.3f} s  (all {result.commits} commits)")
    print(f"  pledgepack is {theirs / ours:.1f}x faster (aim: at least 20x); per commit read "
          f"{(theirs / len(followed)) / (ours / result.commits):.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not CORPUS_SCRIPT.exists():
        print(f"corpus script not found: {CORPUS_SCRIPT} (set PLEDGEPACK_CORPUS_SCRIPT)",
              file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="pledgepack-history-bench-"))
    try:
        bench_walk(work, args.repeat)
        bench_growth(work, args.repeat)
        bench_git_history(work, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
