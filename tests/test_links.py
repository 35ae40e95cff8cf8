"""Every link to a fragment in a chapter's body is a pledge or a warning: the CommonMark forms
the plain pattern cannot read (brackets in the text, escapes, titles, angle brackets,
reference-style links, HTML) included."""
from __future__ import annotations

import unicodedata

import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import chapter
from test_bad_input import DOC, write_in_document

ENTRY = "- id: {sid}\n  summary: s\n  status: implemented\n"


def build(run, content, tmp_path, body: str, sid: str = "cdo"):
    write_in_document(content, chapter(ENTRY.format(sid=sid), body=body))
    out = tmp_path / "o"
    result = run("build", "--content", content, "--out", out, "--no-git-history")
    assert result.exit_code == 0, result.output
    statements = pq.read_table(out / "data" / "statements.parquet").to_pylist()
    return result, {s["id"]: s for s in statements}


@pytest.mark.parametrize("body, quote, line", [
    ("Wir stärken den [Chief Digital Officer [CDO] im Amt](#cdo).\n",
     "Chief Digital Officer [CDO] im Amt", 8),
    ("Text\n\nWir [nennen \\[1\\] Quellen](#cdo).\n", "nennen [1] Quellen", 10),
    ('Ein [Vorhaben](#cdo "mit Titel").\n', "Vorhaben", 8),
    ("Ein [Vorhaben](#cdo 'mit Titel').\n", "Vorhaben", 8),
    ("Ein [Vorhaben](<#cdo>).\n", "Vorhaben", 8),
    ("Ein [Vorhaben][ref].\n\n[ref]: #cdo\n", "Vorhaben", 8),
    ("Ein [Vorhaben][].\n\n[Vorhaben]: #cdo \"t\"\n", "Vorhaben", 8),
    ("Ein [Vorhaben].\n\n[vorhaben]: <#cdo>\n", "Vorhaben", 8),
    ("- Liste\n  - mit [*betontem* Vorhaben](#cdo)\n", "*betontem* Vorhaben", 9),
    ("Zeile eins\nund [ein Vorhaben über\nzwei Zeilen [x]](#cdo)\n",
     "ein Vorhaben über zwei Zeilen [x]", 9),
    ("> Zitat mit [`code` und Vorhaben](#cdo)\n", "`code` und Vorhaben", 8),
    ("Bund &amp; Länder: [Vorhaben & mehr](#cdo)\n", "Vorhaben & mehr", 8),
])
def test_commonmark_links_to_a_fragment_are_pledges(run, content, tmp_path, body, quote, line):
    result, statements = build(run, content, tmp_path, body)
    assert statements["cdo"]["anchored"] is True
    assert statements["cdo"]["quote"] == quote
    assert statements["cdo"]["line"] == line
    assert "is not anchored" not in result.output


@pytest.mark.parametrize("body", [
    "```\n[kein Link](#cdo)\n```\n", "`[kein Link](#cdo)`\n", "Text\n\n    [eingerückter Code](#cdo)\n",
    "\\[kein Link\\](#cdo)\n", "![Bild](#cdo)\n",
])
def test_what_commonmark_does_not_read_as_a_link_is_no_pledge(run, content, tmp_path, body):
    result, statements = build(run, content, tmp_path, body)
    assert statements["cdo"]["anchored"] is False
    assert "statement 'cdo' is not anchored in the text" in result.output


@pytest.mark.parametrize("body, message", [
    ('Ein <a href="#cdo">HTML-Link</a>.\n', "HTML link to #cdo is not read as a pledge"),
    ('<div>\n<a class="x" href=\'#cdo\'>Block</a>\n</div>\n',
     "HTML link to #cdo is not read as a pledge"),
    ("Ein [Vorhaben](<#mit leerzeichen>).\n", "link to '#mit leerzeichen' cannot mark a pledge"),
    ("Ein [Vorhaben](#a/b).\n", "link to '#a/b' cannot mark a pledge"),
    ("Ein [leeres Ziel](#).\n", "link to '#' cannot mark a pledge"),
])
def test_links_to_a_fragment_that_cannot_be_pledges_are_warnings(run, content, tmp_path, body,
                                                                 message):
    result, statements = build(run, content, tmp_path, "[Text](#cdo)\n\n" + body)
    assert statements["cdo"]["anchored"] is True
    assert f"{content / DOC / '1-1-verwaltung.md'}:" in result.output
    assert message in result.output


@pytest.mark.parametrize("sid", ["x#y", "'q'", 'a"b', "a b", "a<b>", "a/b", "a?b", "a(1)",
                                 "a\\\\b", "`x`"])
def test_front_matter_ids_that_cannot_be_anchors_are_errors(run, content, tmp_path, sid):
    quoted = "'" + sid.replace("'", "''") + "'"
    write_in_document(content, chapter(f"- id: {quoted}\n  summary: s\n  status: implemented\n",
                                       body="Text\n"))
    result = run("build", "--content", content, "--out", tmp_path / "o", "--no-git-history")
    assert result.exit_code == 1
    assert "cannot be used as an anchor" in result.output


def test_plain_and_commonmark_reading_agree_on_a_plain_body():
    from pledgepack.content.links import ANCHOR_RE, fragment_links, plain

    body = ("Wir bauen [ein Portal für alle\nLeistungen](#portal) und die [Akte](#akte).\n\n"
            "- Punkt mit [drittem](#drei)\n")
    assert plain(body)
    regex = [(m.group(2), " ".join(m.group(1).split())) for m in ANCHOR_RE.finditer(body)]
    parsed, problems = fragment_links(body, 1)
    assert [(sid, quote) for sid, quote, _, _ in parsed] == regex and problems == []
    assert [line for _, _, line, _ in parsed] == [1, 2, 4]


def test_substring_tests_say_what_the_unsure_pattern_says():
    import itertools

    from pledgepack.content.links import UNSURE_RE, unsure_body

    alphabet = list("\n \t\\<`~![]:(a") + ["    ", "~~~", "](#x)"]
    texts = ["".join(p) for n in (1, 2, 3, 4) for p in itertools.product(alphabet, repeat=n)]
    assert [unsure_body(t) for t in texts] == [bool(UNSURE_RE.search(t)) for t in texts]
    assert 0.2 < sum(map(unsure_body, texts)) / len(texts) < 0.95


def _reference_plain(body: str) -> bool:
    """plain() as one pattern says it: what plain_anchors tells from the matches."""
    from pledgepack.content.links import ANCHOR_RE, UNSURE_ANCHOR_RE, unsure_body

    if "](" not in body and "]:" not in body and "<" not in body:
        return True
    if unsure_body(body) or UNSURE_ANCHOR_RE.search(body):
        return False
    return body.count("](#") == len(ANCHOR_RE.findall(body)) and "](<" not in body


LINK_PIECES = ["[", "]", "(", ")", "#", "](#", "a", "*", "_", "&", "/", "?", "'", "<", " ",
               "\n", "[t](#x)", "(#", "ü", "`"]


def test_plain_anchors_says_what_the_unsure_anchor_pattern_says_on_every_short_body():
    import itertools

    from pledgepack.content.links import plain

    bodies = ["".join(p) for n in (1, 2, 3, 4) for p in itertools.product(LINK_PIECES, repeat=n)]
    differ = [b for b in bodies if plain(b) != _reference_plain(b)]
    assert not differ, differ[:20]
    assert 0.2 < sum(map(plain, bodies)) / len(bodies) < 0.95


@given(st.lists(st.sampled_from(LINK_PIECES + ["[Text *x*](#id)", "[a](#b_c)", "[x](#a&b)"]),
                max_size=30).map("".join))
def test_plain_anchors_agree_with_the_pattern_and_find_anchors_with_the_old_reading(body):
    from pledgepack.content.chapter import find_anchors
    from pledgepack.content.links import ANCHOR_RE, plain

    assert plain(body) == _reference_plain(body)
    text = "---\ntitle: t\n---\nEin " + body
    start = text.index("Ein ")
    if not plain(text[start:]):
        return
    expected = []
    for match in ANCHOR_RE.finditer(text, start):
        at = match.start()
        expected.append((match.group(2), " ".join(match.group(1).split()),
                         text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)))
    found = find_anchors(text, start, "x.md", [])
    assert [(unicodedata.normalize("NFC", s), q, li, c) for s, q, li, c in expected] == found
