"""What the pattern's fast path for plain chapter bodies saves over reading every body with
CommonMark (markdown-it-py), on the synthetic corpus and on the shipped content.

For each chapter body: `plain()` (the check that the pattern reads it exactly) plus the pattern
itself, against `fragment_links()` (the CommonMark reader), each the median of --repeat runs
over all bodies in one process. Also counts the bodies that take each path, and checks that
both readers find the same anchors on the plain bodies.
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


def bodies(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        if text.startswith("---"):
            end = text.find("\n---", 3)
            text = text[text.find("\n", end + 1) + 1:] if end >= 0 else text
        found.append(text)
    return found


def timed(function, items, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for item in items:
            function(item)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def measure(name: str, texts: list[str], repeat: int) -> None:
    from pledgepack.content.links import ANCHOR_RE, fragment_links, plain

    def fast(body: str):
        return plain(body) and [m.group(2) for m in ANCHOR_RE.finditer(body)]

    def full(body: str):
        return fragment_links(body, 1)

    simple = [b for b in texts if plain(b)]
    for body in simple:
        assert [m.group(2) for m in ANCHOR_RE.finditer(body)] == \
            [a[0] for a in fragment_links(body, 1)[0]], "the readers disagree on a plain body"
    pattern = timed(fast, texts, repeat)
    commonmark = timed(full, texts, repeat)
    size = sum(len(b.encode("utf-8")) for b in texts) / 1e6
    print(f"{name}: {len(texts)} bodies, {size:.1f} MB, {len(simple)} plain "
          f"({100 * len(simple) / max(len(texts), 1):.0f} %)")
    print(f"  pattern path (check + read): {pattern:.3f} s")
    print(f"  CommonMark for every body:   {commonmark:.3f} s "
          f"({commonmark / pattern if pattern else float('inf'):.1f}x the pattern)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--documents", type=int, default=40)
    parser.add_argument("--chapters", type=int, default=25)
    parser.add_argument("--statements", type=int, default=100)
    args = parser.parse_args()
    script = Path(os.environ.get("PLEDGEPACK_CORPUS_SCRIPT", DEFAULT_CORPUS_SCRIPT))
    if not script.is_file():
        print(f"no corpus generator at {script}: set PLEDGEPACK_CORPUS_SCRIPT", file=sys.stderr)
        return 2
    measure("shipped content", bodies(REPO / "content"), args.repeat)
    with tempfile.TemporaryDirectory(prefix="pledgepack-bench-links-") as scratch:
        corpus = Path(scratch) / "corpus"
        subprocess.run([sys.executable, str(script), "--documents", str(args.documents),
                        "--chapters", str(args.chapters), "--statements",
                        str(args.statements), str(corpus)], check=True, capture_output=True)
        statements = args.documents * args.chapters * args.statements
        measure(f"synthetic corpus ({statements:,} statements)", bodies(corpus), args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
