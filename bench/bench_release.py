"""What a release costs on top of a build, and whether its zip stays reproducible at scale.

Two corpora from ../shared/bench/make_corpus.py (PLEDGEPACK_CORPUS_SCRIPT to use another copy):

* a history corpus (a git repository: --documents 5 --chapters 20 --statements 20
  --commits 2000) with tag v1.0.0 on the commit 500 before HEAD. Each repeat releases 1.1.0
  into a fresh folder: the previous release is rebuilt from a worktree at the tag, then the
  new one is built, validated in full and documented. Figures: the plain build of the same
  content for comparison, the release, and the number of status changes in its changelog.
* the 100k-statement corpus of bench_build.py (no git; SOURCE_DATE_EPOCH fixed), released
  twice into different folders: both times, and whether the two zips are byte-identical.

Both corpora get a package.yaml naming an author, as a release needs. Medians over --repeat
runs; each run is a fresh child process with no cache from the runs before (the chapter and
history caches of the repository are removed, and each run has a cache folder of its own).
Usage: bench_release.py [--repeat N] [--statements N]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS_SCRIPT = REPO.parent / "shared" / "bench" / "make_corpus.py"
CHILD_FLAG = "--child"


def child(kind: str, content: str, out: str, version: str) -> dict:
    from pledgepack.build import build
    from pledgepack.release.cut import release

    started = time.perf_counter()
    if kind == "build":
        build(content, out)
        return {"seconds": time.perf_counter() - started}
    result = release(content, out, version=version)
    seconds = time.perf_counter() - started
    changes = sum(1 for line in result.changelog.splitlines() if " → " in line)
    return {"seconds": seconds, "zip_bytes": result.zip.stat().st_size,
            "zip_sha256": result.sums.read_text().split("\n")[0], "changes": changes,
            "previous": result.previous.label if result.previous else None,
            "zip": str(result.zip)}


def run_child(kind: str, content: Path, out: Path, version: str = "1.1.0",
              env: dict | None = None) -> dict:
    environment = dict(env or os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO / "src"), environment.get("PYTHONPATH")) if p)
    # outside git the chapter cache would go into the user's: one of its own, empty
    environment["XDG_CACHE_HOME"] = str(out.parent / f"cache-{out.name}")
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), CHILD_FLAG, kind,
                           str(content), str(out), version], capture_output=True, text=True,
                          env=environment)
    if proc.returncode:
        sys.exit(f"bench: {kind} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# The corpus's own metadata, as a tracker writes it once: a release must name its authors.
PACKAGE_YAML = """\
name: bench-pledges
title: "Bench pledge tracker"
contributors:
  - title: Bench Tracker
    roles: [author, publisher]
licenses:
  - name: CC-BY-4.0
    path: https://creativecommons.org/licenses/by/4.0/
    title: Creative Commons Attribution 4.0 International
"""


def corpus(script: Path, target: Path, *args: str) -> Path:
    subprocess.run([sys.executable, str(script), *args, str(target)], check=True,
                   capture_output=True)
    return target


def add_metadata(content: Path, commit: bool) -> None:
    """package.yaml in the content folder, committed where the corpus is a repository."""
    (content / "package.yaml").write_text(PACKAGE_YAML, encoding="utf-8")
    if commit:
        for args in (["add", "package.yaml"],
                     ["-c", "user.name=bench", "-c", "user.email=bench@example.org", "commit",
                      "-q", "-m", "The tracker's metadata"]):
            subprocess.run(["git", "-C", str(content), *args], check=True)


def cold(content: Path) -> None:
    """No chapter or history cache left from the run before: each run reads everything."""
    shutil.rmtree(content / ".git" / "pledgepack", ignore_errors=True)


def main(argv: list[str]) -> int:
    if argv[:1] == [CHILD_FLAG]:
        print(json.dumps(child(*argv[1:])))
        return 0
    parser = argparse.ArgumentParser(description="Time pledgepack release.")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--statements", type=int, default=100,
                        help="per chapter in the 40 x 25 corpus (default 100: 100k statements)")
    args = parser.parse_args(argv)
    script = Path(os.environ.get("PLEDGEPACK_CORPUS_SCRIPT") or DEFAULT_CORPUS_SCRIPT)
    if not script.is_file():
        print(f"bench: corpus generator not found at {script}; set PLEDGEPACK_CORPUS_SCRIPT",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="pledgepack-bench-release-") as tmp:
        work = Path(tmp)
        history = corpus(script, work / "history", "--documents", "5", "--chapters", "20",
                         "--statements", "20", "--commits", "2000")
        subprocess.run(["git", "-C", str(history), "tag", "v1.0.0", "HEAD~500"], check=True)
        add_metadata(history, commit=True)
        builds, releases = [], []
        for n in range(args.repeat):
            cold(history)
            builds.append(run_child("build", history, work / f"h-build-{n}"))
            cold(history)
            releases.append(run_child("release", history, work / f"h-release-{n}"))
        last = releases[-1]
        print("pledgepack release benchmark")
        print(f"history corpus: 5 documents x 20 chapters x 20 statements, 2000 commits; "
              f"release 1.1.0 since {last['previous']}, {args.repeat} repeat(s)")
        build_s = statistics.median(r["seconds"] for r in builds)
        release_s = statistics.median(r["seconds"] for r in releases)
        print(f"  build (gate validation)           median {build_s:7.2f} s")
        print(f"  release (previous rebuilt, full)  median {release_s:7.2f} s   "
              f"{release_s / build_s:.1f}x the build")
        print(f"  changelog: {last['changes']} status changes; zip {last['zip_bytes'] / 1e6:.1f} MB")

        big = corpus(script, work / "big", "--documents", "40", "--chapters", "25",
                     "--statements", str(args.statements))
        add_metadata(big, commit=False)
        env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
        first = run_child("release", big, work / "big-a", "1.0.0", env)
        second = run_child("release", big, work / "big-b", "1.0.0", env)
        same = Path(first["zip"]).read_bytes() == Path(second["zip"]).read_bytes()
        print(f"40 x 25 x {args.statements} corpus (no git), released twice into two folders:")
        print(f"  release  {first['seconds']:7.2f} s and {second['seconds']:7.2f} s; zip "
              f"{first['zip_bytes'] / 1e6:.1f} MB; byte-identical: {'yes' if same else 'NO'}")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
