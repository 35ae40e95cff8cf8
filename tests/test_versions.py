"""Chapter versions parsed piece by piece give what the build's reader gives, piece by piece."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import CHAPTER
from pledgepack.history.versions import VersionParser
from pledgepack.schema import PackageSchema

SCHEMA = PackageSchema.load()
SEED = (Path(__file__).parent / "fixtures" / "seed-003-19-4-digitalisierung.md").read_text()


def parser() -> VersionParser:
    return VersionParser(frozenset(SCHEMA.statuses), frozenset(SCHEMA.measures))


VERSIONS = {
    "tracker chapter": CHAPTER,
    "status changed": CHAPTER.replace("status: partially_implemented", "status: implemented"),
    "entries swapped": CHAPTER.replace("  - id: portal", "  - id: tmp").replace(
        "  - id: akte", "  - id: portal").replace("  - id: tmp", "  - id: akte"),
    "comment between entries": CHAPTER.replace("  - id: akte", "  # zweites Vorhaben\n  - id: akte"),
    "unindented list": CHAPTER.replace("\n  - id:", "\n- id:").replace("\n    ", "\n  "),
    "crlf": CHAPTER.replace("\n", "\r\n"),
    "statements at the end": CHAPTER.replace("published: true\n", "").replace(
        "title:", "published: true\ntitle:"),
    "anchors only": SEED,
    "no statements key": "---\ntitle: Leer\n---\n[Ein Vorhaben](#eins)\n",
    "flow statements": '---\ntitle: T\nstatements: [{id: a, status: broken, summary: A}]\n---\n',
    "unknown status": CHAPTER.replace("status: implemented", "status: erledigt"),
    "bad date": CHAPTER.replace("last_update: 2024-03-01", "last_update: 2024-13-01"),
    "duplicate id": CHAPTER.replace("id: akte", "id: portal"),
    "no summary, no anchor": CHAPTER.replace("    summary: Elektronische Akte\n", "").replace(
        "[elektronische Akte](#akte)", "elektronische Akte"),
    "bad published": CHAPTER.replace("published: true", "published: vielleicht"),
    "broken yaml in an entry": CHAPTER.replace("summary: Elektronische Akte",
                                               "summary: [Elektronische Akte"),
    "broken yaml outside": CHAPTER.replace('title: "1.1 Digitale Verwaltung"', "title: [kaputt"),
    "no front matter": "Nur Text.\n",
    "not utf-8": CHAPTER.replace("für", "f\udce4r"),
}


@pytest.mark.parametrize("name", VERSIONS)
def test_pieces_give_what_the_whole_gives(name):
    raw = VERSIONS[name].encode("utf-8", "surrogateescape")
    parsed = parser()
    assert parsed.parse(raw, "land/1.md") == parsed.whole(raw, "land/1.md")


def test_a_new_version_parses_only_its_new_pieces():
    parsed = parser()
    first = parsed.parse(CHAPTER.encode(), "land/1.md")
    pieces = len(parsed.entries)
    second = parsed.parse(VERSIONS["status changed"].encode(), "land/1.md")
    assert len(parsed.entries) == pieces + 1 and len(parsed.anchors) == 1
    assert first["portal"] == ("partially_implemented", "2024-02-01")
    assert second["portal"] == ("implemented", "2024-02-01")
    assert first["akte"] == second["akte"] == ("implemented", "2024-03-01")
