"""`sync`: an entry for every anchor without one, added as new front-matter lines while every
other byte of the chapter stays as it was."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conftest import make_document
from pledgepack.content.folder import read_content
from pledgepack.content.yamltext import load_yaml, split_front_matter
from pledgepack.editors.sync import sync_chapter, sync_files
from pledgepack.errors import ERROR, WARNING, PledgepackError
from pledgepack.schema import PackageSchema

DATE = "2024-05-01"

# In the style of a real chapter: anchors spanning lines, umlauts, „quotes“, *innen, a quote
# character, an anchor used twice, and a link that lacks its '#'.
SEED_CHAPTER = """\
---
title: "7.2 Verwaltung"
section: "VII"
order: 9
statements: []
published: true
---
Die Verwaltung wird modern. [Die Zuständigkeiten für Register und
Portale werden in einer
Stelle gebündelt.](#buendelung) [Die Koalition beruft eine „Chief Data Officer“ mit
eigenem Budget.](#cdo)

[Jede Behörde benennt Ansprechpartner*innen für Open Data.](#ansprechpartner) Das
[Register "Daten-Atlas" wird 2025 öffentlich.](#datenatlas)

Wie oben gesagt: [Ansprechpartner*innen](#ansprechpartner) gibt es überall.
[Ein Finanzierungsmodell für die IT wird mit dem Haushalt
beschlossen.](it-finanzierung) Danach folgt mehr Text.
"""
SEED_ENTRIES = [
    ("buendelung", "Die Zuständigkeiten für Register und Portale werden in einer Stelle "
                   "gebündelt."),
    ("cdo", "Die Koalition beruft eine „Chief Data Officer“ mit eigenem Budget."),
    ("ansprechpartner", "Jede Behörde benennt Ansprechpartner*innen für Open Data."),
    ("datenatlas", 'Register "Daten-Atlas" wird 2025 öffentlich.'),
]

BODY = """\
Wir bauen [ein Portal für alle
Leistungen](#portal) und [führen die Akte ein](#akte). Neu:
[ein offenes
Register](#register) und [eine „Lernplattform“](#lernen).
"""
NEW_ENTRIES = [("register", "ein offenes Register"), ("lernen", "eine „Lernplattform“")]

# Front matter in each shape sync meets; `removed` is what sync takes out, `after` the text
# right before the inserted lines, (dash, fields) the indentation of the new items.
CASES = {
    "empty": dict(front="""\
        title: "1.1 Kapitel"  # the title
        statements: []
        published: true
        """, removed=("statements: []", "statements:"), after="statements:\n", indent=(2, 4),
        new=[("portal", "ein Portal für alle Leistungen"), ("akte", "führen die Akte ein"),
             *NEW_ENTRIES]),
    "entries": dict(front="""\
        # Kapitel: edited by hand
        title: 'Kapitel „Eins“'   # odd quoting
        statements:
          # the first pledge
          - id: "portal"
            last_update: 2024-02-01
            status: partially_implemented
            summary: >-
              Ein Portal für
              alle Leistungen
          - id: 'akte'   # quoted id
            status: implemented
            summary: Elektronische
              Akte, mehrzeilig
            # a comment after the last entry
        published: true   # stays
        """, removed=None, after="      Akte, mehrzeilig\n", indent=(2, 4), new=NEW_ENTRIES),
    "indentless": dict(front="""\
        title: "1.1 Kapitel"
        statements:
        - id: portal
          summary: "Portal"
          status: implemented
          reports:
            - title: Start
              url: https://example.gov/start
        - id: akte
          status: implemented
          summary: |
            Akte
        published: true
        """, removed=None, after="    Akte\n", indent=(0, 2), new=NEW_ENTRIES),
    "null": dict(front="""\
        title: "1.1 Kapitel"
        statements:    # filled in by sync
        published: true
        """, removed=None, after="statements:    # filled in by sync\n", indent=(2, 4),
        new=[("portal", "ein Portal für alle Leistungen"), ("akte", "führen die Akte ein"),
             *NEW_ENTRIES]),
    "missing": dict(front="""\
        title: "1.1 Kapitel"
        published: true  # no statements yet
        """, removed=None, after="published: true  # no statements yet\n", indent=(2, 4),
        new=[("portal", "ein Portal für alle Leistungen"), ("akte", "führen die Akte ein"),
             *NEW_ENTRIES]),
}


def entry_lines(sid: str, summary: str, dash: int = 2, fields: int = 4) -> str:
    pad = " " * fields
    return (f"{' ' * dash}- {' ' * (fields - dash - 2)}id: {sid}\n{pad}last_update: '{DATE}'\n"
            f"{pad}status: not_implemented\n{pad}summary: \"{summary}\"\n")


def write(path: Path, text: str, eol: str = "\n", bom: str = "") -> Path:
    path.write_bytes((bom + text.replace("\n", eol)).encode("utf-8"))
    return path


def front_matter(text: str) -> dict:
    fm, fm_line, _, _ = split_front_matter(text.lstrip("\ufeff").replace("\r\n", "\n"))
    return load_yaml(fm, fm_line)


def test_seed_style_chapter_gets_one_entry_per_anchor_in_order(tmp_path):
    root = make_document(tmp_path / "content", chapters={"7-2-verwaltung.md": SEED_CHAPTER})
    path = root / "testland-2024" / "7-2-verwaltung.md"

    [result] = sync_files([path], DATE)

    assert result.added == [sid for sid, _ in SEED_ENTRIES]
    assert front_matter(path.read_text("utf-8"))["statements"] == [
        {"id": sid, "last_update": DATE, "status": "not_implemented", "summary": summary}
        for sid, summary in SEED_ENTRIES]
    [warning] = result.diagnostics
    assert (warning.severity, warning.line, warning.message) == (
        WARNING, 18, 'anchor "(it-finanzierung)" lacks "#"')
    content = read_content(root, PackageSchema.load())
    assert [(s.id, s.summary, s.quote, s.status, s.last_update) for s in content.statements] == [
        (sid, summary, summary, "not_implemented", DATE) for sid, summary in SEED_ENTRIES]
    assert not [d for d in content.diagnostics if "no front-matter entry" in d.message]


@pytest.mark.parametrize("eol, bom", [("\n", ""), ("\r\n", ""), ("\r\n", "\ufeff")],
                         ids=["lf", "crlf", "crlf-bom"])
@pytest.mark.parametrize("case", CASES)
def test_only_the_new_lines_are_inserted(tmp_path, case, eol, bom):
    spec = CASES[case]
    old_text = "---\n" + textwrap.dedent(spec["front"]) + "---\n" + BODY
    path = write(tmp_path / "chapter.md", old_text, eol, bom)
    old = path.read_bytes()

    [result] = sync_files([path], DATE)

    new = path.read_bytes()
    dash, fields = spec["indent"]
    block = "".join(entry_lines(sid, summary, dash, fields) for sid, summary in spec["new"])
    if case == "missing":
        block = "statements:\n" + block
    block = block.replace("\n", eol).encode("utf-8")
    start = new.index(spec["after"].replace("\n", eol).encode("utf-8")) + len(
        spec["after"].replace("\n", eol).encode("utf-8"))
    end = start + len(block)
    assert new[start:end] == block
    if spec["removed"]:
        old = old.replace(*(s.encode("utf-8") for s in spec["removed"]))
    assert new[:start] + new[end:] == old
    assert result.added == [sid for sid, _ in spec["new"]]


def test_a_second_run_changes_nothing(tmp_path):
    path = write(tmp_path / "chapter.md", SEED_CHAPTER, "\r\n")
    sync_files([path], DATE)
    once = path.read_bytes()

    [result] = sync_files([path], "2030-01-01")

    assert (result.added, result.changed, result.text) == ([], False, None)
    assert path.read_bytes() == once


def test_check_mode_reports_the_ids_and_writes_nothing(tmp_path):
    path = write(tmp_path / "chapter.md", SEED_CHAPTER)
    old = path.read_bytes()

    [result] = sync_files([path], DATE, check=True)

    assert result.added == [sid for sid, _ in SEED_ENTRIES]
    assert result.changed and result.ok
    assert path.read_bytes() == old


def test_existing_entries_are_left_as_they_are(tmp_path):
    text = ("---\ntitle: x\nstatements:\n  - id: portal\n    status: implemented\n"
            "    summary: Mein eigener Text\n---\n" + BODY)
    path = write(tmp_path / "chapter.md", text)

    [result] = sync_files([path], DATE)

    assert result.added == ["akte", "register", "lernen"]
    statements = front_matter(path.read_text("utf-8"))["statements"]
    assert statements[0] == {"id": "portal", "status": "implemented",
                             "summary": "Mein eigener Text"}
    assert path.read_text("utf-8").startswith(text[:text.index("---\n", 4)])


def test_an_anchor_used_twice_gets_one_entry(tmp_path):
    path = write(tmp_path / "chapter.md", "---\ntitle: x\nstatements: []\n---\n"
                 "[Eins](#eins) und [noch mal eins](#eins), [zwei](#zwei).\n")

    [result] = sync_files([path], DATE)

    assert result.added == ["eins", "zwei"]
    assert [s["summary"] for s in front_matter(path.read_text("utf-8"))["statements"]] == [
        "Eins", "zwei"]


@pytest.mark.parametrize("summary", [
    'Sie sagt: "ja" # kein Kommentar \\ und Backslash',
    "*Sternchen* am Anfang",
    "- ? ! & % @ ` ' { } > | am Anfang",
    "null",
    "2024-01-01",
    "Steuer\x7fzeichen und ein\u200bunsichtbares Leerzeichen",
])
def test_summaries_round_trip_exactly(tmp_path, summary):
    path = write(tmp_path / "chapter.md", f"---\ntitle: x\n---\n[{summary}](#p)\n")

    sync_files([path], DATE)

    assert front_matter(path.read_text("utf-8"))["statements"][0]["summary"] == summary


@pytest.mark.parametrize("sid", ["true", "1.10", "2024-01-01", "a:b", "ab\u00fc", "1_000", "no"])
def test_ids_round_trip_exactly(tmp_path, sid):
    path = write(tmp_path / "chapter.md", f"---\ntitle: x\n---\n[Text](#{sid})\n")

    [result] = sync_files([path], DATE)

    assert front_matter(path.read_text("utf-8"))["statements"][0]["id"] == sid
    assert result.added == [sid]


@pytest.mark.parametrize("sid", ["x#y", "'q'", 'a"b', "a/b", "a?b", "a[1]"])
def test_ids_that_cannot_be_anchors_are_not_added(tmp_path, sid):
    text = f"---\ntitle: x\n---\n[Text](#{sid})\n"
    path = write(tmp_path / "chapter.md", text)

    [result] = sync_files([path], DATE)

    assert result.added == []
    assert path.read_text("utf-8") == text


def test_ids_are_nfc_and_an_empty_anchor_text_gives_the_id_as_summary(tmp_path):
    path = write(tmp_path / "chapter.md", "---\ntitle: x\n---\n[](#u\u0308bersicht)\n")

    [first] = sync_files([path], DATE)
    [second] = sync_files([path], DATE)

    assert first.added == ["\u00fcbersicht"] and second.added == []
    assert front_matter(path.read_text("utf-8"))["statements"] == [
        {"id": "\u00fcbersicht", "last_update": DATE, "status": "not_implemented",
         "summary": "\u00fcbersicht"}]


@pytest.mark.parametrize("text, line, message", [
    ("---\ntitle: x\nstatements: [\n---\n[a](#a)\n", 4, "invalid YAML"),
    ("---\ntitle: x\nstatements: [{id: a}]\n---\n[a](#a) [b](#b)\n", 3, "flow style"),
    ("---\n{title: x}\n---\n[a](#a)\n", 2, "flow style"),
    ("---\ntitle: x\nstatements: eins\n---\n[a](#a)\n", 3, "must be a list"),
    ("---\n- x\n---\n[a](#a)\n", 1, "not a mapping"),
    ("[a](#a)\n", 1, "no YAML front matter"),
    # An explicit document end would leave the added key outside the front matter.
    ("---\ntitle: x\n...\n---\n[a](#a)\n", 1, "without changing other front matter"),
])
def test_bad_front_matter_is_an_error_and_nothing_changes(tmp_path, text, line, message):
    path = write(tmp_path / "chapter.md", text)

    [result] = sync_files([path], DATE)

    errors = [d for d in result.diagnostics if d.severity == ERROR]
    assert [(d.line, message in d.message) for d in errors] == [(line, True)]
    assert not result.changed and result.added == []
    assert path.read_text("utf-8") == text


def test_flow_style_error_says_to_use_block_style(tmp_path):
    path = write(tmp_path / "chapter.md", "---\nstatements: [{id: a}]\n---\n[b](#b)\n")

    [error] = sync_chapter(path, DATE).diagnostics

    assert "block style" in error.hint


def test_a_file_that_is_not_utf8_is_an_error(tmp_path):
    path = tmp_path / "chapter.md"
    old = "---\ntitle: x\n---\n[Gr\u00fc\u00dfe](#a)\n".encode("latin-1")
    path.write_bytes(old)

    [result] = sync_files([path], DATE)

    [error] = result.diagnostics
    assert (error.severity, error.line, "not UTF-8" in error.message) == (ERROR, 4, True)
    assert path.read_bytes() == old


def test_folders_stand_for_their_chapters(tmp_path):
    write(tmp_path / "a.md", "---\ntitle: a\n---\n[a](#a)\n")
    for folder in ("sub", ".hidden"):
        (tmp_path / folder).mkdir()
    write(tmp_path / "sub" / "b.md", "---\ntitle: b\n---\n[b](#b)\n")
    write(tmp_path / ".hidden" / "c.md", "---\ntitle: c\n---\n[c](#c)\n")

    results = sync_files([tmp_path], DATE, check=True)

    assert [(r.path.name, r.added) for r in results] == [("a.md", ["a"]), ("b.md", ["b"])]


@pytest.mark.parametrize("date", ["2024-13-01", "1.5.2024", ""])
def test_a_bad_date_is_refused(tmp_path, date):
    with pytest.raises(PledgepackError, match="YYYY-MM-DD"):
        sync_files([tmp_path], date)


def test_sync_command_check_then_write_then_build(tmp_path, run):
    seed = Path(__file__).parent / "fixtures" / "seed-003-19-4-digitalisierung.md"
    root = make_document(tmp_path / "content", name="berlin-2021",
                         chapters={"19-4-digitalisierung.md": seed.read_text(encoding="utf-8")})
    berlin = root / "berlin-2021" / "19-4-digitalisierung.md"
    before = berlin.read_bytes()
    check = run("sync", "--content", root, "--check", "--date", "2021-11-29")
    assert check.exit_code == 1 and berlin.read_bytes() == before
    assert "would add 16 statement(s): organisationseinheit, cdo," in check.stdout
    assert 'lacks "#"' in check.stderr
    assert run("sync", "--content", root, "--date", "2021-11-29").exit_code == 0
    assert run("sync", berlin, "--check", "--date", "2022-01-01").exit_code == 0
    result = run("build", "--content", root, "--out", tmp_path / "dist")
    assert result.exit_code == 0 and "has no front-matter entry" not in result.stderr
    assert "16 statements" in result.stdout and 'lacks "#"' in result.stderr
