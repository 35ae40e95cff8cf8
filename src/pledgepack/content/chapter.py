"""Read one chapter file: YAML front matter (python-frontmatter on libyaml) and the body's anchors,
merged by id into the chapter's statements.

A chapter is read on its own, in a worker process when there are many, so
everything here is a pure function of the file and the allowed codes, and the
result is made of plain tuples that are cheap to send between processes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ERROR, WARNING, Diagnostic
from ..schema import LIST_DELIMITER
from .links import ANCHOR_ID_RE, fragment_links, plain_anchors
from .yamltext import (
    URI_RE,
    Lines,
    YamlProblem,
    bool_value,
    conflict_line,
    decode,
    int_value,
    load_front_matter,
    nfc,
    parse_date,
    split_front_matter,
    text_value,
)

# ](word): a link whose target is a bare word, most likely an anchor without "#".
BROKEN_ANCHOR_RE = re.compile(r"\]\(([^\s()#/:.?=&]+)\)")
NUMBER_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)*)\.?\s")
# A title numbered in other digits (Arabic-Indic, full-width): \d matches those too.
OTHER_DIGITS_RE = re.compile(r"\s*(?![0-9])\d")

STATEMENT_KEYS = frozenset({"id", "summary", "status", "last_update", "deadline", "categories",
                            "reports", "responsible", "measure", "history", "govplan_status",
                            "rating"})
HISTORY_KEYS = frozenset({"date", "status", "note", "url", "source", "govplan_status", "rating"})
# Kept from froide-govplan (pledgepack import govplan writes them): its statuses, as in the
# enum of statements.govplan_status, and its ratings 1-5.
GOVPLAN_STATUSES = frozenset({"not_started", "started", "partially_implemented", "implemented",
                              "deferred"})
HISTORY_SOURCES = frozenset({"front_matter", "govplan"})


@dataclass(slots=True)
class Entry:
    """A statement as written in the front matter, checked and typed."""

    index: int
    id: str
    summary: str | None = None
    status: str | None = None
    last_update: str | None = None
    deadline: str | None = None
    categories: tuple[str, ...] | None = None
    responsible: str | None = None
    measure: str | None = None
    reports: tuple[tuple[str | None, str], ...] = ()
    history: tuple[tuple, ...] = ()
    govplan_status: str | None = None
    rating: int | None = None


@dataclass(slots=True)
class ChapterResult:
    """What a chapter contributes: its section row, statement and report rows (plain tuples in
    column order), and its diagnostics. `section` is None when the chapter has errors."""

    path: Path
    display: str
    section: tuple | None = None
    statements: list[tuple] = field(default_factory=list)
    reports: list[tuple] = field(default_factory=list)
    recorded: list[tuple] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # 'published: false' in the front matter: known even when the chapter has errors.
    unpublished: bool = False

    @property
    def ok(self) -> bool:
        return self.section is not None


def parse_chapter(raw: bytes, path: Path, display: str, relpath: str, document_id: str,
                  statuses: frozenset, measures: frozenset) -> ChapterResult:
    """A chapter from its bytes (a file, or a blob of the git history); `path` is where
    messages send the reader, `relpath` its path inside the content folder."""
    result = ChapterResult(path=path, display=display)
    diags = result.diagnostics
    text = decode(raw, display, diags)
    if text is None:
        return result
    conflict = conflict_line(text)
    if conflict is not None:
        diags.append(Diagnostic(display, conflict, ERROR, "unresolved merge conflict",
                                "keep one side between the <<<<<<< and >>>>>>> lines and "
                                "delete the marker lines"))
        return result
    parts = split_front_matter(text)
    if parts is None:
        diags.append(Diagnostic(display, 1, ERROR, "no YAML front matter",
                                "start the file with a '---' line, the front matter "
                                "(title, statements), and a closing '---' line"))
        return result
    fm, fm_line, body, body_start = parts
    try:
        meta = load_front_matter(fm, fm_line)
    except YamlProblem as exc:
        diags.append(Diagnostic(display, exc.line, ERROR, exc.message, exc.hint))
        return result
    if meta is None:
        meta = {}
    lines = Lines(fm, fm_line)
    if not isinstance(meta, dict):
        diags.append(Diagnostic(display, fm_line, ERROR, "front matter is not a mapping of keys",
                                "write the front matter as 'key: value' lines"))
        return result
    try:
        result.unpublished = not bool_value(meta.get("published"), True)
    except ValueError:
        result.unpublished = False  # section_row reports the value
    section = section_row(meta, lines, display, relpath, document_id, body, diags)
    entries = _entries(meta, lines, display, diags, statuses, measures)
    anchors = find_anchors(text, body_start, display, diags)
    if any(d.severity == ERROR for d in diags):
        return result
    result.section = section
    _merge(result, section[0], document_id, entries, anchors, lines)
    return result


def section_row(meta: dict, lines: Lines, display: str, relpath: str, document_id: str, body: str,
             diags: list[Diagnostic]) -> tuple:
    def bad(key: str, message: str, hint: str) -> None:
        diags.append(Diagnostic(display, lines.key(key), ERROR, message, hint))

    values = {}
    for key in ("title", "section", "redirect_url"):
        try:
            values[key] = text_value(meta.get(key))
        except TypeError:
            bad(key, f"'{key}' must be a single line of text", f"write '{key}: \"...\"'")
    title = values.get("title")
    if title is None and "title" in values:
        diags.append(Diagnostic(display, lines.first_line, ERROR, "the chapter has no title",
                                "add 'title: \"2.2 Digitales\"' to the front matter"))
    order = meta.get("order")
    try:
        order = int_value(order)
    except ValueError:
        bad("order", f"'order' must be a whole number, not {order!r}",
            "write for example 'order: 3'")
    published = meta.get("published")
    try:
        published = bool_value(published, True)
    except ValueError:
        bad("published", f"'published' must be true or false, not {published!r}",
            "write 'published: true' or 'published: false'")
    redirect = values.get("redirect_url")
    if redirect and not URI_RE.match(redirect):
        bad("redirect_url", f"redirect_url {redirect!r} is not a full URL",
            "write the full address, starting with https://")
    match = NUMBER_RE.match(title or "")
    if match is None and OTHER_DIGITS_RE.match(title or ""):
        diags.append(Diagnostic(display, lines.key("title"), WARNING,
                                f"title {title!r} is numbered in digits other than 0-9, so the "
                                "section has no number", "write the number with the digits 0-9"))
    stem = nfc(Path(relpath).stem)
    return (f"{document_id}/{stem}", document_id, title, match.group(1) if match else None,
            values.get("section"), order, published, values.get("redirect_url"), relpath,
            body if body.strip() else None)


def _entries(meta: dict, lines: Lines, display: str, diags: list[Diagnostic], statuses: frozenset,
             measures: frozenset) -> list[Entry]:
    raw_entries = meta.get("statements")
    if raw_entries is None:
        return []
    if not isinstance(raw_entries, list):
        diags.append(Diagnostic(display, lines.key("statements"), ERROR,
                                "'statements' must be a list",
                                "write 'statements:' followed by '  - id: ...' items, or "
                                "'statements: []'"))
        return []
    entries = []
    for index, raw in enumerate(raw_entries):
        entry = read_entry(index, raw, lines, display, diags, statuses, measures)
        if entry is not None:
            entries.append(entry)
    return entries


def read_entry(index: int, raw, lines: Lines, display: str, diags: list[Diagnostic],
                statuses: frozenset, measures: frozenset) -> Entry | None:
    """The statement `raw` (item `index` of 'statements:') as an Entry, or None with what is
    wrong with it in `diags`."""
    if type(raw) is dict and _QUICK_KEYS.issuperset(raw):
        entry = _quick_entry(index, raw, statuses, measures)
        if entry is not None:
            return entry
    return checked_entry(index, raw, lines, display, diags, statuses, measures)


def checked_entry(index: int, raw, lines: Lines, display: str, diags: list[Diagnostic],
                  statuses: frozenset, measures: frozenset) -> Entry | None:
    """read_entry's every check, in turn, for any entry: what words its problems."""
    if not isinstance(raw, dict):
        diags.append(Diagnostic(display, lines.entry(index), ERROR,
                                f"statement {index + 1} is not a mapping",
                                "write each statement as '- id: ...' followed by its fields"))
        return None

    def error(key: str | None, message: str, hint: str) -> None:
        diags.append(Diagnostic(display, lines.entry(index, key), ERROR, message, hint))

    sid = raw.get("id")
    if not isinstance(sid, str):
        try:
            sid = text_value(sid)
        except TypeError:
            sid = None
    if not sid or not sid.strip():
        error(None, f"statement {index + 1} has no id",
              "give it an 'id:' that is also used as the anchor [text](#id) in the text")
        return None
    entry = Entry(index=index, id=nfc(sid.strip()))
    sid = entry.id
    if not ANCHOR_ID_RE.fullmatch(sid):
        # Ids go into page addresses, code spans and file names downstream: only what can be
        # an anchor is safe there.
        error("id", f"id {sid!r} cannot be used as an anchor",
              "use letters, digits, '-', '_', '.' or ':'; no white space or ()[]#/?\"'<>\\`")
        return None
    errors = len(diags)
    for key in ("summary", "responsible"):
        try:
            setattr(entry, key, text_value(raw.get(key)))
        except TypeError:
            error(key, f"statement {sid!r}: '{key}' must be text, not {raw.get(key)!r}",
                  f"write '{key}: ...' on one line, quoted if it holds ': ' or starts with "
                  "a bracket")
    entry.status = status = raw.get("status")
    if not isinstance(status, str) or status not in statuses:
        error("status", f"statement {sid!r}: unknown status {status!r}",
              "use one of: " + ", ".join(sorted(statuses)))
    for key in ("last_update", "deadline"):
        value = raw.get(key)
        try:
            setattr(entry, key, parse_date(value))
        except ValueError:
            error(key, f"statement {sid!r}: {key} {value!r} is not a valid date",
                  "write the date as YYYY-MM-DD, for example '2021-11-30'")
    entry.measure = measure = raw.get("measure")
    if measure is not None and (not isinstance(measure, str) or measure not in measures):
        error("measure", f"statement {sid!r}: unknown measure {measure!r}",
              "use one of: " + ", ".join(sorted(measures)))
    entry.govplan_status, entry.rating = raw.get("govplan_status"), _rating(raw.get("rating"))
    if not _govplan_ok(entry.govplan_status, entry.rating):
        error("govplan_status" if "govplan_status" in raw else "rating",
              f"statement {sid!r}: govplan_status {entry.govplan_status!r} or rating "
              f"{entry.rating!r} is not usable", _GOVPLAN_HINT)
    if "categories" in raw:
        _read_categories(entry, raw["categories"], error)
    if "reports" in raw:
        _read_reports(entry, raw["reports"], error)
    if "history" in raw:
        _read_history(entry, raw["history"], error, statuses)
    if not STATEMENT_KEYS.issuperset(raw):
        for key in sorted(set(raw) - STATEMENT_KEYS, key=str):
            diags.append(Diagnostic(display, lines.entry(index, str(key)), WARNING,
                                    f"statement {sid!r}: unknown field {key!r} is ignored",
                                    "known fields: " + ", ".join(sorted(STATEMENT_KEYS))))
    return None if any(d.severity == ERROR for d in diags[errors:]) else entry


# The fields of the common entry, which _quick_entry reads without the checks' machinery.
_QUICK_KEYS = frozenset({"id", "summary", "status", "last_update", "deadline", "categories",
                         "responsible", "measure", "reports"})
# Dates as parse_date gives them, by the text they were read from: a corpus repeats a few.
_DATES: dict[str, str] = {}


class _Unplain(Exception):
    """The entry has something read_entry would report on: it, not _quick_entry, reads it."""


def _unplain(*_args) -> None:
    raise _Unplain


def _quick_entry(index: int, raw: dict, statuses: frozenset, measures: frozenset) -> Entry | None:
    """The Entry read_entry gives for an entry of text values among _QUICK_KEYS, where it would
    report nothing; None for any other entry (read_entry then reads it and words what is
    wrong). The same checks as read_entry's, in the order of the common case."""
    sid, status = raw.get("id"), raw.get("status")
    if type(sid) is not str or type(status) is not str or status not in statuses:
        return None
    sid = nfc(sid.strip())
    if not sid or ANCHOR_ID_RE.fullmatch(sid) is None:
        return None
    texts = [raw.get("summary"), raw.get("responsible")]
    for n, value in enumerate(texts):
        if value is not None:
            if type(value) is not str:
                return None
            texts[n] = value.strip() or None
    dates = [None, None]
    for n, value in enumerate((raw.get("last_update"), raw.get("deadline"))):
        if value is not None and value != "":
            date = _DATES.get(value) if type(value) is str else None
            if date is None:
                try:
                    date = parse_date(value)
                except ValueError:
                    return None
                if len(_DATES) < 4096:
                    _DATES[value] = date
            dates[n] = date
    entry = Entry(index, sid, texts[0], status, dates[0], dates[1], None, texts[1])
    measure = raw.get("measure")
    if measure is not None:
        if type(measure) is not str or measure not in measures:
            return None
        entry.measure = measure
    try:
        if "categories" in raw:
            _read_categories(entry, raw["categories"], _unplain)
        if "reports" in raw:
            _read_reports(entry, raw["reports"], _unplain)
    except _Unplain:
        return None
    return entry


_GOVPLAN_HINT = ("govplan_status is one of " + ", ".join(sorted(GOVPLAN_STATUSES))
                 + "; rating a whole number from 1 to 5")


def _rating(value):
    """A rating as a number: plain YAML values stay text, so `rating: 3` reads as "3"."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value


def _govplan_ok(status, rating) -> bool:
    return (status is None or status in GOVPLAN_STATUSES) and (
        rating is None or (type(rating) is int and 1 <= rating <= 5))


def _read_categories(entry: Entry, raw, error) -> None:
    if raw is None or raw == []:
        return
    cats = []
    for item in raw if isinstance(raw, list) else [raw]:
        try:
            value = text_value(item)
        except TypeError:
            value = None
        if value is None or LIST_DELIMITER in value:
            error("categories", f"statement {entry.id!r}: category {item!r} is not usable",
                  f"categories are non-empty text without '{LIST_DELIMITER}'")
            return
        cats.append(value)
    entry.categories = tuple(cats)


def _read_reports(entry: Entry, raw, error) -> None:
    if raw is None:
        return
    if not isinstance(raw, list):
        error("reports", f"statement {entry.id!r}: 'reports' must be a list",
              "write '- title: ...' and 'url: ...' items under 'reports:'")
        return
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
            return
        if not URI_RE.match(url):
            error("reports", f"statement {entry.id!r}: report {n} has no usable url ({url!r})",
                  "write the full address, starting with https://")
            return
        reports.append((title, url))
    entry.reports = tuple(reports)


def _read_history(entry: Entry, raw, error, statuses: frozenset) -> None:
    """'history:' entries: date, status, and optionally note and url, for events that predate
    the repository."""
    if raw is None:
        return
    hint = "write '- date: YYYY-MM-DD' and 'status: ...' items (optionally note, url)"
    hint_all = hint[:-1] + "; source, govplan_status and rating for froide-govplan updates)"
    if not isinstance(raw, list):
        error("history", f"statement {entry.id!r}: 'history' must be a list", hint)
        return
    events = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, dict) or not HISTORY_KEYS.issuperset(item):
            error("history", f"statement {entry.id!r}: history entry {n} is not a mapping of "
                             f"{', '.join(sorted(HISTORY_KEYS))}", hint)
            return
        try:
            date = parse_date(item.get("date"))
            note, url = text_value(item.get("note")), text_value(item.get("url"))
        except (ValueError, TypeError):
            date = None
        status = item.get("status")
        if date is None or not isinstance(status, str) or status not in statuses:
            error("history", f"statement {entry.id!r}: history entry {n} needs a date "
                             f"(YYYY-MM-DD) and a known status, has {item.get('date')!r} and "
                             f"{item.get('status')!r}", hint)
            return
        if url is not None and not URI_RE.match(url):
            error("history", f"statement {entry.id!r}: history entry {n} has no usable url "
                             f"({url!r})", "write the full address, starting with https://")
            return
        source = item.get("source", "front_matter")
        rating = _rating(item.get("rating"))
        if source not in HISTORY_SOURCES or not _govplan_ok(item.get("govplan_status"), rating):
            error("history", f"statement {entry.id!r}: history entry {n} has an unusable "
                             f"source, govplan_status or rating", hint_all + "; source is "
                             "front_matter or govplan; " + _GOVPLAN_HINT)
            return
        events.append((date, item["status"], note, url, source, item.get("govplan_status"),
                       rating))
    entry.history = tuple(events)


def find_anchors(text: str, body_start: int, display: str,
                  diags: list[Diagnostic]) -> list[tuple[str, str, int, int | None]]:
    """(id, quote, line, col) of every link to a fragment in the body, in order: with the
    regular expression for plain bodies, else with CommonMark (see links.py)."""
    anchors = []
    first_line = text.count("\n", 0, body_start) + 1
    body = text[body_start:]
    found = plain_anchors(body)
    if found is not None:
        line, last = first_line, 0
        for match in found:
            start = match.start()
            line += body.count("\n", last, start)
            last = start
            newline = body.rfind("\n", 0, start)
            col = (start - newline if newline >= 0
                   else body_start + start - text.rfind("\n", 0, body_start))
            sid, quote = match.group(2, 1)
            anchors.append((nfc(sid), " ".join(quote.split()), line, col))
    else:
        found, problems = fragment_links(body, first_line)
        anchors = [(nfc(sid), quote, line, col) for sid, quote, line, col in found]
        diags.extend(Diagnostic(display, line, WARNING, message, hint, col)
                     for line, col, message, hint in problems)
    if "](" in text:
        for match in BROKEN_ANCHOR_RE.finditer(text, body_start):
            start = match.start()
            target = match.group(1)
            diags.append(Diagnostic(
                display, text.count("\n", 0, start) + 1, WARNING,
                f'anchor "({target})" lacks "#"',
                f"write [text](#{target}) to mark the pledge, or give the link a full URL",
                col=start - text.rfind("\n", 0, start)))
    return anchors


def _merge(result: ChapterResult, section_id: str, document_id: str, entries: list[Entry],
           anchors: list[tuple], lines: Lines) -> None:
    """Join front-matter entries and body anchors by id into statement and report rows."""
    display, diags = result.display, result.diagnostics
    by_id: dict[str, Entry] = {}
    for entry in entries:
        if entry.id in by_id:
            diags.append(Diagnostic(
                display, lines.entry(entry.index), ERROR,
                f"duplicate id {entry.id!r}: also used at {display}:"
                f"{lines.entry(by_id[entry.id].index)}", "give each statement its own id"))
            result.section = None
            continue
        by_id[entry.id] = entry
    anchored: dict[str, tuple] = {}
    for anchor in anchors:
        sid, quote, line, col = anchor
        if sid in anchored:
            diags.append(Diagnostic(display, line, WARNING,
                                    f"anchor #{sid} appears again (first at line "
                                    f"{anchored[sid][2]})",
                                    "anchor each pledge once; refer to it elsewhere in plain text",
                                    col=col))
            continue
        anchored[sid] = anchor
        if sid not in by_id:
            diags.append(Diagnostic(display, line, WARNING,
                                    f"anchor #{sid} has no front-matter entry; published as "
                                    "not_implemented with the anchor text as summary",
                                    "add it to 'statements:' (pledgepack sync does this)",
                                    col=col))
    order = list(anchored) + [sid for sid in by_id if sid not in anchored]
    for position, sid in enumerate(order, 1):
        entry, anchor = by_id.get(sid), anchored.get(sid)
        statement_id = f"{document_id}/{sid}"
        quote = (anchor[1] or None) if anchor else None
        line = anchor[2] if anchor else None
        if entry is None:
            result.statements.append((statement_id, document_id, section_id, sid, quote or sid,
                                      quote, "not_implemented", None, None, None, None, None,
                                      position, line, True, None, None))
            continue
        if anchor is None:
            diags.append(Diagnostic(display, lines.entry(entry.index), WARNING,
                                    f"statement {sid!r} is not anchored in the text",
                                    f"mark the pledge in the text as [text](#{sid})"))
        summary = entry.summary or quote
        if summary is None:
            diags.append(Diagnostic(display, lines.entry(entry.index), ERROR,
                                    f"statement {sid!r} has no summary",
                                    "write a 'summary:' or anchor the statement in the text"))
            result.section = None
            continue
        result.statements.append((statement_id, document_id, section_id, sid, summary, quote,
                                  entry.status, entry.last_update, entry.deadline,
                                  entry.categories, entry.responsible, entry.measure, position,
                                  line, anchor is not None, entry.govplan_status, entry.rating))
        result.reports.extend((statement_id, n, title, url)
                              for n, (title, url) in enumerate(entry.reports, 1))
        result.recorded.extend((statement_id, date, status, note, url, result.section[8],
                                source, govplan_status, rating)
                               for date, status, note, url, source, govplan_status, rating
                               in entry.history)
