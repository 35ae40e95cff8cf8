"""CHANGELOG.md for a release: what changed between two built packages.

The comparison reads only the built packages, never the content or its repository: a release
is what was published, and the previous release's folder may be all that is left of it.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PledgepackError
from ..package.descriptor import DESCRIPTOR
from ..package.read import read_tables
from .edits import Edit, ReportChange, field_edits, report_changes, shown

__all__ = ["Changes", "Entry", "Place", "StatusUpdate", "compare", "read_tables",
           "render_changelog", "render_entry"]

# The columns that tell one status_history row from another across two builds; seq is left
# out because a row's number shifts when an earlier row is added. A git row is known by its
# commit, any other by its date (see _row_key).
_ROW_KEY = ("statement_id", "event", "status", "previous_status", "source", "commit")
_CHANGE_EVENTS = frozenset({"changed", "recorded"})


@dataclass(frozen=True, order=True)
class Place:
    """Where an entry is listed. Fields are in sort order, so sorting places sorts documents
    by id and sections by order then id."""

    document_id: str
    section_order: tuple
    section_id: str
    section_heading: str
    document_title: str = field(compare=False)


@dataclass(frozen=True)
class Entry:
    """A statement added or removed."""

    statement_id: str
    id: str
    summary: str
    status: str
    position: int
    place: Place


@dataclass(frozen=True)
class StatusUpdate:
    """One status change. `by_comparison`: found by comparing the two releases' statuses,
    not read from the status history, so it has no date or commit."""

    statement_id: str
    id: str
    summary: str | None
    previous_status: str
    status: str
    effective_date: dt.date | None   # the day the status took effect
    recorded_at: dt.datetime | None  # the commit's time
    commit: str | None
    place: Place
    by_comparison: bool = False


@dataclass
class Changes:
    previous_version: str | None
    current_version: str | None
    first_release: bool
    added: list[Entry]           # by place, then position; every statement on a first release
    removed: list[Entry]         # placed in the previous release's documents and sections
    status_changes: list[StatusUpdate]  # by time, then statement id; undated ones last
    counts_before: dict[str, int]  # statements per status; empty on a first release
    counts_now: dict[str, int]
    labels: dict[str, str]       # status -> English label, in the statuses table's order
    edits: list[Edit] = field(default_factory=list)             # summary, deadline, ...
    reports: list[ReportChange] = field(default_factory=list)   # of statements in both
    places: dict[str, tuple[Place, str]] = field(default_factory=dict)  # id -> (place, local id)

    @property
    def changed_statements(self) -> int:
        return len({c.statement_id for c in self.status_changes})

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.status_changes or self.edits
                    or self.reports)


class _Release:
    """One built package, read into the lookups the comparison needs."""

    def __init__(self, folder: Path):
        tables = read_tables(folder)
        missing = sorted({"statements", "sections", "documents", "status_history",
                          "statuses"} - tables.keys())
        if missing:
            raise PledgepackError(f"{folder}: the package has no {', '.join(missing)} table")
        descriptor = json.loads((Path(folder) / DESCRIPTOR).read_text(encoding="utf-8"))
        self.version = descriptor.get("version")
        self.statements = {r["statement_id"]: r for r in tables["statements"].to_pylist()}
        self.sections = {r["section_id"]: r for r in tables["sections"].to_pylist()}
        self.section_paths = {r["path"]: r for r in self.sections.values()}
        self.documents = {r["document_id"]: r["title"]
                          for r in tables["documents"].to_pylist()}
        self.history = tables["status_history"].to_pylist()
        self.reports = tables["reports"].to_pylist() if "reports" in tables else []
        order = _code_order(descriptor)
        self.statuses = sorted(tables["statuses"].to_pylist(), key=lambda r: order[r["status"]])

    def place(self, document_id: str, section: dict | None) -> Place:
        title = self.documents.get(document_id, document_id)
        if section is None:
            return Place(document_id, (True, 0), "", "Other", title)
        order = section["order"]
        return Place(document_id, (order is None, order or 0), section["section_id"],
                     _section_heading(section), title)

    def entry(self, statement: dict) -> Entry:
        section = self.sections.get(statement["section_id"])
        return Entry(statement["statement_id"], statement["id"], statement["summary"],
                     statement["status"], statement["position"],
                     self.place(statement["document_id"], section))

    def counts(self) -> dict[str, int]:
        return dict(Counter(s["status"] for s in self.statements.values()))


def _code_order(descriptor: dict) -> dict[str, int]:
    """Status -> its place in the code list, as the schema's enum of statements.status lists
    it; the statuses table itself is sorted by its key, which is alphabetical."""
    fields = next((r["schema"]["fields"] for r in descriptor.get("resources", [])
                   if r.get("name") == "statements" and "schema" in r), [])
    enum = next((f.get("constraints", {}).get("enum") for f in fields
                 if f.get("name") == "status"), None) or []
    order = {status: n for n, status in enumerate(enum)}
    return defaultdict(lambda: len(order), order)


def _section_heading(section: dict) -> str:
    title, number = section["title"], section["number"]
    # Titles usually carry their number already ("2.2 Digitales").
    if not number or (title.split(maxsplit=1) or [""])[0].rstrip(".") == number:
        return title
    return f"{number} {title}"


def compare(previous: Path | None, current: Path) -> Changes:
    """What changed from the package in `previous` to the one in `current`; `previous` None
    for a first release."""
    now = _Release(current)
    labels = {r["status"]: r["label_en"] for r in now.statuses}
    if previous is None:
        added = sorted((now.entry(s) for s in now.statements.values()), key=_entry_key)
        return Changes(None, now.version, True, added, [], [], {}, now.counts(), labels)
    before = _Release(previous)
    for row in before.statuses:
        labels.setdefault(row["status"], row["label_en"])
    added = sorted((now.entry(s) for sid, s in now.statements.items()
                    if sid not in before.statements), key=_entry_key)
    removed = sorted((before.entry(s) for sid, s in before.statements.items()
                      if sid not in now.statements), key=_entry_key)
    both = before.statements.keys() & now.statements.keys()
    edits = field_edits(before.statements, now.statements)
    reports = report_changes(before.reports, now.reports, both)
    places = {sid: (now.entry(now.statements[sid]).place, now.statements[sid]["id"])
              for sid in {e.statement_id for e in edits} | {r.statement_id for r in reports}}
    return Changes(before.version, now.version, False, added, removed,
                   _status_changes(before, now), before.counts(), now.counts(), labels,
                   edits, reports, places)


def _entry_key(entry: Entry) -> tuple:
    return entry.place, entry.position, entry.statement_id


def _status_changes(before: _Release, now: _Release) -> list[StatusUpdate]:
    seen = {_row_key(row) for row in before.history}
    found = [row for row in now.history
             if _row_key(row) not in seen and row["event"] in _CHANGE_EVENTS
             and row["previous_status"] is not None and row["status"] != row["previous_status"]]
    found.sort(key=lambda r: (_effective(r) is None, _effective(r) or dt.date.min,
                              r["statement_id"], r["seq"]))
    changes = [_update(before, now, row["statement_id"], row["previous_status"], row["status"],
                       (_effective(row), _recorded(row)), row["commit"], row["path"])
               for row in found]
    # The status the history rows end at; where it is not today's status, the history does
    # not explain the difference (a build without git, or an uncommitted edit), so the step
    # from there to today's status is listed without a date.
    explained = {sid: s["status"] for sid, s in before.statements.items()}
    explained.update((row["statement_id"], row["status"]) for row in found)
    for sid in sorted(now.statements.keys() & before.statements.keys()):
        status = now.statements[sid]["status"]
        if explained[sid] != status:
            changes.append(_update(before, now, sid, explained[sid], status, (None, None),
                                   None, None, by_comparison=True))
    return changes


def _effective(row: dict) -> dt.date | None:
    """The day a row's status took effect; packages made before effective_date existed give
    only valid_from, the commit time."""
    if "effective_date" in row:
        return row["effective_date"]
    when = row.get("valid_from")
    return when.astimezone(dt.timezone.utc).date() if when is not None else None


def _recorded(row: dict) -> dt.datetime | None:
    return row.get("recorded_at") if "recorded_at" in row else row.get("valid_from")


def _row_key(row: dict) -> tuple:
    return (*(row[k] for k in _ROW_KEY), None if row["commit"] else _effective(row))


def _update(before: _Release, now: _Release, sid: str, previous: str, status: str,
            when: tuple, commit: str | None, path: str | None,
            by_comparison: bool = False) -> StatusUpdate:
    for release in (now, before):
        statement = release.statements.get(sid)
        if statement is not None:
            entry = release.entry(statement)
            return StatusUpdate(sid, entry.id, entry.summary, previous, status, *when,
                                commit, entry.place, by_comparison)
    # Added and removed again between the releases: neither package has the statement, only
    # its history rows, whose ids are "<document>/<id>" and whose paths name the chapter.
    document_id, _, local_id = sid.partition("/")
    section = now.section_paths.get(path) or before.section_paths.get(path)
    release = now if document_id in now.documents else before
    return StatusUpdate(sid, local_id, None, previous, status, *when, commit,
                        release.place(document_id, section), by_comparison)


# Characters that could open emphasis, links, code, tables, HTML or strike-through; '#' only
# where it could open or close a heading.
_SPECIAL_RE = re.compile(r"([\\`*_\[\]|<~])")
_HASH_RE = re.compile(r"(?:^|(?<= ))#")


def escape(text: str) -> str:
    """Text safe to put into a line of Markdown: one line, its markup characters escaped."""
    return _HASH_RE.sub(r"\\#", _SPECIAL_RE.sub(r"\\\1", " ".join(text.split())))


def render_changelog(changes: Changes, *, version: str, date: str,
                     earlier: list[str] = ()) -> str:
    """CHANGELOG.md for the release `version` made on `date`: its entry on top, then the
    `earlier` releases' entries (render_entry), newest first."""
    entries = [render_entry(changes, version=version, date=date), *earlier]
    return "# Changelog\n\n" + "\n".join(entries)


def render_entry(changes: Changes, *, version: str, date: str) -> str:
    """The changelog's section for the release `version` made on `date`."""
    lines = [f"## {escape(version)} ({escape(date)})", ""]
    if changes.first_release:
        lines += _first_release(changes)
    else:
        since = escape(changes.previous_version or "the previous release")
        if changes.empty:
            lines += [f"Nothing changed since {since}: no statement was added, removed or "
                      "edited, no status changed, and no report was added or removed.", ""]
        else:
            lines += [f"Changes since {since}:", "",
                      f"- Statements added: {len(changes.added)}",
                      f"- Statements removed: {len(changes.removed)}",
                      f"- Status changes: {len(changes.status_changes)}",
                      f"- Statements whose status changed: {changes.changed_statements}",
                      f"- Statements edited (summary, deadline, categories, responsible, "
                      f"measure): {len({e.statement_id for e in changes.edits})}",
                      f"- Reports added: {sum(r.added for r in changes.reports)}",
                      f"- Reports removed: {sum(not r.added for r in changes.reports)}", ""]
        lines += _status_table(changes)
        if not changes.empty:
            lines += _details(changes)
    return "\n".join(lines).rstrip("\n") + "\n"


def _first_release(changes: Changes) -> list[str]:
    per_document = Counter(entry.place.document_id for entry in changes.added)
    titles = {entry.place.document_id: entry.place.document_title for entry in changes.added}
    lines = [f"The first release: all {len(changes.added)} statements are new.", "",
             "| Status | Statements |", "| --- | ---: |"]
    lines += [f"| {escape(label)} | {n} |" for _, label, _, n in _status_rows(changes)]
    lines += ["", "| Document | Statements |", "| --- | ---: |"]
    lines += [f"| {escape(titles[doc])} | {n} |" for doc, n in sorted(per_document.items())]
    return lines + [""]


def _status_rows(changes: Changes) -> list[tuple[str, str, int, int]]:
    """(status, label, count before, count now) per status, in the statuses table's order,
    with any status that table does not know after them."""
    known = list(changes.labels)
    extra = sorted((changes.counts_now.keys() | changes.counts_before.keys()) - set(known))
    return [(s, changes.labels.get(s, s), changes.counts_before.get(s, 0),
             changes.counts_now.get(s, 0)) for s in known + extra]


def _status_table(changes: Changes) -> list[str]:
    lines = ["| Status | Before | Now | Difference |", "| --- | ---: | ---: | ---: |"]
    for _, label, before, now in _status_rows(changes):
        difference = f"{now - before:+d}" if now != before else "0"
        lines.append(f"| {escape(label)} | {before} | {now} | {difference} |")
    return lines + [""]


def _details(changes: Changes) -> list[str]:
    groups: dict[Place, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for entry in changes.added:
        groups[entry.place]["Added"].append(
            f"{_name(entry.id, entry.summary)} ({_label(changes, entry.status)})")
    for entry in changes.removed:
        groups[entry.place]["Removed"].append(
            f"{_name(entry.id, entry.summary)} (was {_label(changes, entry.status)})")
    for update in changes.status_changes:
        groups[update.place]["Status changes"].append(_describe(changes, update))
    for edit in changes.edits:
        place, local_id = changes.places[edit.statement_id]
        groups[place]["Edited"].append(_describe_edit(local_id, edit))
    for report in changes.reports:
        place, local_id = changes.places[report.statement_id]
        link = f"[{escape(report.title or report.url)}](<{_url(report.url)}>)"
        groups[place]["Reports added" if report.added else "Reports removed"].append(
            f"`{local_id}`: {link}")
    lines: list[str] = []
    document = None
    for place in sorted(groups):
        if place.document_id != document:
            document = place.document_id
            lines += [f"### {escape(place.document_title)}", ""]
        lines += [f"#### {escape(place.section_heading)}", ""]
        for kind in ("Added", "Removed", "Status changes", "Edited", "Reports added",
                     "Reports removed"):
            if groups[place][kind]:
                lines += [f"{kind}:", ""] + [f"- {item}" for item in groups[place][kind]] + [""]
    return lines


def _describe_edit(local_id: str, edit: Edit) -> str:
    if edit.field == "summary":
        return (f"`{local_id}`: summary reworded from “{escape(shown(edit.before))}” to "
                f"“{escape(shown(edit.after))}”")
    return (f"`{local_id}`: {edit.field} {escape(shown(edit.before))} → "
            f"{escape(shown(edit.after))}")


def _url(url: str) -> str:
    """A URL inside <...>: no space, angle bracket or newline may break out of it."""
    return "".join(c if c not in " <>\n\r\\" else f"%{ord(c):02X}" for c in url)


def _name(local_id: str, summary: str | None) -> str:
    # An id of an older package may hold a backtick, which would end the code span: then it is
    # written as escaped text instead.
    code = escape(local_id) if "`" in local_id or "\n" in local_id else f"`{local_id}`"
    return f"{code}: {escape(summary)}" if summary else code


def _label(changes: Changes, status: str) -> str:
    # Labels are capitalised for tables; inside a sentence they read better in lower case.
    label = changes.labels.get(status, status)
    return escape(label[:1].lower() + label[1:])


def _describe(changes: Changes, update: StatusUpdate) -> str:
    text = (f"{_name(update.id, update.summary)}: {_label(changes, update.previous_status)} → "
            f"{_label(changes, update.status)}")
    if update.by_comparison:
        return f"{text} (found by comparing the two releases)"
    when = []
    if update.effective_date is not None:
        when.append(f"in effect {update.effective_date.isoformat()}")
    if update.commit:
        recorded = (f" of {update.recorded_at.astimezone(dt.timezone.utc).date().isoformat()}"
                    if update.recorded_at is not None else "")
        when.append(f"commit {update.commit[:7]}{recorded}")
    return f"{text} ({', '.join(when)})" if when else text
