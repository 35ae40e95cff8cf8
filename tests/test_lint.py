"""pledgepack lint: the build's checks and the editorial ones, as text and JSON."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import yaml

from conftest import REPO, chapter, make_document
from pledgepack.editors.lint import lint
from pledgepack.schema import PackageSchema

EDITORIAL = chapter("""\
    - id: platzhalter
      status: not_implemented
      summary: Bericht fehlt noch
      reports:
        - title: Test
          url: http://example.org
    - id: ftp
      status: implemented
      summary: Bericht auf FTP
      reports:
        - title: Bericht
          url: ftp://files.bund.de/bericht.pdf
    - id: zukunft
      status: implemented
      summary: Datiert in die Zukunft
      last_update: 2999-01-01
    - id: alt
      status: not_implemented
      summary: Älter als das Dokument
      last_update: 2020-01-01
      deadline: 2023-12-31
    - id: leer
      status: not_implemented
      summary: ""
    - id: mit leerzeichen
      status: not_implemented
      summary: Kein Anker möglich
    """, body="[a](#platzhalter) [b](#ftp) [c](#zukunft) [d](#alt) [e](#leer)\n")


def lint_cli(run, *args):
    result = run("lint", *args)
    return result, json.loads(run("lint", *args, "--format", "json").stdout)


def test_editorial_checks_with_place_and_column(tmp_path, run):
    root = make_document(tmp_path / "content", chapters={"1-kapitel.md": EDITORIAL})
    result, report = lint_cli(run, "--content", root)
    path = f"{root}/testland-2024/1-kapitel.md"
    found = [(d["line"], d["col"], d["severity"], d["message"]) for d in report["diagnostics"]
             if d["path"] == path]
    assert found == [
        (8, 9, "warning", "statement 'platzhalter': report 1 looks like a placeholder ('Test', 'http://example.org')"),
        (14, 9, "warning", "statement 'ftp': report 1 url 'ftp://files.bund.de/bericht.pdf' is not an http(s) address"),
        (19, 5, "warning", "statement 'zukunft': last_update 2999-01-01 is in the future (%s)" % dt.date.today()),
        (23, 5, "warning", "statement 'alt': last_update 2020-01-01 is before the document's date (2024-01-15)"),
        (24, 5, "warning", "statement 'alt': deadline 2023-12-31 is before the document's date (2024-01-15)"),
        (27, 5, "warning", "statement 'leer' has an empty summary"),
        (28, 5, "error", "id 'mit leerzeichen' cannot be used as an anchor"),
    ]
    assert result.exit_code == 1
    assert report["errors"] == 1 and report["warnings"] == 6


def test_text_and_json_agree(shipped, run):
    result, report = lint_cli(run, "--content", shipped)
    heads = [line for line in result.stdout.splitlines() if not line.startswith("  hint: ")]
    hints = [line[len("  hint: "):] for line in result.stdout.splitlines()
             if line.startswith("  hint: ")]
    expected = [f"{d['path']}:{d['line']}:{d['col']}: {d['severity']}: {d['message']}"
                for d in report["diagnostics"]]
    assert heads == expected and hints == [d["hint"] for d in report["diagnostics"]]
    assert result.stderr.strip() == f"{report['errors']} error(s), {report['warnings']} warning(s)"


def test_shipped_content_lints_without_errors(run, monkeypatch):
    monkeypatch.chdir(REPO)
    result, report = lint_cli(run)
    assert result.exit_code == 0 and report["errors"] == 0
    assert all(re.match(r"^content/[^:]+:\d+:\d+$", f"{d['path']}:{d['line']}:{d['col']}")
               for d in report["diagnostics"])


def test_strict_fails_on_warnings(tmp_path, run):
    root = make_document(tmp_path / "content", chapters={"1-kapitel.md": chapter(
        "- id: a\n  status: implemented\n  summary: A\n  last_update: 2999-01-01\n",
        body="[A](#a)\n")})
    assert run("lint", "--content", root).exit_code == 0
    assert run("lint", "--content", root, "--strict").exit_code == 1


def test_paths_report_only_their_own_problems_but_see_the_whole_document(tmp_path, run):
    root = make_document(tmp_path / "content", chapters={
        "1-a.md": chapter("- id: x\n  status: implemented\n  summary: X\n", body="[X](#x)\n"),
        "2-b.md": chapter("- id: x\n  status: broken\n  summary: X\n", body="[X](#x)\n"),
        "3-c.md": chapter("- id: c\n  status: nope\n  summary: C\n", body="[C](#c)\n")})
    result, report = lint_cli(run, root / "testland-2024" / "2-b.md")
    assert [(Path(d["path"]).name, d["message"].split(":")[0]) for d in report["diagnostics"]] == [
        ("2-b.md", "duplicate id 'x'")]
    assert result.exit_code == 1
    _, everything = lint_cli(run, root)
    assert {Path(d["path"]).name for d in everything["diagnostics"]} == {"2-b.md", "3-c.md"}


def test_missing_path_is_an_error(tmp_path, run):
    result = run("lint", tmp_path / "nope.md")
    assert result.exit_code == 1 and "no such file or folder" in result.stdout


def test_library_lint_is_what_the_cli_prints(tmp_path, run):
    root = make_document(tmp_path / "content", chapters={"1-kapitel.md": EDITORIAL})
    found = lint([], root, PackageSchema.load())
    _, report = lint_cli(run, "--content", root)
    assert [d.to_dict() for d in found] == report["diagnostics"]


def test_pre_commit_hook_runs_the_lint():
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "pledgepack-lint")
    assert hook["entry"] == "pledgepack lint" and hook["language"] == "python"
    assert re.search(hook["files"], "_chapters/digitales.md")
    assert re.search(hook["files"], "content/bund-2021/document.yaml")


# The command line's entry with a handler that Python's own ending would run: it says whether
# the process was taken apart at its end or ended at once (cli.main's quick end).
ENDING = """\
import atexit, sys
atexit.register(lambda: sys.stderr.write("python's own ending ran\\n"))
sys.argv = ["pledgepack", *sys.argv[1:]]
from pledgepack.cli import main
main()
"""


def _command(*args, cwd=None):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", ENDING, *map(str, args)], capture_output=True,
                          text=True, cwd=cwd)


def test_the_lint_command_ends_at_once_with_all_it_has_to_say(tmp_path, run):
    # more diagnostics than a pipe holds (64 KiB): they must all be flushed before the end
    entries = "".join(f"- id: s{n}\n  status: not_implemented\n  summary: \"\"\n"
                      for n in range(1500))
    body = " ".join(f"[t](#s{n})" for n in range(1500)) + "\n"
    root = make_document(tmp_path / "content", chapters={
        "1-kapitel.md": EDITORIAL, "2-viele.md": chapter(entries, body=body)})
    expected = run("lint", "--content", root)
    proc = _command("lint", "--content", root)
    assert len(proc.stdout) > 65536
    assert proc.stdout == expected.stdout
    assert proc.stderr == "1 error(s), 1506 warning(s)\n"  # and no word of the ending
    assert proc.returncode == expected.exit_code == 1
    clean = make_document(tmp_path / "clean")
    proc = _command("lint", "--content", clean, "--format", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["errors"] == 0
    assert "ending ran" not in proc.stderr
    assert _command("--help").stdout.startswith("Usage: pledgepack")


def test_other_commands_end_as_python_ends(tmp_path):
    # a build, validate and the rest may leave threads, pools or temporary folders that
    # Python's ending finishes: they are not ended at once
    proc = _command("validate", tmp_path / "nothing-here")
    assert proc.returncode == 1
    assert proc.stderr.endswith("python's own ending ran\n")
