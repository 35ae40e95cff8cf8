"""Compare the fast front-matter loader with the reference loader on whole corpora.

For every chapter (*.md) under each folder given, or under a synthetic corpus made with
../shared/bench/make_corpus.py when none is given (PLEDGEPACK_CORPUS_SCRIPT to use another
copy), the chapter reader runs twice, once as the build runs it and once with the reference
loader only; the results (rows and diagnostics) must be equal. Prints, per folder, how many
chapters the guard let the fast loader read, and exits 1 on any difference.

Usage: check_fast_yaml.py [FOLDER ...] [--documents N --chapters N --statements N]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pledgepack.content.yamltext as yamltext
from pledgepack.content.chapter import parse_chapter
from pledgepack.schema import PackageSchema

REPO = Path(__file__).resolve().parent.parent
SCHEMA = PackageSchema.load()
STATUSES, MEASURES = frozenset(SCHEMA.statuses), frozenset(SCHEMA.measures)


def read(path: Path, raw: bytes):
    result = parse_chapter(raw, path, str(path), path.name, "document", STATUSES, MEASURES)
    return (result.section, result.statements, result.reports, result.recorded,
            result.diagnostics, result.unpublished)


def check(folder: Path) -> int:
    fast_load = yamltext.fast_load
    files = sorted(p for p in folder.rglob("*.md")
                   if not any(part.startswith(".") for part in p.relative_to(folder).parts))
    differ = taken = 0
    for path in files:
        raw = path.read_bytes()
        built = read(path, raw)
        text = raw.decode("utf-8-sig", "replace").replace("\r\n", "\n")
        parts = yamltext.split_front_matter(text)
        taken += bool(parts) and fast_load(parts[0]) is not yamltext.UNSURE
        yamltext.fast_load = lambda text: yamltext.UNSURE
        try:
            reference = read(path, raw)
        finally:
            yamltext.fast_load = fast_load
        if built != reference or repr(built) != repr(reference):
            differ += 1
            print(f"  differs: {path}")
    share = taken / len(files) if files else 0
    print(f"{folder}: {len(files)} chapters, {taken} read by the fast loader ({share:.0%}), "
          f"{len(files) - taken} by the reference loader, {differ} differ")
    return differ


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--documents", type=int, default=40)
    parser.add_argument("--chapters", type=int, default=25)
    parser.add_argument("--statements", type=int, default=100)
    args = parser.parse_args(argv)
    differ = sum(check(folder) for folder in args.folders or [REPO / "content"])
    if not args.folders:
        script = Path(os.environ.get("PLEDGEPACK_CORPUS_SCRIPT",
                                     REPO.parent / "shared" / "bench" / "make_corpus.py"))
        with tempfile.TemporaryDirectory(prefix="pledgepack-fastyaml-") as tmp:
            corpus = Path(tmp) / "corpus"
            subprocess.run([sys.executable, str(script), "--documents", str(args.documents),
                            "--chapters", str(args.chapters), "--statements",
                            str(args.statements), str(corpus)], check=True,
                           stdout=subprocess.DEVNULL)
            differ += check(corpus)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
