"""The history walk reads each version exactly as the build reads it: a version the build
rejects is skipped with a note naming commit and file, never read into invented events, never
a crash. SHA-256 repositories validate; a damaged HEAD is an error, not an empty history."""
from __future__ import annotations

import subprocess

import pytest

from conftest import CHAPTER, DOCUMENT_YAML, Repo, make_repo
from pledgepack.check.validate import validate_package
from pledgepack.history.versions import VersionParser
from pledgepack.history.walk import HistoryError
from test_history import ALEX, DOC, T1, T2, T3, chapter, rows, walk  # noqa: F401
from test_versions import parser

# Versions the build rejects, or reads otherwise than a naive splitter would.
TRICKY = {
    "dash line that does not close": CHAPTER.replace("published: true\n---\n",
                                                     "published: true\n--- -\nstatements: x\n---\n"),
    "statements:#x is another key": CHAPTER.replace("statements:\n", "statements:#x\nstatements:\n"),
    "statements:#x alone": CHAPTER.replace("statements:\n", "statements:#x\n"),
    "two statements keys": CHAPTER + "",
    "list as status": CHAPTER.replace("status: implemented", "status: [implemented]"),
    "mapping as status": CHAPTER.replace("status: implemented", "status: {a: b}"),
    "duplicate status": CHAPTER.replace("status: implemented",
                                        "status: implemented\n    status: broken"),
    "duplicate title": CHAPTER.replace("section: \"I\"", "section: \"I\"\ntitle: zwei"),
    "tag in an entry": CHAPTER.replace("summary: Elektronische Akte", "summary: !!binary eA=="),
    "conflict markers": CHAPTER.replace("  - id: akte", "<<<<<<< HEAD\n  - id: akte").replace(
        "    measure: law\n", "    measure: law\n=======\n>>>>>>> other\n"),
    "deep nesting": CHAPTER.replace("section: \"I\"", "section: " + "[" * 500 + "]" * 500),
    "order beyond int64": CHAPTER.replace("order: 1", "order: 99999999999999999999"),
    "section 2.10": CHAPTER.replace('section: "I"', "section: 2.10"),
    "published no": CHAPTER.replace("published: true", "published: no"),
    "history entry with a list status": CHAPTER.replace(
        "    measure: law\n",
        "    measure: law\n    history:\n      - date: 2020-01-01\n        status: [broken]\n"),
}
# A block scalar that ends an item keeps the item's line break in the whole front matter: a
# piece cut without it would read the status "broken" where the build reads "broken\n".
TRICKY["block scalar status ending an item"] = CHAPTER.replace(
    "        url: \"https://example.gov/portal\"\n",
    "        url: \"https://example.gov/portal\"\n    status: |\n      broken\n").replace(
    "    status: partially_implemented\n", "")
TRICKY["empty anchor text and no summary"] = (
    "---\nstatements:\n  - id: '0'\n    status: broken\ntitle: 'T'\n---\n[ ](#0)\n")
TRICKY["two statements keys"] = CHAPTER.replace("published: true\n",
                                                "published: true\nstatements: []\n")


@pytest.mark.parametrize("name", TRICKY)
def test_pieces_give_what_the_whole_gives_on_tricky_versions(name):
    raw = TRICKY[name].encode()
    parsed = parser()
    assert parsed.parse(raw, "land/1.md") == parsed.whole(raw, "land/1.md")
    # and a second time, from the parser's memory of pieces it has seen
    warm = parser()
    warm.parse(CHAPTER.encode(), "land/1.md")
    assert warm.parse(raw, "land/1.md") == parsed.whole(raw, "land/1.md")


@pytest.mark.parametrize("name", [n for n in TRICKY if n not in ("section 2.10", "published no")])
def test_a_version_the_build_rejects_is_skipped_with_a_note(tmp_path, name):
    repo = make_repo(tmp_path)
    repo.commit({DOC: "title: Land\n", "land/1.md": chapter(("a", "not_implemented", "2024-01-01"))},
                when=T1)
    bad_text = TRICKY[name].replace("id: portal", "id: a")
    bad = repo.commit({"land/1.md": bad_text}, when=T2)
    good = repo.commit({"land/1.md": chapter(("a", "implemented", "2024-03-01"))}, when=T3)
    result = walk(repo.path)
    assert [r[:4] for r in rows(result)] == [
        ("land/a", "added", "not_implemented", None),
        ("land/a", "changed", "implemented", "not_implemented")]
    assert rows(result)[1][5] == good
    assert len(result.notes) == 1, result.notes
    assert result.notes[0].startswith(f"in commit {bad[:12]}, the chapter land/1.md has an error")


def test_a_bad_old_commit_does_not_break_later_builds(tmp_path, run):
    repo = make_repo(tmp_path)
    content = repo.path / "content"
    repo.commit({"content/land/document.yaml": DOCUMENT_YAML,
                 "content/land/1.md": CHAPTER.replace("status: implemented",
                                                      "status: [implemented]")}, when=T1)
    repo.commit({"content/land/1.md": CHAPTER}, when=T2)
    out = tmp_path / "dist"
    result = run("build", "--content", content, "--out", out)
    assert result.exit_code == 0, result.output
    assert validate_package(out).valid
    assert "land/1.md" in result.output  # the note about the skipped version


def test_a_sha256_repository_builds_and_validates(tmp_path, run):
    repo = Repo.__new__(Repo)
    repo.path = tmp_path / "repo"
    repo.path.mkdir()
    proc = subprocess.run(["git", "init", "-q", "-b", "main", "--object-format=sha256",
                           str(repo.path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    repo.commit({"content/land/document.yaml": DOCUMENT_YAML, "content/land/1.md": CHAPTER},
                when=T1)
    head = repo.commit({"content/land/1.md": CHAPTER.replace("status: implemented",
                                                             "status: broken")}, when=T2)
    assert len(head) == 64
    out = tmp_path / "dist"
    result = run("build", "--content", repo.path / "content", "--out", out)
    assert result.exit_code == 0, result.output
    assert validate_package(out).valid
    assert head in (out / "data" / "status_history.csv").read_text(encoding="utf-8")


def test_a_damaged_head_commit_is_an_error(tmp_path, run):
    repo = make_repo(tmp_path)
    repo.commit({"content/land/document.yaml": DOCUMENT_YAML, "content/land/1.md": CHAPTER},
                when=T1)
    head = repo.commit({"content/land/1.md": CHAPTER.replace("status: implemented",
                                                             "status: broken")}, when=T2)
    loose = repo.path / ".git" / "objects" / head[:2] / head[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"not a zlib stream")
    out = tmp_path / "dist"
    result = run("build", "--content", repo.path / "content", "--out", out)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.startswith(f"Error: {repo.path}: HEAD ({head}) is not a readable commit")
    assert "git fsck" in result.stderr
    assert not out.exists()
    with pytest.raises(HistoryError):
        walk(repo.path)


def test_parser_is_the_builds_reader_for_anchors():
    body = "[Text mit [CDO] Klammer](#cdo) und [x](#x \"Titel\")\n"
    text = "---\ntitle: T\nstatements: []\n---\n" + body
    parsed = VersionParser(parser().statuses, parser().measures)
    assert parsed.parse(text.encode(), "land/1.md") == parsed.whole(text.encode(), "land/1.md")
