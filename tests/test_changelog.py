"""CHANGELOG.md between two releases: packages built from real git repositories in tmp_path,
exact changes and Markdown asserted."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest

from conftest import DOCUMENT_YAML, chapter, make_repo
from pledgepack.build import build
from pledgepack.errors import PledgepackError
from pledgepack.release.changelog import compare, escape, read_tables, render_changelog

T1, T2, T3, T4 = (f"2024-0{n}-01T10:00:00+00:00" for n in range(1, 5))
LAND, STADT = "Koalitionsvertrag Testland 2024", "Koalitionsvertrag Teststadt 2024"
STADT_YAML = DOCUMENT_YAML.replace(LAND, STADT)


def pledges(title: str, order: int, *statements: tuple[str, str]) -> str:
    """A chapter with (id, status) statements, anchored in the text, summary 'Vorhaben <id>'."""
    block = "".join(f"- id: {sid}\n  status: {status}\n  summary: Vorhaben {sid}\n"
                    for sid, status in statements)
    body = "".join(f"Wir machen [Vorhaben {sid}](#{sid}).\n" for sid, _ in statements)
    return chapter(block, body, title=title, extra=f"order: {order}\n")


def land(first: list[tuple[str, str]], second: list[tuple[str, str]],
         second_title: str = "1.2 Umwelt") -> dict[str, str]:
    return {"content/land/document.yaml": DOCUMENT_YAML,
            "content/land/1-1.md": pledges("1.1 Verwaltung", 1, *first),
            "content/land/1-2.md": pledges(second_title, 2, *second)}


def set_version(folder: Path, version: str) -> None:
    path = folder / "datapackage.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**descriptor, "version": version}), encoding="utf-8")


def day(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def updates(changes) -> list[tuple]:
    return [(c.statement_id, c.previous_status, c.status, c.recorded_at, c.commit,
             c.by_comparison) for c in changes.status_changes]


@pytest.fixture
def release(tmp_path):
    """The repository at T1, built into folder a (version 1.0.0), and then at T2 and T3."""
    repo = make_repo(tmp_path)
    repo.commit(land([("a", "not_implemented"), ("b", "not_implemented"),
                      ("c", "implemented")], [("d", "not_implemented")]), when=T1)
    build(repo.path / "content", tmp_path / "a")
    set_version(tmp_path / "a", "1.0.0")
    c2 = repo.commit(land([("a", "partially_implemented"), ("b", "not_implemented"),
                           ("c", "implemented"), ("e", "broken")], [],
                          second_title="1.2 Umwelt und Klima"), when=T2)
    c3 = repo.commit(land([("a", "implemented"), ("b", "broken"), ("c", "implemented"),
                           ("e", "broken")], [], second_title="1.2 Umwelt und Klima"), when=T3)
    build(repo.path / "content", tmp_path / "b")
    return tmp_path / "a", tmp_path / "b", c2, c3


def test_read_tables_gives_typed_tables_by_name(release):
    a, _, _, _ = release
    tables = read_tables(a)
    assert sorted(tables) == ["documents", "reports", "sections", "statements",
                              "status_history", "statuses"]
    assert tables["statements"].num_rows == 4
    assert tables["statements"].schema.field("position").type == pa.int64()
    history = tables["status_history"].schema
    assert history.field("recorded_at").type == pa.timestamp("ms", "UTC")
    assert history.field("effective_date").type == pa.date32()


def test_read_tables_refuses_a_folder_that_is_not_a_package(tmp_path):
    with pytest.raises(PledgepackError, match="not a built package"):
        read_tables(tmp_path)


def test_read_tables_refuses_paths_outside_the_package(release, tmp_path):
    a, _, _, _ = release
    descriptor = json.loads((a / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["resources"][0]["parquet"]["path"] = "../b/data/documents.parquet"
    (a / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    with pytest.raises(PledgepackError, match="unusable path"):
        read_tables(a)


def test_added_removed_and_changes_in_time_order(release):
    a, b, c2, c3 = release
    changes = compare(a, b)
    assert (changes.previous_version, changes.current_version, changes.first_release) == \
        ("1.0.0", None, False)
    assert [(e.statement_id, e.status, e.place.section_heading) for e in changes.added] == \
        [("land/e", "broken", "1.1 Verwaltung")]
    # The removed statement is listed under the title its section had in the previous release.
    assert [(e.statement_id, e.summary, e.place.section_id, e.place.section_heading,
             e.place.document_title) for e in changes.removed] == \
        [("land/d", "Vorhaben d", "land/1-2", "1.2 Umwelt", LAND)]
    # 'a' changed twice since the previous release: both changes, in time order.
    assert updates(changes) == [
        ("land/a", "not_implemented", "partially_implemented", day(T2), c2, False),
        ("land/a", "partially_implemented", "implemented", day(T3), c3, False),
        ("land/b", "not_implemented", "broken", day(T3), c3, False)]
    assert changes.changed_statements == 2
    assert changes.counts_before == {"not_implemented": 3, "implemented": 1}
    assert changes.counts_now == {"implemented": 2, "broken": 2}


def test_rendered_changelog(release):
    a, b, c2, c3 = release
    text = render_changelog(compare(a, b), version="1.1.0", date="2024-03-02")
    assert text == f"""\
# Changelog

## 1.1.0 (2024-03-02)

Changes since 1.0.0:

- Statements added: 1
- Statements removed: 1
- Status changes: 3
- Statements whose status changed: 2
- Statements edited (summary, deadline, categories, responsible, measure): 0
- Reports added: 0
- Reports removed: 0

| Status | Before | Now | Difference |
| --- | ---: | ---: | ---: |
| Not implemented | 3 | 0 | -3 |
| Partially implemented | 0 | 0 | 0 |
| Implemented | 1 | 2 | +1 |
| Broken | 0 | 2 | +2 |

### {LAND}

#### 1.1 Verwaltung

Added:

- `e`: Vorhaben e (broken)

Status changes:

- `a`: Vorhaben a: not implemented → partially implemented (in effect 2024-02-01, commit {c2[:7]} of 2024-02-01)
- `a`: Vorhaben a: partially implemented → implemented (in effect 2024-03-01, commit {c3[:7]} of 2024-03-01)
- `b`: Vorhaben b: not implemented → broken (in effect 2024-03-01, commit {c3[:7]} of 2024-03-01)

#### 1.2 Umwelt

Removed:

- `d`: Vorhaben d (was not implemented)
"""
    # Document heading before its section heading before the entry, and no drift between runs.
    assert text.index(f"### {LAND}") < text.index("#### 1.1 Verwaltung") < text.index("`e`")
    assert render_changelog(compare(a, b), version="1.1.0", date="2024-03-02") == text


def test_change_in_a_second_document(tmp_path):
    repo = make_repo(tmp_path)
    files = {**land([("a", "not_implemented")], []),
             "content/stadt/document.yaml": STADT_YAML,
             "content/stadt/3-bauen.md": pledges("3. Bauen", 3, ("haus", "not_implemented"),
                                                 ("weg", "not_implemented"))}
    repo.commit(files, when=T1)
    build(repo.path / "content", tmp_path / "a")
    c2 = repo.commit({"content/stadt/3-bauen.md": pledges(
        "3. Bauen", 3, ("haus", "not_implemented"), ("weg", "partially_implemented"))}, when=T2)
    c3 = repo.commit({"content/land/1-1.md": pledges("1.1 Verwaltung", 1,
                                                     ("a", "implemented"))}, when=T3)
    build(repo.path / "content", tmp_path / "b")
    changes = compare(tmp_path / "a", tmp_path / "b")
    assert updates(changes) == [
        ("stadt/weg", "not_implemented", "partially_implemented", day(T2), c2, False),
        ("land/a", "not_implemented", "implemented", day(T3), c3, False)]
    assert [(c.place.document_id, c.place.document_title, c.place.section_heading)
            for c in changes.status_changes] == \
        [("stadt", STADT, "3. Bauen"), ("land", LAND, "1.1 Verwaltung")]
    text = render_changelog(changes, version="2", date="2024-03-02")
    assert "Changes since the previous release:" in text
    # Documents by id: land before stadt, although stadt's change came first.
    assert text.index(f"### {LAND}") < text.index("`a`: Vorhaben a") \
        < text.index(f"### {STADT}") < text.index("#### 3. Bauen") \
        < text.index("`weg`: Vorhaben weg: not implemented → partially implemented (in effect 2024-02-01")


def test_first_release(release):
    a, _, _, _ = release
    changes = compare(None, a)
    assert changes.first_release and changes.previous_version is None
    assert [e.statement_id for e in changes.added] == ["land/a", "land/b", "land/c", "land/d"]
    assert (changes.removed, changes.status_changes) == ([], [])
    text = render_changelog(changes, version="1.0.0", date="2024-01-02")
    assert text == f"""\
# Changelog

## 1.0.0 (2024-01-02)

The first release: all 4 statements are new.

| Status | Statements |
| --- | ---: |
| Not implemented | 3 |
| Partially implemented | 0 |
| Implemented | 1 |
| Broken | 0 |

| Document | Statements |
| --- | ---: |
| {LAND} | 4 |
"""


def test_no_changes(tmp_path):
    repo = make_repo(tmp_path)
    repo.commit(land([("a", "not_implemented")], [("d", "implemented")]), when=T1)
    build(repo.path / "content", tmp_path / "a")
    set_version(tmp_path / "a", "1.0.0")
    # A new last_update or chapter text is not a status change.
    repo.commit({"content/land/1-1.md": pledges("1.1 Verwaltung", 1, ("a", "not_implemented"))
                 + "Noch ein Satz.\n"}, when=T2)
    build(repo.path / "content", tmp_path / "b")
    changes = compare(tmp_path / "a", tmp_path / "b")
    assert changes.empty and changes.changed_statements == 0
    text = render_changelog(changes, version="1.0.1", date="2024-02-02")
    assert text == """\
# Changelog

## 1.0.1 (2024-02-02)

Nothing changed since 1.0.0: no statement was added, removed or edited, no status changed, and no report was added or removed.

| Status | Before | Now | Difference |
| --- | ---: | ---: | ---: |
| Not implemented | 1 | 1 | 0 |
| Partially implemented | 0 | 0 | 0 |
| Implemented | 1 | 1 | 0 |
| Broken | 0 | 0 | 0 |
"""


def test_without_git_the_releases_are_compared(tmp_path):
    repo = make_repo(tmp_path)
    repo.commit(land([("a", "not_implemented"), ("b", "broken")], []), when=T1)
    build(repo.path / "content", tmp_path / "a", git_history=False)
    repo.commit(land([("a", "implemented"), ("b", "broken")], []), when=T2)
    build(repo.path / "content", tmp_path / "b", git_history=False)
    assert {r["event"] for r in read_tables(tmp_path / "b")["status_history"].to_pylist()} == \
        {"snapshot"}
    changes = compare(tmp_path / "a", tmp_path / "b")
    assert updates(changes) == [("land/a", "not_implemented", "implemented", None, None, True)]
    text = render_changelog(changes, version="2", date="2024-02-02")
    assert "- `a`: Vorhaben a: not implemented → implemented " \
           "(found by comparing the two releases)\n" in text
    assert "- Status changes: 1\n" in text


def test_an_uncommitted_edit_is_found_after_the_committed_ones(tmp_path):
    repo = make_repo(tmp_path)
    repo.commit(land([("a", "not_implemented")], []), when=T1)
    build(repo.path / "content", tmp_path / "a")
    c2 = repo.commit(land([("a", "partially_implemented")], []), when=T2)
    (repo.path / "content/land/1-1.md").write_text(
        pledges("1.1 Verwaltung", 1, ("a", "implemented")), encoding="utf-8")
    build(repo.path / "content", tmp_path / "b")
    # The step the history explains, then the one only the two releases show.
    assert updates(compare(tmp_path / "a", tmp_path / "b")) == [
        ("land/a", "not_implemented", "partially_implemented", day(T2), c2, False),
        ("land/a", "partially_implemented", "implemented", None, None, True)]


def test_a_statement_added_and_removed_between_releases(tmp_path):
    repo = make_repo(tmp_path)
    repo.commit(land([("a", "not_implemented")], []), when=T1)
    build(repo.path / "content", tmp_path / "a")
    repo.commit(land([("a", "not_implemented"), ("x", "not_implemented")], []), when=T2)
    c3 = repo.commit(land([("a", "not_implemented"), ("x", "implemented")], []), when=T3)
    repo.commit(land([("a", "not_implemented")], []), when=T4)
    build(repo.path / "content", tmp_path / "b")
    changes = compare(tmp_path / "a", tmp_path / "b")
    assert (changes.added, changes.removed) == ([], [])
    # Neither release has the statement; its chapter is found from the history row's path.
    assert [(c.statement_id, c.id, c.summary, c.commit, c.place.section_heading)
            for c in changes.status_changes] == [("land/x", "x", None, c3, "1.1 Verwaltung")]
    assert "- `x`: not implemented → implemented (in effect 2024-03-01, commit " \
        in render_changelog(changes, version="2", date="2024-04-02")


def test_summaries_cannot_break_the_markdown(tmp_path):
    repo = make_repo(tmp_path)
    repo.commit(land([("a", "not_implemented")], []), when=T1)
    build(repo.path / "content", tmp_path / "a")
    summary = "# Rechte | *alle* [und] _mehr_ <b>\n  für C#"
    text = chapter(f"- id: n\n  status: implemented\n  summary: {json.dumps(summary)}\n"
                   "- id: a\n  status: not_implemented\n  summary: Vorhaben a\n",
                   "Wir machen [N](#n) und [A](#a).\n", title="1.1 Verwaltung",
                   extra="order: 1\n")
    repo.commit({"content/land/1-1.md": text}, when=T2)
    build(repo.path / "content", tmp_path / "b")
    changes = compare(tmp_path / "a", tmp_path / "b")
    assert [e.summary for e in changes.added] == [summary]
    rendered = render_changelog(changes, version="2", date="2024-02-02")
    assert r"- `n`: \# Rechte \| \*alle\* \[und\] \_mehr\_ \<b> für C# (implemented)" \
        in rendered.splitlines()


@pytest.mark.parametrize("text, escaped", [
    ("#1 ist #2", r"\#1 ist \#2"),
    ("C# und F#", "C# und F#"),
    ("a\\b `c` ~~d~~", r"a\\b \`c\` \~\~d\~\~"),
    ("ganz\n  normal", "ganz normal"),
])
def test_escape(text, escaped):
    assert escape(text) == escaped
