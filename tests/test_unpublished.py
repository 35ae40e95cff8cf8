"""Real trackers build as they are: a chapter left out of the package (published: false) cannot
stop the build; --include-unpublished and lint still hold it to the rules."""
from __future__ import annotations

import json

import pyarrow.parquet as pq

from conftest import CHAPTER, PACKAGE_YAML, chapter, make_repo

# As in a real tracker: a chapter in preparation, its statements not yet given ids.
DRAFT = chapter("- summary: Noch ohne id\n  status: not_implemented\n"
                "- id: zweite\n  summary: Zweite\n  status: not_implemented\n",
                body="[Zweite](#zweite)\n", title="3.1 Entwurf", extra="published: false\n")


def tracker(tmp_path):
    """A Jekyll tracker's repository: _chapters with a published and an unpublished chapter."""
    repo = make_repo(tmp_path)
    repo.commit({"_chapters/package.yaml": PACKAGE_YAML, "_chapters/1-1-verwaltung.md": CHAPTER,
                 "_chapters/3-1-entwurf.md": DRAFT}, "chapters", when="2024-01-01T10:00:00Z")
    return repo, repo.path / "_chapters"


def test_an_unpublished_chapter_with_errors_does_not_stop_the_build(tmp_path, run):
    _, chapters = tracker(tmp_path)
    out = tmp_path / "dist"
    result = run("build", "--content", chapters, "--out", out)
    assert result.exit_code == 0, result.output
    place = f"{chapters}/3-1-entwurf.md:"
    [warning] = [line for line in result.stderr.splitlines() if line.startswith(place)]
    assert ": warning: unpublished chapter (published: false), left out of the package: " \
        "statement 1 has no id" in warning
    assert "with --include-unpublished this is an error" in result.stderr
    statements = pq.read_table(out / "data" / "statements.parquet").to_pylist()
    assert {s["id"] for s in statements} == {"portal", "akte"}
    history = pq.read_table(out / "data" / "status_history.parquet").to_pylist()
    assert {h["statement_id"].split("/")[1] for h in history} == {"portal", "akte"}

    strict = run("build", "--content", chapters, "--out", out, "--include-unpublished")
    assert strict.exit_code == 1 and "Traceback" not in strict.output
    assert ": error: statement 1 has no id" in strict.stderr
    assert "unpublished chapter" not in strict.stderr

    lint = run("lint", "--content", chapters, "--format", "json")
    assert lint.exit_code == 1
    report = json.loads(lint.stdout)
    assert [(d["severity"], d["message"]) for d in report["diagnostics"]
            if d["path"].endswith("3-1-entwurf.md")] == [("error", "statement 1 has no id")]


def test_the_history_note_about_a_broken_version_reads_as_a_sentence(tmp_path, run):
    repo, chapters = tracker(tmp_path)
    broken = repo.commit({"_chapters/1-1-verwaltung.md": "---\ntitle: [offen\n---\nText\n"},
                         "broken", when="2024-02-01T10:00:00Z")
    out = tmp_path / "dist"
    repo.commit({"_chapters/1-1-verwaltung.md": CHAPTER}, "fixed", when="2024-03-01T10:00:00Z")
    result = run("build", "--content", chapters, "--out", out)
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: in commit")]
    assert len(notes) == 2, result.stderr
    assert notes[0].startswith("note: in commit ") and notes[0].endswith(
        ", the unpublished chapter (published: false) 3-1-entwurf.md has an error at line 5: "
        "statement 1 has no id; its statements keep the statuses they had before that commit")
    assert notes[1].startswith(f"note: in commit {broken[:12]}, the chapter 1-1-verwaltung.md "
                               "has an error at line ")
    assert notes[1].endswith("; its statements keep the statuses they had before that commit")
