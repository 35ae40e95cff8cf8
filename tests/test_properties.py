"""Properties of the chapter reader, the history reader and sync, on random and mutated chapters:
they never crash, never lose a canonical anchor, and the history's piece-by-piece reading
agrees with the build's reader on every version.

`make test` runs a short pass (profile "ci"); `make fuzz` runs the long one (profile "fuzz",
PLEDGEPACK_FUZZ_EXAMPLES examples per property) and prints hypothesis' statistics.
"""
from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pledgepack.content.chapter import parse_chapter
from pledgepack.editors.sync import sync_chapter
from pledgepack.history.versions import VersionParser
from pledgepack.schema import PackageSchema

SCHEMA = PackageSchema.load()
STATUSES, MEASURES = frozenset(SCHEMA.statuses), frozenset(SCHEMA.measures)
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", deadline=None, suppress_health_check=list(HealthCheck),
                          max_examples=int(os.environ.get("PLEDGEPACK_FUZZ_EXAMPLES", "3000")))
settings.load_profile(os.environ.get("PLEDGEPACK_HYPOTHESIS_PROFILE", "ci"))

IDS = st.from_regex(r"[a-zA-Z0-9äöüß][a-zA-Z0-9äöüß_.:-]{0,15}", fullmatch=True)
# Text that may hold Markdown markup but nothing that swallows a later paragraph (code, HTML).
PROSE = st.text(st.sampled_from(list("abcxyzÄöß 0123456789.,;:!?*_-&()#+=%/|'\"")),
                max_size=40)
# YAML plain scalars of every kind YAML 1.1 would coerce, and some that break YAML.
SCALARS = st.one_of(PROSE, st.sampled_from([
    "2.10", "1:20", "1_000", "yes", "no", "on", "~", "null", "0x1F", "1e3", ".inf", "-.nan",
    "2021-11-30", "2021-13-45", "!!float abc", "!!set {a}", "[a, b]", "{a: b}", "&x a", "*x",
    "'quoted'", '"dq"', "| block", "> fold", "@at", "`tick`", "%pct", "- item", "? key"]))


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@st.composite
def chapters(draw) -> tuple[str, list[str]]:
    """A chapter in the tracker format, and the ids anchored in canonical form in its body."""
    ids = draw(st.lists(IDS, min_size=0, max_size=6, unique_by=lambda s: s.lower()))
    entries = []
    for sid in ids:
        fields = [f"  - id: {_quote(sid)}",
                  f"    status: {draw(st.sampled_from(sorted(STATUSES) + ['done', '[x]']))}"]
        if draw(st.booleans()):
            fields.append(f"    summary: {draw(SCALARS)}")
        if draw(st.booleans()):
            date = draw(st.sampled_from(["2021-11-30", "", "2021-02-30", "'2022-01-01'"]))
            fields.append(f"    last_update: {date}")
        if draw(st.booleans()):
            fields.append(f"    responsible: {draw(SCALARS)}")
        if draw(st.booleans()):
            fields.append(f"    measure: {draw(st.sampled_from(sorted(MEASURES) + ['x']))}")
        entries.append("\n".join(fields))
    head = [f"title: {_quote(draw(PROSE) or 'T')}"]
    if draw(st.booleans()):
        head.append(f"section: {draw(SCALARS)}")
    if draw(st.booleans()):
        head.append(f"order: {draw(st.sampled_from(['1', '12', '99999999999999999999', 'x']))}")
    statements = ("statements:\n" + "\n".join(entries)) if entries else "statements: []"
    head.insert(draw(st.integers(0, len(head))), statements)
    body = []
    for sid in ids:
        body.append(draw(PROSE).replace("\n", " "))
        body.append(f"[{draw(PROSE).replace('[', '').replace(']', '') or 'x'}](#{sid})")
    text = "---\n" + "\n".join(head) + "\n---\n" + "\n\n".join(p for p in body if p) + "\n"
    return text, ids


@st.composite
def mutated(draw) -> bytes:
    """A generated chapter with a few bytes inserted, deleted or replaced."""
    text, _ = draw(chapters())
    raw = bytearray(text.encode("utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        if not raw:
            break
        at = draw(st.integers(0, len(raw) - 1))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from([b"-", b":", b" ", b"\n", b"[", b"]", b"#", b"'", b"\"",
                                      b"---\n", b"  ", b"- ", b"\t", b"\xff", b"!!", b"*",
                                      b"<<<<<<< x\n", b"statements:", b"{", b"}"]))
        if kind == "insert":
            raw[at:at] = piece
        elif kind == "delete":
            del raw[at:at + draw(st.integers(1, 8))]
        else:
            raw[at:at + len(piece)] = piece
    return bytes(raw)


def read(raw: bytes):
    return parse_chapter(raw, Path("land/1.md"), "land/1.md", "land/1.md", "land", STATUSES,
                         MEASURES)


@given(chapters())
def test_canonical_anchors_are_never_lost(chapter):
    text, ids = chapter
    result = read(text.encode("utf-8"))
    if result.ok:
        anchored = {row[3] for row in result.statements if row[14]}
        import unicodedata

        assert {unicodedata.normalize("NFC", sid) for sid in ids} <= anchored
    else:
        assert any(d.severity == "error" for d in result.diagnostics)


@given(st.one_of(mutated(), st.binary(max_size=300),
                 st.text(max_size=300).map(lambda t: ("---\n" + t).encode("utf-8"))))
def test_the_reader_never_crashes_and_history_agrees_with_the_build(raw):
    result = read(raw)  # must not raise
    assert result.ok or any(d.severity == "error" for d in result.diagnostics)
    for d in result.diagnostics:
        assert d.line is None or d.line >= 1
    parser = VersionParser(STATUSES, MEASURES)
    assert parser.parse(raw, "land/1.md") == parser.whole(raw, "land/1.md")
    if result.ok:
        assert parser.parse(raw, "land/1.md") == {row[3]: (row[6], row[7])
                                                  for row in result.statements}


@given(chapters(), chapters())
def test_history_agrees_across_versions_sharing_pieces(first, second):
    parser = VersionParser(STATUSES, MEASURES)
    for text in (first[0], second[0], first[0]):
        raw = text.encode("utf-8")
        assert parser.parse(raw, "land/1.md") == parser.whole(raw, "land/1.md")


@given(st.one_of(chapters().map(lambda c: c[0].encode("utf-8")), mutated()))
def test_sync_never_crashes_and_its_output_reads(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("sync") / "1.md"
    path.write_bytes(raw)
    result = sync_chapter(path, "2024-05-01")
    if result.changed:
        before = read(raw)
        path.write_text(result.text, encoding="utf-8")
        after = read(result.text.encode("utf-8"))
        if before.ok:
            assert after.ok, after.diagnostics
            ids = {row[3] for row in before.statements}
            assert ids <= {row[3] for row in after.statements}
        again = sync_chapter(path, "2024-05-01")
        assert not again.changed
