"""Statements of successive versions of chapter files, parsed piece by piece.

A commit changes a few statements of a chapter and leaves the rest of its text as it was, so
the history walk splits each version's front matter into its statement entries and parses
only the entries (and the rest of the front matter, and the body's anchors) it has not seen
before. The cost of a version then follows what changed in it, not the size of the chapter.
Anything the splitter does not recognise is parsed whole, by the build's own reader.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..content.chapter import find_anchors, parse_chapter, read_entry, section_row
from ..content.yamltext import (
    Lines,
    YamlProblem,
    conflict_line,
    load_front_matter,
    split_front_matter,
)
from ..errors import ERROR, Diagnostic

# 'statements:' alone on its line (a block list follows), at the top level. A '#' right after
# the colon is no comment: 'statements:#x' is a key of its own.
BLOCK_START_RE = re.compile(r"^statements:(?:[ \t]+(?:#[^\n]*)?)?\n", re.MULTILINE)
# How python-frontmatter recognises the line that closes the front matter.
CLOSING_RE = re.compile(r"-{3,}\s*")
# The line after the block that starts a new top-level key.
BLOCK_END_RE = re.compile(r"\n[^\s#-]")
NEW_STATUS = "not_implemented"
_UNSEEN = object()

Statements = dict[str, tuple[str, str | None]]


class VersionParser:
    """{id: (status, last_update)} of chapter versions, or the error that kept one from being
    read, exactly as the build would read them; remembers the pieces it parsed."""

    def __init__(self, statuses: frozenset, measures: frozenset):
        self.statuses, self.measures = statuses, measures
        self.entries: dict[str, object] = {}
        self.heads: dict[str, bool] = {}
        # Keyed by a digest: bodies are large, and many versions share one.
        self.anchors: dict[bytes, dict[str, str]] = {}

    def parse(self, raw: bytes, path: str) -> Statements | str:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return self.whole(raw, path)
        text = text.replace("\r\n", "\n") if "\r" in text else text
        if conflict_line(text) is not None:
            return self.whole(raw, path)
        parts = _front_matter(text)
        split = _split(parts[0]) if parts else None
        if split is None:
            return self.whole(raw, path)
        head, chunks = split
        cache = self.entries
        entries = [cache.get(chunk, _UNSEEN) for chunk in chunks]
        for n, entry in enumerate(entries):
            if entry is _UNSEEN:
                entries[n] = self.entry(chunks[n])
        if self.head_error(head) or None in entries:
            return self.whole(raw, path)
        return self.merge(entries, self.anchor_ids(parts[1]), raw, path)

    def whole(self, raw: bytes, path: str) -> Statements | str:
        """The build's reader on the whole version: for what the splitter does not know, and to
        word the error when a piece has one."""
        result = parse_chapter(raw, Path(path), path, path, "document", self.statuses,
                               self.measures)
        if result.ok:
            return {row[3]: (row[6], row[7]) for row in result.statements}
        error = next(d for d in result.diagnostics if d.severity == ERROR)
        chapter = ("the unpublished chapter (published: false)" if result.unpublished
                   else "the chapter")
        where = f" at line {error.line}" if error.line else ""
        return f"{chapter} {path} has an error{where}: {error.message}"

    def head_error(self, head: str) -> bool:
        """Whether the front matter outside the statements has an error for the build."""
        if head not in self.heads:
            try:
                meta = load_front_matter(head, 1)
            except YamlProblem:
                meta = None
            diagnostics: list[Diagnostic] = []
            if isinstance(meta, dict):
                section_row(meta, Lines(head, 1), "", "chapter.md", "document", "", diagnostics)
            self.heads[head] = not isinstance(meta, dict) or any(
                d.severity == ERROR for d in diagnostics)
        return self.heads[head]

    def entry(self, chunk: str):
        """The checked entry of one '- id: ...' item, or None if it has an error or is not one
        item."""
        if chunk not in self.entries:
            found = None
            try:
                items = load_front_matter(chunk, 1)
            except YamlProblem:
                items = None
            if isinstance(items, list) and len(items) == 1:
                diagnostics: list[Diagnostic] = []
                found = read_entry(0, items[0], Lines(chunk, 1), "", diagnostics,
                                    self.statuses, self.measures)
            self.entries[chunk] = found
        return self.entries[chunk]

    def anchor_ids(self, body: str) -> dict[str, str]:
        """{id: text of its first anchor} as the build's own anchor reader finds them."""
        key = hashlib.blake2b(body.encode("utf-8"), digest_size=20).digest()
        if key not in self.anchors:
            quotes: dict[str, str] = {}
            for sid, quote, _, _ in find_anchors(body, 0, "", []):
                quotes.setdefault(sid, quote)
            self.anchors[key] = quotes
        return self.anchors[key]

    def merge(self, entries: list, anchors: dict[str, str], raw: bytes,
              path: str) -> Statements | str:
        """As chapter._merge: entries by id, then anchors without an entry; the build's errors
        (a duplicate id, an entry with neither summary nor anchor) send the version to whole()."""
        statements: Statements = {}
        for entry in entries:
            # As the build: the summary is the entry's, else the first anchor's text.
            if entry.id in statements or (entry.summary is None and not anchors.get(entry.id)):
                return self.whole(raw, path)
            statements[entry.id] = (entry.status, entry.last_update)
        for sid in anchors:
            statements.setdefault(sid, (NEW_STATUS, None))
        return statements


def _front_matter(text: str) -> tuple[str, str] | None:
    """(front matter, body) split where python-frontmatter splits them (the first line of
    three or more dashes after the opening one), found with str.find because a regular
    expression over every line of a large chapter costs more than parsing what changed."""
    if not text.startswith("---\n"):
        parts = split_front_matter(text)
        return (parts[0], parts[2]) if parts else None
    at = 3
    while (at := text.find("\n---", at)) != -1:
        line_end = text.find("\n", at + 1)
        line = text[at + 1:line_end if line_end != -1 else len(text)]
        if CLOSING_RE.fullmatch(line):
            return text[4:at + 1], text[line_end + 1:] if line_end != -1 else ""
        at += 4
    return None


def _split(fm: str) -> tuple[str, list[str]] | None:
    """(the front matter without its statements block, the block's items as text), or None
    when the statements are not a plain block list."""
    match = BLOCK_START_RE.search(fm)
    if match is None:
        return (fm, []) if "statements" not in fm else None
    end_match = BLOCK_END_RE.search(fm, match.end() - 1)
    end = end_match.start() + 1 if end_match else len(fm)
    block = fm[match.end():end]
    if "statements" in fm[:match.start()] + fm[end:]:
        return None  # perhaps a second 'statements:' key, which the whole reader refuses
    first = re.search(r"^( *)-(?: |$)", block, re.MULTILINE)
    if first is None:
        return None if not _only_comments(block) else (fm[:match.start()] + fm[end:], [])
    dash = first.group(1) + "-"
    pieces = ("\n" + block).split("\n" + dash)
    if not _only_comments(pieces[0]) or any(p[:1] not in ("", " ", "\n") for p in pieces[1:]):
        return None
    # Each item as it stands in the file, its line break included (the split took it off all
    # but the last), so that it reads as it does in the whole front matter.
    items = [dash + piece + "\n" for piece in pieces[1:-1]] + [dash + pieces[-1]]
    return fm[:match.start()] + fm[end:], items


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.split("\n"))
