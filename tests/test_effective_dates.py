"""When a status took effect (the editors' date) and when it was recorded (the commit), on real
git repositories made in tmp_path, through the build, the views, lint and the CLI."""
from __future__ import annotations

import json
import shutil

import duckdb
import pyarrow.parquet as pq
import pytest

from conftest import DOCUMENT_YAML, SHIPPED_CONTENT, make_repo

DOC = "content/land"


def chapter(*statements: tuple, history: str = "") -> str:
    """statements: (id, status, last_update or None)."""
    lines = ["---", 'title: "1. Kapitel"', "statements:"]
    for sid, status, last_update in statements:
        lines += [f"  - id: {sid}", f"    status: {status}", f"    summary: Vorhaben {sid}"]
        if last_update:
            lines.append(f"    last_update: '{last_update}'")
        if sid == "a" and history:
            lines.append(history)
    lines += ["---"] + [f"Wir machen [Vorhaben {sid}](#{sid})." for sid, _, _ in statements]
    return "\n".join(lines) + "\n"


def events(dist) -> list[tuple]:
    rows = pq.read_table(dist / "data/status_history.parquet").to_pylist()
    return [(r["statement_id"], r["seq"], r["event"], r["status"],
             r["effective_date"].isoformat() if r["effective_date"] else None,
             r["effective_date_source"],
             r["recorded_at"].date().isoformat() if r["recorded_at"] else None) for r in rows]


def as_of(dist, day: str) -> list[tuple]:
    con = duckdb.connect(str(dist / "pledges.duckdb"), read_only=True)
    try:
        return con.execute("select statement_id, status::VARCHAR from status_as_of(?)",
                           [day]).fetchall()
    finally:
        con.close()


def build(run, repo, tmp_path):
    out = tmp_path / "dist"
    result = run("build", "--content", repo.path / "content", "--out", out)
    assert result.exit_code == 0, result.output
    return out


def test_a_status_committed_in_2026_takes_effect_on_the_editors_date(tmp_path, run):
    repo = make_repo(tmp_path)
    repo.commit({f"{DOC}/document.yaml": DOCUMENT_YAML,
                 f"{DOC}/1.md": chapter(("a", "not_implemented", "2024-02-01"))},
                when="2025-01-10T09:00:00+00:00")
    repo.commit({f"{DOC}/1.md": chapter(("a", "partially_implemented", "2023-05-02"))},
                when="2026-03-04T09:00:00+00:00")
    dist = build(run, repo, tmp_path)
    assert events(dist) == [
        ("land/a", 1, "added", "not_implemented", "2024-02-01", "editor", "2025-01-10"),
        # Earlier than the event before it: raised to that event's date, never backwards.
        ("land/a", 2, "changed", "partially_implemented", "2024-02-01", "previous_event",
         "2026-03-04"),
    ]
    assert as_of(dist, "2024-01-31") == []
    assert as_of(dist, "2024-02-01") == [("land/a", "partially_implemented")]


def test_the_editors_date_counts_when_written_with_the_change(tmp_path, run):
    repo = make_repo(tmp_path)
    repo.commit({f"{DOC}/document.yaml": DOCUMENT_YAML,
                 f"{DOC}/1.md": chapter(("a", "not_implemented", None))},
                when="2026-01-10T09:00:00+00:00")
    repo.commit({f"{DOC}/1.md": chapter(("a", "partially_implemented", "2023-05-02"))},
                when="2026-03-04T09:00:00+00:00")
    # A change of status under the review date of the change before: not reviewed then.
    repo.commit({f"{DOC}/1.md": chapter(("a", "implemented", "2023-05-02"))},
                when="2026-06-01T09:00:00+00:00")
    dist = build(run, repo, tmp_path)
    assert events(dist) == [
        ("land/a", 1, "added", "not_implemented", "2026-01-10", "commit", "2026-01-10"),
        ("land/a", 2, "changed", "partially_implemented", "2026-01-10", "previous_event",
         "2026-03-04"),
        ("land/a", 3, "changed", "implemented", "2026-06-01", "commit", "2026-06-01"),
    ]


def test_a_changed_status_takes_effect_on_2023_05_02(tmp_path, run):
    repo = make_repo(tmp_path)
    repo.commit({f"{DOC}/document.yaml": DOCUMENT_YAML,
                 f"{DOC}/1.md": chapter(("a", "not_implemented", "2022-01-15"))},
                when="2026-01-10T09:00:00+00:00")
    repo.commit({f"{DOC}/1.md": chapter(("a", "partially_implemented", "2023-05-02"))},
                when="2026-03-04T09:00:00+00:00")
    dist = build(run, repo, tmp_path)
    assert events(dist)[-1] == ("land/a", 2, "changed", "partially_implemented", "2023-05-02",
                                "editor", "2026-03-04")
    assert as_of(dist, "2023-05-01") == [("land/a", "not_implemented")]
    assert as_of(dist, "2023-05-02") == [("land/a", "partially_implemented")]
    shown = run("history", "land/a", "--db", dist / "pledges.duckdb", "--format", "json")
    last = json.loads(shown.stdout)[-1]
    assert (last["in effect from"], last["whose date"], last["committed (UTC)"]) == (
        "2023-05-02", "editor", "2026-03-04 09:00")
    assert last["commit"] == repo.head()[:12]


def test_a_date_after_the_commit_falls_back_to_the_commit_day_and_lint_warns(tmp_path, run):
    repo = make_repo(tmp_path)
    repo.commit({f"{DOC}/document.yaml": DOCUMENT_YAML,
                 f"{DOC}/1.md": chapter(("a", "implemented", "2025-12-24"),
                                        ("b", "broken", "2025-02-01"))},
                when="2025-03-01T09:00:00+00:00")
    dist = build(run, repo, tmp_path)
    assert events(dist) == [
        ("land/a", 1, "added", "implemented", "2025-03-01", "commit", "2025-03-01"),
        ("land/b", 1, "added", "broken", "2025-02-01", "editor", "2025-03-01"),
    ]
    lint = run("lint", "--content", repo.path / "content", "--format", "json")
    late = [d for d in json.loads(lint.stdout)["diagnostics"] if "after the commit" in d["message"]]
    assert len(late) == 1
    assert late[0]["path"].endswith("land/1.md") and late[0]["line"] == 7
    assert late[0]["severity"] == "warning"
    assert "'a': last_update 2025-12-24 is after the commit that wrote it" in late[0]["message"]
    # An uncommitted edit has no commit to compare with: no warning for it.
    (repo.path / DOC / "1.md").write_text(chapter(("a", "implemented", "2025-03-01"),
                                                  ("b", "broken", "2030-01-01")))
    lint = run("lint", "--content", repo.path / "content", "--format", "json")
    assert not [d for d in json.loads(lint.stdout)["diagnostics"] if "after the commit" in d["message"]]


def test_a_status_added_without_date_takes_the_date_written_later(tmp_path, run):
    """Content committed in bulk, its review dates filled in by a later commit."""
    repo = make_repo(tmp_path)
    repo.commit({f"{DOC}/document.yaml": DOCUMENT_YAML,
                 f"{DOC}/1.md": chapter(("a", "not_implemented", None),
                                        ("b", "not_implemented", None))},
                when="2026-01-10T09:00:00+00:00")
    repo.commit({f"{DOC}/1.md": chapter(("a", "not_implemented", "2021-11-29"),
                                        # later than the commit day that dated it: kept
                                        ("b", "not_implemented", "2026-02-01"))},
                when="2026-01-20T09:00:00+00:00")
    dist = build(run, repo, tmp_path)
    assert events(dist) == [
        ("land/a", 1, "added", "not_implemented", "2021-11-29", "editor", "2026-01-10"),
        ("land/b", 1, "added", "not_implemented", "2026-01-10", "commit", "2026-01-10"),
    ]


def test_history_entries_and_ties(tmp_path, run):
    history = """\
    history:
      - date: 2024-03-01
        status: partially_implemented
      - date: 2023-01-01
        status: not_implemented"""
    repo = make_repo(tmp_path)
    repo.commit({f"{DOC}/document.yaml": DOCUMENT_YAML,
                 f"{DOC}/1.md": chapter(("a", "implemented", "2024-03-01"), history=history)},
                when="2024-06-01T09:00:00+00:00")
    dist = build(run, repo, tmp_path)
    # Entries by date; on the day of a git event, the entry comes first.
    assert events(dist) == [
        ("land/a", 1, "recorded", "not_implemented", "2023-01-01", "editor", None),
        ("land/a", 2, "recorded", "partially_implemented", "2024-03-01", "editor", None),
        ("land/a", 3, "added", "implemented", "2024-03-01", "editor", "2024-06-01"),
    ]
    # The status on a day is that of the last event (by seq) in effect then.
    assert as_of(dist, "2024-03-01") == [("land/a", "implemented")]
    assert as_of(dist, "2024-02-29") == [("land/a", "not_implemented")]


@pytest.fixture
def shipped_in_git(tmp_path):
    """The shipped content, committed in bulk in 2026 as it was."""
    repo = make_repo(tmp_path)
    shutil.copytree(SHIPPED_CONTENT, repo.path / "content")
    repo.commit({}, when="2026-11-22T05:30:00+00:00")
    return repo


def test_the_shipped_content_is_dated_by_its_reviews(shipped_in_git, tmp_path, run):
    dist = build(run, shipped_in_git, tmp_path)
    con = duckdb.connect(str(dist / "pledges.duckdb"), read_only=True)
    per_document = con.execute("""
        select split_part(statement_id, '/', 1), count(*) from status_as_of('2024-01-01')
        group by 1 order by 1""").fetchall()
    assert per_document == [("berlin-2021", 16), ("bund-2021", 40)]
    reviewed = con.execute("select reviewed, count(*) from statements group by 1 order by 1"
                           ).fetchall()
    assert reviewed == [(False, 46), (True, 56)]
    summary = con.execute("""
        select sum(statements), sum(reviewed), sum(not_yet_reviewed) from status_summary
        where scope = 'document'""").fetchone()
    assert summary == (102, 56, 46)
    assert con.execute("select count(*) from transitions where month = '2021-11'").fetchone()[0] > 0
    details = con.execute("""
        select review_state, count(*) from statement_details group by 1 order by 1""").fetchall()
    assert details == [("not yet reviewed", 46), ("reviewed", 56)]
