"""Lint: every content check of the build, and editorial checks beyond it, without building.

Fast enough for a pre-commit hook: it reads the content like the build does
(front matter and anchors, no tables or files) and then looks again at each
chapter's front matter for what the build lets pass but an editor should fix.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import urlsplit

from ..content.folder import scan_content
from ..content.links import ANCHOR_ID_RE
from ..content.yamltext import (
    Lines,
    YamlProblem,
    decode,
    load_front_matter,
    split_front_matter,
)
from ..errors import ERROR, WARNING, Diagnostic
from ..history.gitio import line_commits
from ..schema import PackageSchema

PLACEHOLDER_TITLES = {"test", "todo", "tbd", "xxx", "titel", "title", "..."}
PLACEHOLDER_HOSTS = re.compile(r"(^|\.)example\.(org|com|net)$|^localhost$")
# An id must be writable as [text](#id) and usable as an HTML id and a URL fragment.


def lint(paths: list[Path], content: Path, schema: PackageSchema,
         today: dt.date | None = None) -> list[Diagnostic]:
    """Diagnostics for `paths` (chapter files, document.yaml files or content folders), or for
    the whole `content` folder when no path is given; sorted by place, each with a column.
    A file is linted with the rest of its document (ids must be unique across chapters), but
    only its own diagnostics are reported."""
    today = today or dt.date.today()
    targets: dict[Path, set[Path] | None] = {}
    missing = []
    for path in paths or [content]:
        if path.is_dir():
            targets[path] = None
        elif path.is_file():
            files = targets.setdefault(path.parent, set())
            if files is not None:
                files.add(path.resolve())
        else:
            missing.append(Diagnostic(str(path), 1, ERROR, "no such file or folder",
                                      "check the path", 1))
    found = missing
    for root, files in targets.items():
        found.extend(_with_column(d) for d in _lint_root(root, schema, today)
                     if files is None or Path(d.path).resolve() in files)
    return sorted(found, key=Diagnostic.sort_key)


def _with_column(d: Diagnostic) -> Diagnostic:
    if d.line is not None and d.col is not None:
        return d
    return Diagnostic(d.path, d.line or 1, d.severity, d.message, d.hint, d.col or 1)


def _lint_root(root: Path, schema: PackageSchema, today: dt.date) -> list[Diagnostic]:
    content = scan_content(root, schema, include_unpublished=True)
    found = list(content.diagnostics)
    dates = {d.document_id: dt.date.fromisoformat(d.date) if d.date else None
             for d in content.documents}
    for section in content.sections:
        path = root / section.path
        found.extend(_lint_chapter(path, str(path), dates.get(section.document_id), today))
    # Chapters the build rejects are linted too, so that every problem shows in one run.
    built = {str(root / section.path) for section in content.sections}
    for display in sorted({d.path for d in content.diagnostics} - built):
        if display.endswith(".md") and Path(display).is_file():
            document = (next(iter(dates.values())) if len(dates) == 1
                        else dates.get(Path(display).parent.name))
            found.extend(_lint_chapter(Path(display), display, document, today))
    # The build and lint both refuse some things (an id that is no anchor): say it once, at
    # the place with a column.
    placed = {(d.path, d.line, d.message) for d in found if d.col is not None}
    return [d for d in found if d.col is not None or (d.path, d.line, d.message) not in placed]


def _lint_chapter(path: Path, display: str, document_date: dt.date | None,
                  today: dt.date) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    text = decode(path.read_bytes(), display, found)
    parts = split_front_matter(text) if text is not None else None
    if parts is None:
        return found
    fm, fm_line, _, _ = parts
    try:
        meta = load_front_matter(fm, fm_line) or {}
    except YamlProblem:
        return found
    lines = Lines(fm, fm_line)
    rows = fm.split("\n")

    def add(index: int, key: str | None, severity: str, message: str, hint: str,
            item: int = 0) -> None:
        line = lines.entry(index, key)
        if item:
            line = _item_line(rows, line - fm_line, item) + fm_line
        row = rows[line - fm_line] if 0 <= line - fm_line < len(rows) else ""
        stripped = row.lstrip(" ")
        col = len(row) - len(stripped) + 1 + (2 if key and stripped.startswith("- ") else 0)
        found.append(Diagnostic(display, line, severity, message, hint, col))

    statements = [e for e in meta.get("statements") or [] if isinstance(e, dict)]
    for index, entry in enumerate(meta.get("statements") or []):
        if isinstance(entry, dict):
            _lint_entry(index, entry, add, document_date, today)
    if any(_date(e.get("last_update")) for e in statements):
        _lint_commit_dates(path, meta.get("statements"), lines, add)
    return found


def _lint_commit_dates(path: Path, entries: list, lines: Lines, add) -> None:
    """A last_update after the day of the commit that wrote it cannot be a review date: the
    package then dates the status by the commit (see history/timeline.py)."""
    written = line_commits(path)
    if not written:
        return
    for index, entry in enumerate(entries):
        value = _date(entry.get("last_update")) if isinstance(entry, dict) else None
        commit = written.get(lines.entry(index, "last_update")) if value else None
        if commit is None:
            continue
        sha, when = commit
        if value > when.date():
            sid = str(entry.get("id", "")).strip()
            add(index, "last_update", WARNING,
                f"statement {sid!r}: last_update {value} is after the commit that wrote it "
                f"({sha[:7]}, {when.date()})",
                "write the day the status was assessed, not a later one; until then the "
                "package dates this status by the commit's day")


def _lint_entry(index: int, entry: dict, add, document_date: dt.date | None,
                today: dt.date) -> None:
    sid = str(entry.get("id", "")).strip()
    if sid and not ANCHOR_ID_RE.fullmatch(sid):
        add(index, "id", ERROR, f"id {sid!r} cannot be used as an anchor",
            "use letters, digits, '-' and '_' only: no spaces, brackets, '#', '/', quotes")
    if not str(entry.get("summary") or "").strip():
        add(index, "summary" if "summary" in entry else None, WARNING,
            f"statement {sid!r} has an empty summary",
            "write a short summary of the pledge")
    for key, limit, message in (("last_update", today, "is in the future"),
                                ("last_update", document_date, "is before the document's date"),
                                ("deadline", document_date, "is before the document's date")):
        value = _date(entry.get(key))
        if value is None or limit is None:
            continue
        late = value > limit if message == "is in the future" else value < limit
        if late:
            add(index, key, WARNING, f"statement {sid!r}: {key} {value} {message} ({limit})",
                f"check the {key}")
    for n, report in enumerate(entry.get("reports") or [], 1):
        if isinstance(report, dict):
            _lint_report(index, sid, n, report, add)


def _lint_report(index: int, sid: str, n: int, report: dict, add) -> None:
    title = str(report.get("title") or "").strip()
    url = str(report.get("url") or "").strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError as exc:  # such as an unclosed IPv6 address, 'http://[::1'
        add(index, "reports", WARNING,
            f"statement {sid!r}: report {n} url {url!r} is not a valid address ({exc})",
            "check the address: copy it from the browser's address bar", item=n)
        return
    if title.lower() in PLACEHOLDER_TITLES or PLACEHOLDER_HOSTS.search(host):
        add(index, "reports", WARNING,
            f"statement {sid!r}: report {n} looks like a placeholder ({title!r}, {url!r})",
            "replace it with the real report, or remove it", item=n)
    if url and parts.scheme not in ("http", "https"):
        add(index, "reports", WARNING,
            f"statement {sid!r}: report {n} url {url!r} is not an http(s) address",
            "link to the report on the web, starting with https://", item=n)


def _item_line(rows: list[str], key_row: int, n: int) -> int:
    """Row of the n-th '- ' item of the block list that starts below rows[key_row]."""
    seen = 0
    for offset, row in enumerate(rows[key_row + 1:], key_row + 1):
        if row.lstrip(" ").startswith("- "):
            seen += 1
            if seen == n:
                return offset
    return key_row


def _date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None
