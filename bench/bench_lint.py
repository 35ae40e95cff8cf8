"""How long `pledgepack lint` takes on the shipped content (the pre-commit hook's cost), and
how long `pledgepack --help` takes to answer.

Three figures, each the median of --repeat runs: the whole lint command as a hook runs it
(a new Python process: interpreter start, imports, lint, output; bytecode cached, as after
any first run), the lint call alone inside one process, and the whole `pledgepack --help`
command. Aims: lint under 0.3 s, --help under 0.2 s.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


# As a user runs it: with the bytecode of pledgepack's modules cached (pip compiles a wheel's
# at install; an editable install writes it on the first run). Where the environment forbids
# writing it, every run compiles pledgepack's modules again, about 0.07 s.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def timed(repeat: int, command: list[str]) -> list[float]:
    """Wall seconds of each of `repeat` runs of `command` in a new process, after one run
    that writes the bytecode cache."""
    subprocess.run(command, capture_output=True, check=False, env=ENV)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False, env=ENV)
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--content", type=Path, default=REPO / "content")
    args = parser.parse_args()
    command = [str(Path(sys.executable).parent / "pledgepack"), "lint", "--content",
               str(args.content)]
    whole = timed(args.repeat, command)
    help_command = timed(args.repeat, [command[0], "--help"])

    from pledgepack.editors.lint import lint
    from pledgepack.schema import PackageSchema

    schema = PackageSchema.load()
    inside = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        found = lint([], args.content, schema)
        inside.append(time.perf_counter() - started)
    files = len(list(args.content.rglob("*.md")))
    print(f"pledgepack lint on {args.content} ({files} chapter files, {len(found)} diagnostics), "
          f"{args.repeat} runs")
    print(f"  whole command (new process)  median {statistics.median(whole):.3f} s  "
          f"min {min(whole):.3f}  max {max(whole):.3f}")
    print(f"  lint call in one process     median {statistics.median(inside):.3f} s  "
          f"min {min(inside):.3f}  max {max(inside):.3f}")
    print(f"  aim: whole command under 0.3 s: {'met' if statistics.median(whole) < 0.3 else 'MISSED'}")
    print(f"pledgepack --help (new process)  median {statistics.median(help_command):.3f} s  "
          f"min {min(help_command):.3f}  max {max(help_command):.3f}")
    print(f"  aim: under 0.2 s: {'met' if statistics.median(help_command) < 0.2 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
