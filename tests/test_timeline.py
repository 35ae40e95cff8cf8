"""status_history in the build: git events, hand-written history, snapshots, queries across time."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import duckdb
import pytest

from conftest import DOCUMENT_YAML, make_repo
from pledgepack.build import build
from pledgepack.content.folder import read_content
from pledgepack.schema import PackageSchema

SCHEMA = PackageSchema.load()
DAYS = {n: f"2024-0{n}-01T10:00:00+00:00" for n in range(1, 5)}


def chapter(*statements: tuple[str, str], history: str = "") -> str:
    lines = ["---", 'title: "1. Kapitel"', "statements:"]
    for sid, status in statements:
        lines += [f"  - id: {sid}", f"    status: {status}", f"    summary: Vorhaben {sid}"]
        if sid == "a" and history:
            lines.append(history)
    lines += ["---"] + [f"Wir machen [Vorhaben {sid}](#{sid})." for sid, _ in statements]
    return "\n".join(lines) + "\n"


RECORDED = """\
    history:
      - date: 2023-06-01
        status: not_implemented
        note: Im Vertrag vereinbart
        url: https://example.gov/vertrag"""


@pytest.fixture
def tracker(tmp_path):
    """A repository whose content lives in site/content, with four commits on four days and an
    uncommitted edit in the work tree."""
    repo = make_repo(tmp_path)
    doc = "site/content/land"
    shas = [repo.commit({f"{doc}/document.yaml": DOCUMENT_YAML,
                         f"{doc}/1.md": chapter(("a", "not_implemented"), ("b", "not_implemented"),
                                                history=RECORDED),
                         "README.md": "not content\n"}, when=DAYS[1])]
    shas.append(repo.commit({f"{doc}/1.md": chapter(("a", "partially_implemented"),
                                                    ("b", "not_implemented"), history=RECORDED)},
                            when=DAYS[2], author="Kim Muster"))
    repo.git("mv", f"{doc}/1.md", f"{doc}/2.md")
    shas.append(repo.commit({f"{doc}/2.md": chapter(("a", "partially_implemented"),
                                                    ("b", "broken"), history=RECORDED)},
                            when=DAYS[3]))
    shas.append(repo.commit({f"{doc}/2.md": chapter(("a", "partially_implemented"),
                                                    ("c", "implemented"), history=RECORDED)},
                            when=DAYS[4]))
    (repo.path / doc / "2.md").write_text(chapter(("a", "partially_implemented"), ("c", "broken"),
                                                  history=RECORDED), encoding="utf-8")
    return repo, repo.path / "site" / "content", shas


def history_rows(out: Path) -> list[tuple]:
    con = duckdb.connect(str(out / "pledges.duckdb"), read_only=True)
    return con.execute("""
        select statement_id, seq, strftime(effective_date, '%Y-%m-%d'), event,
               status::VARCHAR, previous_status::VARCHAR, source, "commit", author, path, note
        from status_history order by statement_id, seq""").fetchall()


def test_status_history_merges_git_recorded_and_uncommitted(tracker, tmp_path):
    repo, content, (c1, c2, c3, c4) = tracker
    result = build(content, tmp_path / "dist")
    assert history_rows(tmp_path / "dist") == [
        ("land/a", 1, "2023-06-01", "recorded", "not_implemented", None, "front_matter",
         None, None, "land/2.md", "Im Vertrag vereinbart"),
        ("land/a", 2, "2024-01-01", "added", "not_implemented", "not_implemented", "git",
         c1, "Alex Beispiel", "land/1.md", None),
        ("land/a", 3, "2024-02-01", "changed", "partially_implemented", "not_implemented",
         "git", c2, "Kim Muster", "land/1.md", None),
        ("land/b", 1, "2024-01-01", "added", "not_implemented", None, "git", c1,
         "Alex Beispiel", "land/1.md", None),
        ("land/b", 2, "2024-03-01", "changed", "broken", "not_implemented", "git", c3,
         "Alex Beispiel", "land/2.md", None),
        ("land/b", 3, "2024-04-01", "removed", None, "broken", "git", c4,
         "Alex Beispiel", "land/2.md", None),
        ("land/c", 1, "2024-04-01", "added", "implemented", None, "git", c4,
         "Alex Beispiel", "land/2.md", None),
        ("land/c", 2, None, "snapshot", "broken", "implemented", "snapshot", None, None,
         None, None),
    ]
    assert result.notes == []
    descriptor = json.loads((tmp_path / "dist/datapackage.json").read_text())
    history = next(r for r in descriptor["resources"] if r["name"] == "status_history")
    assert history["description"].endswith(f"4 commits, {c1} to {c4}.")


def test_a_commit_outside_the_content_leaves_the_package_as_it_was(tracker, tmp_path):
    """The history is built up to the newest commit that touched the content, and says so:
    a commit to the site's README moves HEAD, not the package (it named HEAD, so every
    commit anywhere in the repository gave another datapackage.json)."""
    repo, content, shas = tracker
    out = tmp_path / "dist"
    build(content, out)
    before = {p.name: p.read_bytes() for p in [out / "datapackage.json", *(out / "data").iterdir()]}
    (repo.path / "README.md").write_text("still not content\n", encoding="utf-8")
    repo.git("commit", "-q", "-m", "readme", "README.md", when=DAYS[4])  # the edit stays out
    assert repo.head() != shas[-1]
    assert build(content, out).up_to_date
    elsewhere = tmp_path / "again"
    build(content, elsewhere)
    for folder in (out, elsewhere):
        after = {p.name: p.read_bytes()
                 for p in [folder / "datapackage.json", *(folder / "data").iterdir()]}
        assert after == before
    descriptor = json.loads((out / "datapackage.json").read_text())
    history = next(r for r in descriptor["resources"] if r["name"] == "status_history")
    assert history["description"].endswith(f"4 commits, {shas[0]} to {shas[-1]}.")


def test_status_as_of_matches_the_repository_checked_out_then(tracker, tmp_path):
    repo, content, shas = tracker
    build(content, tmp_path / "dist")
    con = duckdb.connect(str(tmp_path / "dist/pledges.duckdb"), read_only=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo.path), str(clone)], check=True)
    for day in ("2024-01-15", "2024-02-01", "2024-02-15", "2024-03-15", "2024-04-15"):
        sha = subprocess.run(["git", "-C", str(clone), "rev-list", "-1", f"--before={day} 23:59:59 +0000",
                              "main"], capture_output=True, text=True, check=True).stdout.strip()
        subprocess.run(["git", "-C", str(clone), "checkout", "-q", sha], check=True)
        then = read_content(clone / "site" / "content", SCHEMA)
        expected = sorted((s.statement_id, s.status) for s in then.statements)
        got = con.execute("select statement_id, status::VARCHAR from status_as_of(?)",
                          [day]).fetchall()
        assert got == expected, day
    assert con.execute("select statement_id, status::VARCHAR from status_as_of('2023-12-31')"
                       ).fetchall() == [("land/a", "not_implemented")]


def test_time_views(tracker, tmp_path, run):
    _, content, (c1, c2, c3, c4) = tracker
    build(content, tmp_path / "dist")
    con = duckdb.connect(str(tmp_path / "dist/pledges.duckdb"), read_only=True)
    assert con.execute("select month, event, from_status::VARCHAR, to_status::VARCHAR, statements "
                       "from transitions").fetchall() == [
        ("2023-06", "recorded", None, "not_implemented", 1),
        ("2024-01", "added", None, "not_implemented", 1),
        ("2024-01", "added", "not_implemented", "not_implemented", 1),
        ("2024-02", "changed", "not_implemented", "partially_implemented", 1),
        ("2024-03", "changed", "not_implemented", "broken", 1),
        ("2024-04", "added", None, "implemented", 1),
        ("2024-04", "removed", "broken", None, 1),
    ]
    last = dict(con.execute("select statement_id, strftime(last_changed, '%Y-%m-%d') "
                            "from statement_details").fetchall())
    assert last == {"land/a": "2024-02-01", "land/c": "2024-04-01"}
    shown = run("history", "land/b", "--db", tmp_path / "dist/pledges.duckdb",
                "--format", "csv")
    assert shown.exit_code == 0
    assert shown.stdout.splitlines()[1:] == [
        f"1,2024-01-01,commit,added,,not_implemented,git,{c1[:12]},2024-01-01 10:00,"
        "Alex Beispiel,land/1.md,,",
        f"2,2024-03-01,commit,changed,not_implemented,broken,git,{c3[:12]},2024-03-01 10:00,"
        "Alex Beispiel,land/2.md,,",
        f"3,2024-04-01,commit,removed,broken,,git,{c4[:12]},2024-04-01 10:00,"
        "Alex Beispiel,land/2.md,,",
    ]


def test_without_git_history_the_snapshot_stays_and_says_so(tracker, tmp_path, run):
    _, content, _ = tracker
    result = run("build", "--content", content, "--out", tmp_path / "dist", "--no-git-history")
    assert result.exit_code == 0
    assert result.stderr.count("note: --no-git-history") == 1
    rows = history_rows(tmp_path / "dist")
    assert [(r[0], r[1], r[3], r[4], r[6]) for r in rows] == [
        ("land/a", 1, "recorded", "not_implemented", "front_matter"),
        ("land/a", 2, "snapshot", "partially_implemented", "snapshot"),
        ("land/c", 1, "snapshot", "broken", "snapshot"),
    ]


def test_shallow_clone_stops_with_the_fix_unless_allowed(tracker, tmp_path, run):
    repo, _, shas = tracker
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(clone)],
                   check=True)
    content, out = clone / "site" / "content", tmp_path / "dist"
    result = run("build", "--content", content, "--out", out)
    assert result.exit_code == 1 and not out.exists()
    assert "fetch-depth: 0" in result.stderr and "git fetch --unshallow" in result.stderr
    assert "Traceback" not in result.output
    result = run("build", "--content", content, "--out", out, "--allow-shallow")
    assert result.exit_code == 0
    assert [(r[0], r[3], r[7]) for r in history_rows(out)] == [
        ("land/a", "recorded", None), ("land/a", "added", shas[3]),
        ("land/c", "added", shas[3])]
    descriptor = json.loads((out / "datapackage.json").read_text())
    history = next(r for r in descriptor["resources"] if r["name"] == "status_history")
    assert "shallow clone" in history["description"]


def test_a_new_commit_is_read_from_the_cache(tracker, tmp_path):
    repo, content, _ = tracker
    first = build(content, tmp_path / "one")
    assert (repo.path / ".git" / "pledgepack").is_dir()
    repo.commit({"site/content/land/2.md": chapter(("a", "implemented"), ("c", "broken"),
                                                   history=RECORDED)},
                when=dt.datetime(2024, 5, 1, 10, tzinfo=dt.timezone.utc).isoformat())
    second = build(content, tmp_path / "two")
    assert first.history.commits_read == 4 and second.history.commits_read == 1
    assert second.counts["status_history"] == first.counts["status_history"] + 1
    rows = history_rows(tmp_path / "two")
    assert [(r[1], r[3], r[4]) for r in rows if r[0] == "land/a"][-1] == (4, "changed", "implemented")
    assert [(r[1], r[3], r[4]) for r in rows if r[0] == "land/c"] == [
        (1, "added", "implemented"), (2, "changed", "broken")]


def test_history_rejects_a_bad_history_entry(tmp_path, run):
    root = tmp_path / "content" / "land"
    root.mkdir(parents=True)
    (root / "document.yaml").write_text(DOCUMENT_YAML, encoding="utf-8")
    (root / "1.md").write_text(chapter(("a", "implemented"), history="""\
    history:
      - date: 2023-13-01
        status: implemented"""), encoding="utf-8")
    result = run("build", "--content", tmp_path / "content", "--out", tmp_path / "dist")
    assert result.exit_code == 1
    assert "1.md:7: error: statement 'a': history entry 1 needs a date" in result.stderr
