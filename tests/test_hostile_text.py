"""Markup in every field of the content stays text in what a release writes: CHANGELOG.md and
README.md render without HTML or links of the content's making, the SVG chart is well-formed
XML without foreign elements."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from markdown_it import MarkdownIt

from conftest import make_document

EVIL = "<script>alert(1)</script> [klick](https://evil.example) `x` *b* | a | ![i](x.png) & <b>bold</b> _u_ ~~s~~ # h"
SAFE_ID = "a<b>"  # refused; a usable id with markup-ish characters follows
DOCUMENT = f"""\
title: 'Dokument {EVIL.replace("'", "''")}'
kind: coalition_agreement
jurisdiction: '{EVIL.replace("'", "''")}'
parties: ['Partei {EVIL.replace("'", "''")}']
date: 2024-01-15
license: CC-BY-2.0
"""


def chapter(status: str) -> str:
    q = EVIL.replace("'", "''")
    return f"""---
title: '1.1 {q}'
section: '{q}'
statements:
  - id: 'x*y_z:1|2&3'
    summary: '{q}'
    status: {status}
    last_update: 2024-02-01
    responsible: '{q}'
    categories: ['{q}']
    reports:
      - title: '{q}'
        url: https://example.org/r
---
Text [Vorhaben](#x*y_z:1|2&3).
"""


def _links_and_html(markdown: str) -> tuple[list[str], list[str]]:
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    links, html = [], []
    for token in tokens:
        if token.type.startswith("html"):
            html.append(token.content)
        for child in token.children or []:
            if child.type == "link_open":
                links.append(child.attrs["href"])
            if child.type.startswith("html"):
                html.append(child.content)
            if child.type == "image" and child.attrs.get("src") != "status-over-time.svg":
                html.append(child.content)  # only the release's own chart is an image
    return links, html


@pytest.fixture
def released(run, tmp_path, monkeypatch):
    from conftest import make_repo

    repo = make_repo(tmp_path)
    content = make_document(repo.path / "content", chapters={"1-1.md": chapter("not_implemented")},
                            document_yaml=DOCUMENT)
    repo.commit({}, when="2024-02-01T10:00:00+00:00")
    first = tmp_path / "v1"
    assert run("release", "--version", "1.0.0", "--content", content, "--out", first).exit_code == 0
    repo.git("tag", "v1.0.0")
    (content / "testland-2024" / "1-1.md").write_text(chapter("broken"), encoding="utf-8")
    repo.commit({}, when="2024-03-01T10:00:00+00:00")
    out = tmp_path / "v2"
    result = run("release", "--version", "1.1.0", "--content", content, "--out", out)
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("name", ["CHANGELOG.md", "README.md"])
def test_markdown_holds_the_markup_as_text(released, name):
    text = (released / name).read_text(encoding="utf-8")
    links, html = _links_and_html(text)
    assert not any("evil.example" in link for link in links), links
    assert html == [], html
    assert "<script>" not in text.replace("\\<script>", "")


def test_the_svg_is_well_formed_and_holds_no_foreign_elements(released):
    svg = (released / "status-over-time.svg").read_text(encoding="utf-8")
    root = ET.fromstring(svg)
    tags = {element.tag.split("}")[-1] for element in root.iter()}
    assert tags <= {"svg", "title", "desc", "text", "path", "rect", "g", "line", "tspan",
                    "style", "defs", "polyline", "circle"}, tags
    assert "script" not in tags


def test_an_id_with_markup_is_refused_at_build(run, tmp_path):
    bad = chapter("broken").replace("'x*y_z:1|2&3'", f"'{SAFE_ID}'").replace(
        "(#x*y_z:1|2&3)", f"(#{SAFE_ID})")
    content = make_document(tmp_path / "content", chapters={"1-1.md": bad},
                            document_yaml=DOCUMENT)
    result = run("build", "--content", content, "--out", tmp_path / "o", "--no-git-history")
    assert result.exit_code == 1
    assert f"id {SAFE_ID!r} cannot be used as an anchor" in result.output


def test_an_old_package_with_a_backtick_id_cannot_break_the_changelog(tmp_path):
    from pledgepack.release.changelog import _name

    line = _name("a`](https://evil.example)`", "s")
    links, html = _links_and_html(line)
    assert links == [] and html == []
    assert json.dumps(line)  # one line of text
