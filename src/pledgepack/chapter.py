"""Read one chapter file: YAML front matter (python-frontmatter, libyaml) and the body's anchors.

A chapter is parsed on its own, in a worker process when there are many, so
everything here is a pure function of the file's bytes and the allowed codes.
"""
from __future__ import annotations

import bisect
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import frontmatter
import yaml

from .errors import ERROR, WARNING, Diagnostic

# [text](#id): the text may span lines but holds no brackets; the id holds no
# whitespace or parentheses.
ANCHOR_RE = re.compile(r"\[([^\[\]]*)\]\(#([^()\s]+)\)")
# ](word): a link whose target is a bare word, most likely an anchor without "#".
BROKEN_ANCHOR_RE = re.compile(r"\]\(([^\s()#/:.?=&]+)\)")
NUMBER_RE = re.compile(r"^\s*(\d+(?:\.\d+)*)\.?\s")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SPACE_RE = re.compile(r"\s+")
LIST_DELIMITER = ";"

STATEMENT_KEYS = {"id", "summary", "status", "last_update", "deadline", "categories", "reports",
                  "responsible", "measure"}

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    """Safe libyaml loader that leaves dates as text, so that we parse and report them."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


class _Handler(frontmatter.YAMLHandler):
    def load(self, fm, **kwargs):
        kwargs["Loader"] = _Loader
        return super().load(fm, **kwargs)


HANDLER = _Handler()


class YamlProblem(Exception):
    def __init__(self, line: int | None, message: str, hint: str):
        super().__init__(message)
        self.line, self.message, self.hint = line, message, hint


def load_yaml(text: str, first_line: int):
    """Parse YAML text that starts at `first_line` of its file; raise YamlProblem on bad input."""
    try:
        data = HANDLER.load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + mark.line if mark else None
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise YamlProblem(line, f"invalid YAML: {message}",
                          "check indentation, the colon after each key, and quote text that "
                          "contains ': ' or starts with a special character") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(first_line, f"invalid YAML: {exc}", "fix the YAML syntax") from None
    except RecursionError:
        raise YamlProblem(first_line, "YAML nested too deeply", "flatten the structure") from None
    _refuse_aliases(data, first_line)
    return data


def _refuse_aliases(data, first_line: int) -> None:
    """Reject YAML anchors and aliases: a shared node is how an alias bomb explodes."""
    seen: set[int] = set()
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, (dict, list)):
            if id(node) in seen:
                raise YamlProblem(first_line, "YAML aliases (*name) are not allowed",
                                  "write the value out instead of referring to an &anchor")
            seen.add(id(node))
            stack.extend(node.values() if isinstance(node, dict) else node)


def nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def parse_date(value) -> dt.date | None:
    """A date written as YYYY-MM-DD, quoted or not; None or '' is no date. Raises ValueError."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and DATE_RE.match(value.strip()):
        return dt.date.fromisoformat(value.strip())
    raise ValueError(f"{value!r} is not a date")


def text_value(value) -> str | None:
    """Scalars as text; '' and None as None. Raises TypeError for lists and mappings."""
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, (list, dict)):
        raise TypeError(f"{value!r} is not text")
    text = str(value).strip()
    return text or None


@dataclass(slots=True)
class Entry:
    """A statement as written in the front matter, checked and typed."""

    index: int
    id: str | None
    summary: str | None = None
    status: str | None = None
    last_update: dt.date | None = None
    deadline: dt.date | None = None
    categories: tuple[str, ...] | None = None
    responsible: str | None = None
    measure: str | None = None
    reports: tuple[tuple[str | None, str], ...] = ()


@dataclass(slots=True)
class Anchor:
    id: str
    quote: str
    line: int
    col: int


@dataclass(slots=True)
class ParsedChapter:
    path: Path
    display: str
    relpath: str
    title: str | None = None
    numeral: str | None = None
    order: int | None = None
    published: bool = True
    redirect_url: str | None = None
    body: str = ""
    entries: list[Entry] = field(default_factory=list)
    anchors: list[Anchor] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def number(self) -> str | None:
        match = NUMBER_RE.match(self.title or "")
        return match.group(1) if match else None


def decode(raw: bytes, display: str, diagnostics: list[Diagnostic]) -> str | None:
    """UTF-8 text of a file, or None with an error naming the line of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        diagnostics.append(Diagnostic(
            display, line, ERROR, f"not UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded",
            "save the file as UTF-8 (in most editors: 'Save with encoding')"))
        return None


def parse_chapter(path: Path, display: str, relpath: str, statuses: list[str],
                  measures: list[str]) -> ParsedChapter:
    chapter = ParsedChapter(path=path, display=display, relpath=relpath)
    diags = chapter.diagnostics
    text = decode(path.read_bytes(), display, diags)
    if text is None:
        return chapter
    text = text.replace("\r\n", "\n")
    try:
        if not HANDLER.detect(text):
            raise ValueError
        fm, body = HANDLER.split(text)
    except ValueError:
        diags.append(Diagnostic(display, 1, ERROR, "no YAML front matter",
                                "start the file with a '---' line, the front matter "
                                "(title, statements), and a closing '---' line"))
        return chapter
    fm_line = text.count("\n", 0, text.index(fm)) + 1 if fm else 2
    body_start = len(text) - len(body)
    chapter.body = body
    try:
        meta = load_yaml(fm, fm_line)
    except YamlProblem as exc:
        diags.append(Diagnostic(display, exc.line, ERROR, exc.message, exc.hint))
        return chapter
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        diags.append(Diagnostic(display, fm_line, ERROR, "front matter is not a mapping of keys",
                                "write the front matter as 'key: value' lines"))
        return chapter
    lines = _Lines(fm, fm_line, display)
    _read_meta(chapter, meta, lines)
    raw_entries = meta.get("statements")
    if raw_entries is None:
        raw_entries = []
    if not isinstance(raw_entries, list):
        diags.append(Diagnostic(display, lines.key("statements"), ERROR,
                                "'statements' must be a list",
                                "write 'statements:' followed by '  - id: ...' items, or 'statements: []'"))
        raw_entries = []
    for index, raw in enumerate(raw_entries):
        entry = _read_entry(index, raw, lines, diags, statuses, measures)
        if entry is not None:
            chapter.entries.append(entry)
    chapter.anchors = _find_anchors(text, body_start, display, diags)
    return chapter


def entry_line(chapter: ParsedChapter, index: int) -> int | None:
    """Line of the index-th front-matter statement, read again from the file (for messages)."""
    text = chapter.path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    fm, _ = HANDLER.split(text)
    return _Lines(fm, text.count("\n", 0, text.index(fm)) + 1, chapter.display).entry(index)


class _Lines:
    """Line numbers inside the front matter, worked out only when a message needs one."""

    def __init__(self, fm: str, first_line: int, display: str):
        self.fm, self.first_line, self.display = fm, first_line, display
        self._entries: list[int] | None = None

    def key(self, key: str) -> int:
        match = re.search(rf"^{re.escape(key)}\s*:", self.fm, re.MULTILINE)
        return self.first_line + (self.fm.count("\n", 0, match.start()) if match else 0)

    def entry(self, index: int, key: str | None = None) -> int:
        if self._entries is None:
            self._entries = self._entry_lines()
        if index >= len(self._entries):
            return self.key("statements")
        start = self._entries[index]
        if key is None:
            return start
        end = self._entries[index + 1] if index + 1 < len(self._entries) else None
        rows = self.fm.split("\n")[start - self.first_line:None if end is None else end - self.first_line]
        for offset, row in enumerate(rows):
            if re.match(rf"^\s*(-\s+)?{re.escape(key)}\s*:", row):
                return start + offset
        return start

    def _entry_lines(self) -> list[int]:
        out, inside, indent = [], False, None
        for i, row in enumerate(self.fm.split("\n")):
            if not inside:
                inside = row.startswith("statements:")
                continue
            stripped = row.lstrip(" ")
            if not stripped or stripped.startswith("#"):
                continue
            depth = len(row) - len(stripped)
            if depth == 0 and not stripped.startswith("-"):
                break
            if stripped.startswith("-") and stripped[1:2] in ("", " ") and indent in (None, depth):
                indent = depth
                out.append(self.first_line + i)
        return out


def _read_meta(chapter: ParsedChapter, meta: dict, lines: _Lines) -> None:
    diags, display = chapter.diagnostics, chapter.display

    def bad(key: str, message: str, hint: str) -> None:
        diags.append(Diagnostic(display, lines.key(key), ERROR, message, hint))

    try:
        chapter.title = text_value(meta.get("title"))
        chapter.numeral = text_value(meta.get("section"))
        chapter.redirect_url = text_value(meta.get("redirect_url"))
    except TypeError as exc:
        bad("title", f"front matter: {exc}", "title, section and redirect_url are single lines of text")
    if chapter.title is None:
        diags.append(Diagnostic(display, lines.first_line, ERROR, "the chapter has no title",
                                "add 'title: \"2.2 Digitales\"' to the front matter"))
    order = meta.get("order")
    if order is not None and (isinstance(order, bool) or not isinstance(order, int)):
        bad("order", f"'order' must be a whole number, not {order!r}", "write for example 'order: 3'")
    else:
        chapter.order = order
    published = meta.get("published", True)
    if not isinstance(published, bool):
        bad("published", f"'published' must be true or false, not {published!r}",
            "write 'published: true' or 'published: false'")
    else:
        chapter.published = published


def _read_entry(index: int, raw, lines: _Lines, diags: list[Diagnostic],
                statuses: list[str], measures: list[str]) -> Entry | None:
    display = lines.display
    if not isinstance(raw, dict):
        diags.append(Diagnostic(display, lines.entry(index), ERROR,
                                f"statement {index + 1} is not a mapping",
                                "write each statement as '- id: ...' followed by its fields"))
        return None

    def error(key: str | None, message: str, hint: str) -> None:
        diags.append(Diagnostic(display, lines.entry(index, key), ERROR, message, hint))

    try:
        sid = text_value(raw.get("id"))
    except TypeError:
        sid = None
    if sid is None:
        error(None, f"statement {index + 1} has no id",
              "give it an 'id:' that is also used as the anchor [text](#id) in the text")
        return None
    sid = nfc(sid)
    entry = Entry(index=index, id=sid)
    ok = True
    try:
        entry.summary = text_value(raw.get("summary"))
        entry.responsible = text_value(raw.get("responsible"))
    except TypeError as exc:
        error("summary", f"statement {sid!r}: {exc}", "summary and responsible are text")
        ok = False
    status = raw.get("status")
    if status not in statuses:
        error("status", f"statement {sid!r}: unknown status {status!r}",
              "use one of: " + ", ".join(statuses))
        ok = False
    entry.status = status
    for key in ("last_update", "deadline"):
        try:
            setattr(entry, key, parse_date(raw.get(key)))
        except ValueError:
            error(key, f"statement {sid!r}: {key} {raw.get(key)!r} is not a valid date",
                  "write the date as YYYY-MM-DD, for example '2021-11-30'")
            ok = False
    measure = raw.get("measure")
    if measure is not None and measure not in measures:
        error("measure", f"statement {sid!r}: unknown measure {measure!r}",
              "use one of: " + ", ".join(measures))
        ok = False
    entry.measure = measure
    ok &= _read_categories(entry, raw.get("categories"), error)
    ok &= _read_reports(entry, raw.get("reports"), error)
    for key in sorted(set(raw) - STATEMENT_KEYS, key=str):
        diags.append(Diagnostic(display, lines.entry(index, str(key)), WARNING,
                                f"statement {sid!r}: unknown field {key!r} is ignored",
                                "known fields: " + ", ".join(sorted(STATEMENT_KEYS))))
    return entry if ok else None


def _read_categories(entry: Entry, raw, error) -> bool:
    if raw is None or raw == []:
        return True
    items = raw if isinstance(raw, list) else [raw]
    cats = []
    for item in items:
        try:
            value = text_value(item)
        except TypeError:
            value = None
        if value is None or LIST_DELIMITER in value:
            error("categories", f"statement {entry.id!r}: category {item!r} is not usable",
                  f"categories are non-empty text without '{LIST_DELIMITER}'")
            return False
        cats.append(value)
    entry.categories = tuple(cats)
    return True


def _read_reports(entry: Entry, raw, error) -> bool:
    if raw is None:
        return True
    if not isinstance(raw, list):
        error("reports", f"statement {entry.id!r}: 'reports' must be a list",
              "write '- title: ...' and 'url: ...' items under 'reports:'")
        return False
    reports = []
    for n, item in enumerate(raw, 1):
        try:
            url = text_value(item.get("url")) if isinstance(item, dict) else None
            title = text_value(item.get("title")) if isinstance(item, dict) else None
        except TypeError:
            url = None
        if url is None:
            error("reports", f"statement {entry.id!r}: report {n} has no url",
                  "every report needs 'url:' (and should have 'title:')")
            return False
        reports.append((title, url))
    entry.reports = tuple(reports)
    return True


def _find_anchors(text: str, body_start: int, display: str,
                  diags: list[Diagnostic]) -> list[Anchor]:
    newlines = [m.start() for m in re.finditer("\n", text)]

    def place(offset: int) -> tuple[int, int]:
        line = bisect.bisect_left(newlines, offset)
        col = offset - (newlines[line - 1] + 1 if line else 0) + 1
        return line + 1, col

    anchors: list[Anchor] = []
    for match in ANCHOR_RE.finditer(text, body_start):
        line, col = place(match.start())
        anchors.append(Anchor(nfc(match.group(2)), SPACE_RE.sub(" ", match.group(1)).strip(),
                              line, col))
    for match in BROKEN_ANCHOR_RE.finditer(text, body_start):
        line, col = place(match.start())
        target = match.group(1)
        diags.append(Diagnostic(
            display, line, WARNING, f'anchor "({target})" lacks "#"',
            f"write [text](#{target}) to mark the pledge, or give the link a full URL",
            col=col))
    return anchors
