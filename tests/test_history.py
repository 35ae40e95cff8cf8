"""The status history from git: real repositories built in tmp_path, exact rows asserted."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from conftest import Repo, make_repo
from pledgepack.history import walk as history
from pledgepack.history.walk import HistoryError, git_history
from pledgepack.schema import PackageSchema

SCHEMA = PackageSchema.load()
CODES = {"statuses": frozenset(SCHEMA.statuses), "measures": frozenset(SCHEMA.measures)}
T1, T2, T3, T4, T5 = (f"2024-0{n}-01T10:00:00+00:00" for n in range(1, 6))
DOC = "land/document.yaml"
ALEX, KIM = "Alex Beispiel", "Kim Muster"


def chapter(*statements: tuple[str, str, str], published: bool = True) -> str:
    """A chapter with (id, status, last_update) statements, each anchored in the text."""
    lines = ["---", 'title: "1. Kapitel"']
    lines.append("statements:" if statements else "statements: []")
    for sid, status, last_update in statements:
        lines += [f"  - id: {sid}", f"    status: {status}", f"    last_update: '{last_update}'",
                  f"    summary: Vorhaben {sid}"]
    lines += [f"published: {'true' if published else 'false'}", "---"]
    lines += [f"Wir machen [Vorhaben {sid}](#{sid})." for sid, _, _ in statements]
    return "\n".join(lines) + "\n"


def rows(result) -> list[tuple]:
    return [(c.statement_id, c.event, c.status, c.previous_status, c.recorded_at.isoformat(),
             c.commit, c.author, c.path, c.last_update) for c in result.changes]


def walk(folder: Path, **options):
    return git_history(folder, **CODES, **options)


def test_status_changes_over_several_commits(tmp_path):
    repo = make_repo(tmp_path)
    c1 = repo.commit({DOC: "title: Land\n",
                      "land/1.md": chapter(("a", "not_implemented", "2024-01-01"),
                                           ("b", "not_implemented", "2024-01-01"))}, when=T1)
    c2 = repo.commit({"land/1.md": chapter(("a", "partially_implemented", "2024-02-01"),
                                           ("b", "not_implemented", "2024-01-01"))},
                     when=T2, author=KIM, authored="2024-01-20T08:30:00+02:00")
    c3 = repo.commit({"land/1.md": chapter(("a", "implemented", "2024-03-01"),
                                           ("b", "broken", "2024-03-01"))}, when=T3)
    # Only last_update changes: no row. Only document.yaml changes: no row, but a commit.
    repo.commit({"land/1.md": chapter(("a", "implemented", "2024-04-01"),
                                      ("b", "broken", "2024-03-01"))}, when=T4)
    repo.commit({DOC: "title: Land 2024\n"}, when=T5)
    result = walk(repo.path)
    assert rows(result) == [
        ("land/a", "added", "not_implemented", None, T1, c1, ALEX, "land/1.md", "2024-01-01"),
        ("land/b", "added", "not_implemented", None, T1, c1, ALEX, "land/1.md", "2024-01-01"),
        ("land/a", "changed", "partially_implemented", "not_implemented", T2, c2, KIM,
         "land/1.md", "2024-02-01"),
        ("land/a", "changed", "implemented", "partially_implemented", T3, c3, ALEX,
         "land/1.md", "2024-03-01"),
        ("land/b", "changed", "broken", "not_implemented", T3, c3, ALEX, "land/1.md",
         "2024-03-01"),
    ]
    change = result.changes[2]
    assert change.recorded_at.tzinfo == dt.timezone.utc
    assert change.authored_at == dt.datetime(2024, 1, 20, 6, 30, tzinfo=dt.timezone.utc)
    assert {(c.source, c.seq, c.note) for c in result.changes} == {("git", 0, None)}
    assert (result.head, result.first_commit, result.shallow) == (repo.head(), c1, False)
    assert (result.commits, result.commits_read, result.notes) == (5, 5, [])


def test_renamed_chapter_gives_no_rows(tmp_path):
    repo = make_repo(tmp_path)
    text = chapter(("a", "not_implemented", "2024-01-01"), ("b", "implemented", "2024-01-01"))
    c1 = repo.commit({DOC: "title: Land\n", "land/1.md": text}, when=T1)
    repo.git("mv", "land/1.md", "land/1-neu.md")
    repo.commit({}, when=T2)
    assert "R100\tland/1.md\tland/1-neu.md" in repo.git("show", "--raw", "-M", "--format=")
    c3 = repo.commit({"land/1-neu.md": chapter(("a", "implemented", "2024-03-01"),
                                               ("b", "implemented", "2024-01-01"))}, when=T3)
    assert rows(walk(repo.path)) == [
        ("land/a", "added", "not_implemented", None, T1, c1, ALEX, "land/1.md", "2024-01-01"),
        ("land/b", "added", "implemented", None, T1, c1, ALEX, "land/1.md", "2024-01-01"),
        ("land/a", "changed", "implemented", "not_implemented", T3, c3, ALEX,
         "land/1-neu.md", "2024-03-01"),
    ]


def test_statement_moved_between_chapters_gives_no_rows(tmp_path):
    repo = make_repo(tmp_path)
    c1 = repo.commit({DOC: "title: Land\n",
                      "land/1.md": chapter(("a", "not_implemented", "2024-01-01"),
                                           ("b", "not_implemented", "2024-01-01")),
                      "land/2.md": chapter(("c", "not_implemented", "2024-01-01"))}, when=T1)
    repo.commit({"land/1.md": chapter(("b", "not_implemented", "2024-01-01")),
                 "land/2.md": chapter(("c", "not_implemented", "2024-01-01"),
                                      ("a", "not_implemented", "2024-01-01"))}, when=T2)
    # Moved back with a new status at once: one "changed" row, at its new place.
    c3 = repo.commit({"land/1.md": chapter(("b", "not_implemented", "2024-01-01"),
                                           ("a", "broken", "2024-03-01")),
                      "land/2.md": chapter(("c", "not_implemented", "2024-01-01"))}, when=T3)
    assert [row[:5] for row in rows(walk(repo.path))] == [
        ("land/a", "added", "not_implemented", None, T1),
        ("land/b", "added", "not_implemented", None, T1),
        ("land/c", "added", "not_implemented", None, T1),
        ("land/a", "changed", "broken", "not_implemented", T3),
    ]
    assert rows(walk(repo.path))[-1][5:] == (c3, ALEX, "land/1.md", "2024-03-01")
    assert walk(repo.path).changes[0].commit == c1


def test_removed_statement_and_chapter(tmp_path):
    repo = make_repo(tmp_path)
    repo.commit({DOC: "title: Land\n",
                 "land/1.md": chapter(("a", "not_implemented", "2024-01-01"),
                                      ("b", "implemented", "2024-01-15")),
                 "land/2.md": chapter(("c", "broken", "2024-01-01"))}, when=T1)
    c2 = repo.commit({"land/1.md": chapter(("a", "not_implemented", "2024-01-01"))}, when=T2)
    c3 = repo.commit({"land/2.md": None}, when=T3, author=KIM)
    assert rows(walk(repo.path))[3:] == [
        ("land/b", "removed", None, "implemented", T2, c2, ALEX, "land/1.md", "2024-01-15"),
        ("land/c", "removed", None, "broken", T3, c3, KIM, "land/2.md", "2024-01-01"),
    ]


def test_merge_commit_dates_the_branch_change(tmp_path):
    """With --first-parent the branch's own commits are not walked: a change made on a branch
    counts when the merge landed it, so its row names the merge commit, the merge's author and
    the merge's committer date."""
    repo = make_repo(tmp_path)
    both = (("a", "not_implemented", "2024-01-01"), ("b", "not_implemented", "2024-01-01"))
    repo.commit({DOC: "title: Land\n", "land/1.md": chapter(*both), "land/2.md": chapter()},
                when=T1)
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit({"land/1.md": chapter(("a", "implemented", "2024-02-01"), both[1])}, when=T2,
                author=KIM)
    repo.git("checkout", "-q", "main")
    c3 = repo.commit({"land/2.md": chapter(("c", "broken", "2024-03-01"))}, when=T3)
    repo.git("merge", "-q", "--no-ff", "-m", "Merge feature", "feature", when=T4,
             author="Redaktion")
    merge = repo.head()
    result = walk(repo.path)
    assert rows(result)[2:] == [
        ("land/c", "added", "broken", None, T3, c3, ALEX, "land/2.md", "2024-03-01"),
        ("land/a", "changed", "implemented", "not_implemented", T4, merge, "Redaktion",
         "land/1.md", "2024-02-01"),
    ]
    assert result.commits == 3


def test_revert_changes_the_status_back(tmp_path):
    repo = make_repo(tmp_path)
    repo.commit({DOC: "title: Land\n",
                 "land/1.md": chapter(("a", "not_implemented", "2024-01-01"))}, when=T1)
    repo.commit({"land/1.md": chapter(("a", "implemented", "2024-02-01"))}, when=T2)
    repo.git("revert", "--no-edit", "HEAD", when=T3, author=KIM)
    revert = repo.head()
    assert rows(walk(repo.path))[-1] == (
        "land/a", "changed", "not_implemented", "implemented", T3, revert, KIM,
        "land/1.md", "2024-01-01")


def test_shallow_clone(tmp_path):
    repo = make_repo(tmp_path)
    repo.commit({DOC: "title: Land\n",
                 "land/1.md": chapter(("a", "not_implemented", "2024-01-01"))}, when=T1)
    repo.commit({"land/1.md": chapter(("a", "implemented", "2024-02-01"),
                                      ("b", "broken", "2024-02-01"))}, when=T2)
    head = repo.commit({"land/1.md": chapter(("a", "implemented", "2024-02-01"),
                                             ("b", "partially_implemented", "2024-03-01"))},
                       when=T3)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(clone)],
                   check=True)
    with pytest.raises(HistoryError) as caught:
        walk(clone)
    assert "shallow" in str(caught.value)
    assert "fetch-depth: 0" in str(caught.value)
    assert "git fetch --unshallow" in str(caught.value)
    result = walk(clone, allow_shallow=True, cache_dir=tmp_path / "cache")
    assert rows(result) == [
        ("land/a", "added", "implemented", None, T3, head, ALEX, "land/1.md", "2024-02-01"),
        ("land/b", "added", "partially_implemented", None, T3, head, ALEX, "land/1.md",
         "2024-03-01"),
    ]
    assert (result.shallow, result.first_commit, result.commits) == (True, head, 1)
    assert not (tmp_path / "cache").exists()  # a shallow walk is not cached


def test_backdated_last_update_keeps_the_commit_date(tmp_path):
    repo = make_repo(tmp_path)
    repo.commit({DOC: "title: Land\n",
                 "land/1.md": chapter(("a", "not_implemented", "2024-01-01"))}, when=T1)
    c2 = repo.commit({"land/1.md": chapter(("a", "implemented", "2024-02-15"))}, when=T5)
    assert rows(walk(repo.path))[-1] == (
        "land/a", "changed", "implemented", "not_implemented", T5, c2, ALEX,
        "land/1.md", "2024-02-15")


def test_content_in_a_subfolder_walks_only_its_commits(tmp_path):
    repo = make_repo(tmp_path)
    content = "site/_data/content"
    repo.commit({"README.md": "# Site\n"}, when=T1)
    c2 = repo.commit({f"{content}/{DOC}": "title: Land\n",
                      f"{content}/land/1.md": chapter(("a", "not_implemented", "2024-01-01")),
                      # Not chapters: a nested folder, and a file beside the documents.
                      f"{content}/land/alt/2.md": chapter(("x", "broken", "2024-01-01")),
                      f"{content}/notes.txt": "Notizen\n"}, when=T2)
    repo.commit({"site/index.html": "<p>hi</p>\n", "README.md": "# Site 2\n"}, when=T3)
    c4 = repo.commit({f"{content}/land/1.md": chapter(("a", "broken", "2024-04-01"))}, when=T4)
    repo.commit({"site/index.html": "<p>hi again</p>\n"}, when=T5)
    result = walk(repo.path / content)
    assert rows(result) == [
        ("land/a", "added", "not_implemented", None, T2, c2, ALEX, "land/1.md", "2024-01-01"),
        ("land/a", "changed", "broken", "not_implemented", T4, c4, ALEX, "land/1.md",
         "2024-04-01"),
    ]
    assert (result.commits, result.first_commit, result.head) == (2, c2, repo.head())


def test_bare_folder_of_chapters_is_one_document(tmp_path):
    """A Jekyll tracker's _chapters folder is one document named after the site, as content.py
    names it; `documents` can name it otherwise."""
    repo = make_repo(tmp_path)
    c1 = repo.commit({"berlin/_chapters/1.md": chapter(("a", "not_implemented", "2024-01-01")),
                      "berlin/_chapters/sub/2.md": chapter(("x", "broken", "2024-01-01")),
                      "berlin/index.md": "# Berlin\n"}, when=T1)
    folder = repo.path / "berlin" / "_chapters"
    assert rows(walk(folder)) == [
        ("berlin/a", "added", "not_implemented", None, T1, c1, ALEX, "1.md", "2024-01-01")]
    assert history.document_folders(folder) == {"": "berlin"}
    named = walk(folder, documents={"": "berlin-2021"})
    assert [c.statement_id for c in named.changes] == ["berlin-2021/a"]


def test_unpublished_chapters_count(tmp_path):
    repo = make_repo(tmp_path)
    repo.commit({DOC: "title: Land\n",
                 "land/1.md": chapter(("a", "broken", "2024-01-01"), published=False)}, when=T1)
    assert [row[:3] for row in rows(walk(repo.path))] == [("land/a", "added", "broken")]


def test_not_a_git_repository(tmp_path, monkeypatch):
    folder = tmp_path / "content" / "land"
    folder.mkdir(parents=True)
    (folder / "document.yaml").write_text("title: Land\n", encoding="utf-8")
    assert walk(tmp_path / "content") is None
    repo = make_repo(tmp_path)
    repo.commit({DOC: "title: Land\n"})
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs"))
    assert walk(repo.path) is None  # git is not installed


def test_repository_without_commits(tmp_path):
    repo = make_repo(tmp_path)
    (repo.path / "land").mkdir()
    (repo.path / DOC).write_text("title: Land\n", encoding="utf-8")
    result = walk(repo.path)
    assert (result.changes, result.head, result.commits, result.first_commit) == ([], None, 0, None)


def test_bad_version_is_noted_and_removes_nothing(tmp_path):
    repo = make_repo(tmp_path)
    repo.commit({DOC: "title: Land\n",
                 "land/1.md": chapter(("a", "not_implemented", "2024-01-01"),
                                      ("b", "not_implemented", "2024-01-01"))}, when=T1)
    bad = repo.commit({"land/1.md": "---\ntitle: [unclosed\n---\nText\n"}, when=T2)
    c3 = repo.commit({"land/1.md": chapter(("a", "implemented", "2024-03-01"),
                                           ("b", "not_implemented", "2024-01-01"))}, when=T3)
    result = walk(repo.path)
    assert rows(result)[2:] == [
        ("land/a", "changed", "implemented", "not_implemented", T3, c3, ALEX,
         "land/1.md", "2024-03-01")]
    assert len(result.notes) == 1
    assert result.notes[0].startswith(f"in commit {bad[:12]}, the chapter land/1.md has an "
                                      "error at line ")
    assert result.notes[0].endswith("; its statements keep the statuses they had before that "
                                    "commit")


def test_progress_is_reported_per_commit(tmp_path):
    repo = make_repo(tmp_path)
    repo.commit({DOC: "title: Land\n", "land/1.md": chapter(("a", "broken", "2024-01-01"))})
    repo.commit({"land/1.md": chapter(("a", "implemented", "2024-01-01"))})
    calls = []
    walk(repo.path, progress=lambda *args: calls.append(args))
    assert calls == [("history", 1, 2), ("history", 2, 2)]


def history_repo(tmp_path: Path) -> Repo:
    """Three commits to content/ (the content folder), beside other files of the site."""
    repo = make_repo(tmp_path)
    repo.commit({"README.md": "# Site\n", f"content/{DOC}": "title: Land\n",
                 "content/land/1.md": chapter(("a", "not_implemented", "2024-01-01"),
                                              ("b", "broken", "2024-01-01"))}, when=T1)
    repo.commit({"content/land/1.md": chapter(("a", "partially_implemented", "2024-02-01"),
                                              ("b", "broken", "2024-01-01"))}, when=T2)
    repo.commit({"content/land/1.md": chapter(("a", "partially_implemented", "2024-02-01"))},
                when=T3)
    return repo


def test_cache_reads_only_new_commits(tmp_path):
    repo, cache = history_repo(tmp_path), tmp_path / "cache"
    content = repo.path / "content"
    first = walk(content, cache_dir=cache)
    assert (first.commits_read, first.commits) == (3, 3)
    assert rows(first) == rows(walk(content))
    again = walk(content, cache_dir=cache)
    assert (again.commits_read, rows(again), again.head) == (0, rows(first), first.head)
    c4 = repo.commit({"content/land/1.md": chapter(("a", "implemented", "2024-04-01"),
                                                   ("b", "broken", "2024-04-01"))}, when=T4)
    later = walk(content, cache_dir=cache)
    assert (later.commits_read, later.commits, later.head) == (1, 4, c4)
    assert later.changes == walk(content).changes
    assert rows(later)[-2:] == [
        ("land/a", "changed", "implemented", "partially_implemented", T4, c4, ALEX,
         "land/1.md", "2024-04-01"),
        ("land/b", "added", "broken", None, T4, c4, ALEX, "land/1.md", "2024-04-01")]
    # A commit outside the content folder moves HEAD but gives nothing to read.
    repo.commit({"README.md": "# Site 2\n"}, when=T5)
    outside = walk(content, cache_dir=cache)
    assert (outside.commits_read, outside.commits, outside.head) == (0, 4, repo.head())
    assert outside.changes == later.changes


@pytest.mark.parametrize("rewrite", ["amend", "reset"])
def test_cache_is_stale_after_rewritten_history(tmp_path, rewrite):
    repo, cache = history_repo(tmp_path), tmp_path / "cache"
    content = repo.path / "content"
    walk(content, cache_dir=cache)
    if rewrite == "amend":
        (content / "land/1.md").write_text(chapter(("a", "implemented", "2024-03-01")),
                                           encoding="utf-8")
        repo.git("commit", "-q", "-a", "--amend", "-m", "amended", when=T4)
    else:
        repo.git("reset", "-q", "--hard", "HEAD~1")
        repo.commit({"content/land/1.md": chapter(("a", "broken", "2024-04-01"),
                                                  ("b", "broken", "2024-01-01"))}, when=T4)
    result = walk(content, cache_dir=cache)
    assert result.changes == walk(content).changes
    assert (result.commits_read, result.commits) == (3, 3)
    assert rows(result)[-1][4] == T4


def test_unreadable_or_foreign_cache_is_ignored(tmp_path):
    repo, cache = history_repo(tmp_path), tmp_path / "cache"
    content = repo.path / "content"
    walk(content, cache_dir=cache)
    (path,) = cache.iterdir()
    data = json.loads(path.read_text(encoding="utf-8"))
    data["key"]["format"] = -1
    path.write_text(json.dumps(data), encoding="utf-8")
    assert walk(content, cache_dir=cache).commits_read == 3
    path.write_text("{not json", encoding="utf-8")
    result = walk(content, cache_dir=cache)
    assert (result.commits_read, result.changes) == (3, walk(content).changes)
    # Other statuses would accept other versions: a cache made with these does not apply.
    narrower = git_history(content, statuses=frozenset({"broken"}), measures=CODES["measures"],
                           cache_dir=cache)
    assert narrower.commits_read == 3


def test_cache_from_a_merged_branch_is_stale(tmp_path):
    """A cache made on a branch holds the branch's own commits as events; once the branch is
    merged, its tip is an ancestor of HEAD but not on the first-parent chain, so the walk starts
    afresh and dates the change by the merge."""
    repo, cache = history_repo(tmp_path), tmp_path / "cache"
    content = repo.path / "content"
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit({"content/land/1.md": chapter(("a", "implemented", "2024-04-01"))}, when=T4)
    assert walk(content, cache_dir=cache).commits_read == 4
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge feature", "feature", when=T5)
    result = walk(content, cache_dir=cache)
    assert result.changes == walk(content).changes
    assert (result.commits_read, result.changes[-1].commit) == (4, repo.head())


def test_versions_parsed_by_workers_give_what_one_process_gives(tmp_path, monkeypatch):
    """From PARALLEL_MIN_VERSIONS on, worker processes parse runs of consecutive versions:
    the rows, notes and counts must be the walk's in one process, over status changes, bad
    versions, renames, moves between chapters, removals and a repeated version."""
    import random

    rng = random.Random(3)
    repo = make_repo(tmp_path)
    statuses = ["not_implemented", "partially_implemented", "implemented", "broken"]
    ids = ["a", "b", "c", "d", "e"]
    state = {sid: "not_implemented" for sid in ids}
    files = {"land/1.md": ids[:3], "land/2.md": ids[3:]}
    repo.commit({DOC: "title: Land\n", **{
        path: chapter(*((sid, state[sid], "2024-01-01") for sid in sids))
        for path, sids in files.items()}}, when=T1)
    for n in range(40):
        when = f"2024-02-{1 + n % 27:02d}T10:00:00+00:00"
        kind = n % 8
        if kind == 3:
            repo.commit({"land/1.md": "---\ntitle: [unclosed\n---\nText\n"}, when=when)
            continue
        if kind == 5:  # a chapter renamed
            old, new = sorted(files)[0], f"land/{n}.md"
            files[new] = files.pop(old)
            repo.git("mv", old, new)
        elif kind == 6 and len(files["land/2.md" if "land/2.md" in files else sorted(files)[-1]]):
            source = sorted(files)[-1]
            target = sorted(files)[0]
            if files[source]:
                files[target] = files[target] + [files[source].pop()]  # a statement moved
        for sid in rng.sample(ids, 2):
            state[sid] = rng.choice(statuses)
        repo.commit({path: chapter(*((sid, state[sid], f"2024-02-{1 + n % 27:02d}")
                                     for sid in sids)) for path, sids in files.items()},
                    when=when)
    repo.commit({sorted(files)[-1]: None}, when=T5)  # a chapter removed
    serial = walk(repo.path)
    monkeypatch.setattr(history, "PARALLEL_MIN_VERSIONS", 1)
    for per_worker in (1, 4, 50):
        monkeypatch.setattr(history, "RUNS_PER_WORKER", per_worker)
        parallel = walk(repo.path)
        assert rows(parallel) == rows(serial) and len(rows(serial)) > 40
        assert parallel.notes == serial.notes and serial.notes
        assert (parallel.commits, parallel.first_commit, parallel.head) == (
            serial.commits, serial.first_commit, serial.head)
