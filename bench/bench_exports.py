"""Benchmark of the exports (pledges.sqlite, its datasette metadata, pledges.xlsx) against the
build they come from, on a synthetic corpus (default 100k statements).

The corpus comes from ../shared/bench/make_corpus.py (or PLEDGEPACK_CORPUS_SCRIPT). Each repeat
builds the package into a fresh folder (timed: the build's wall time, imports not counted),
then times reading the tables from the Parquet files, writing the SQLite file with its
full-text index, and writing the workbook; it prints each as a share of the build. An export
that costs less than a tenth of a build may come with every build; otherwise it belongs to
releases only.

Usage: bench_exports.py [--documents N] [--chapters N] [--statements N] [--repeat N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS_SCRIPT = REPO.parent / "shared" / "bench" / "make_corpus.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=40)
    parser.add_argument("--chapters", type=int, default=25)
    parser.add_argument("--statements", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    script = Path(os.environ.get("PLEDGEPACK_CORPUS_SCRIPT", DEFAULT_CORPUS_SCRIPT))

    from pledgepack.build import build
    from pledgepack.exports.datasette import datasette_metadata, metadata_json
    from pledgepack.exports.files import SEARCHABLE
    from pledgepack.exports.package import read_descriptor, read_tables
    from pledgepack.exports.sqlite import write_sqlite
    from pledgepack.exports.xlsx import write_xlsx

    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="pledgepack-bench-exports-") as scratch:
        corpus = Path(scratch) / "corpus"
        subprocess.run([sys.executable, str(script), "--documents", str(args.documents),
                        "--chapters", str(args.chapters), "--statements", str(args.statements),
                        str(corpus)], check=True, stdout=subprocess.DEVNULL)
        for repeat in range(args.repeat):
            out = Path(scratch) / f"dist-{repeat}"
            steps = {}
            # an empty chapter cache each time: every repeat is a full build
            os.environ["XDG_CACHE_HOME"] = str(Path(scratch) / f"cache-{repeat}")
            start = time.perf_counter()
            build(corpus, out, git_history=False)
            steps["build"] = time.perf_counter() - start
            start = time.perf_counter()
            descriptor = read_descriptor(out)
            tables = read_tables(out, descriptor)
            steps["read tables"] = time.perf_counter() - start
            start = time.perf_counter()
            write_sqlite(tables, out / "pledges.sqlite", fts=SEARCHABLE)
            (out / "pledges.datasette.json").write_text(
                metadata_json(datasette_metadata(descriptor, tables, "pledges", SEARCHABLE)))
            steps["sqlite + metadata"] = time.perf_counter() - start
            start = time.perf_counter()
            write_xlsx(descriptor, tables, out / "pledges.xlsx")
            steps["xlsx"] = time.perf_counter() - start
            sizes = {n: (out / n).stat().st_size for n in ("pledges.sqlite", "pledges.xlsx")}
            for name, seconds in steps.items():
                times.setdefault(name, []).append(seconds)
    rows = sum(len(t.rows) for t in tables)
    print(f"{args.documents * args.chapters * args.statements} statements, {rows} rows in all "
          f"tables, median of {args.repeat}")
    build_median = statistics.median(times["build"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:18} {median:7.2f} s  {100 * median / build_median:5.1f} % of a build")
    for name, size in sizes.items():
        print(f"  {name:18} {size / 2**20:7.1f} MiB")


if __name__ == "__main__":
    main()
