"""What each page shows, computed from the package's tables (the templates only lay it out)."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

from jinja2.utils import htmlsafe_json_dumps

from .data import PackageData, SiteError
from .strings import Words

UNREVIEWED = "unreviewed"
SECTIONS_DIR = "text"
# Names the site uses itself: at the top (beside the documents) and in a document's folder
# (beside its pledges).
RESERVED = {"assets", "data", "download", "search", "feed.xml", "index.html"}
RESERVED_IN_DOCUMENT = {SECTIONS_DIR, "feed.xml", "index.html"}


def check_segment(name: str | None, reserved: set[str], what: str) -> None:
    """A document or pledge id becomes a folder of the site: it must be one safe path segment
    that the site does not use itself."""
    if not name or name in (".", "..") or any(c in name for c in "/\\\0"):
        raise SiteError(f"{what}: {name!r} cannot be a folder of the site (empty, '.', '..' "
                        "or a slash in it); rename it in the content and rebuild the package")
    if name in reserved:
        raise SiteError(f"{what}: {name!r} is a name the site uses itself "
                        f"({', '.join(sorted(reserved))}); rename it in the content and "
                        "rebuild the package")


def display_status(statement: dict) -> str:
    """What a reader is told: the status, or "not yet reviewed" when nobody assessed it."""
    return statement["status"] if statement["reviewed"] else UNREVIEWED


@dataclass
class Segment:
    key: str
    label: str
    count: int
    share: float

    @property
    def percent(self) -> str:
        return f"{100 * self.share:.1f}"


def bar(statements: list[dict], order: list[str], words: Words) -> list[Segment]:
    counts = Counter(display_status(s) for s in statements)
    total = len(statements)
    return [Segment(key, words.label[key] if key != UNREVIEWED else words["not_reviewed"],
                    counts.get(key, 0), counts.get(key, 0) / total if total else 0.0)
            for key in order + [UNREVIEWED]]


def status_order(data: PackageData) -> list[str]:
    """Best first: by score, highest to lowest, then by code."""
    rows = sorted(data.tables["statuses"], key=lambda s: (-(s["score"] or 0), s["status"]))
    return [s["status"] for s in rows]


def time_left(deadline: dt.date | None, status: str, today: dt.date | None, words: Words):
    """(text, overdue?) for a deadline, relative to the package's date, never the clock."""
    if deadline is None:
        return words["not_stated"], False
    if today is None:
        return deadline.isoformat(), False
    days = (deadline - today).days
    if days < 0 and status in ("not_implemented", "partially_implemented"):
        return words.fmt("overdue_by", n=-days), True
    if days >= 0 and status != "implemented":
        return words.fmt("days_left", n=days), False
    return deadline.isoformat(), False


@dataclass
class Site:
    data: PackageData
    words: Words
    order: list[str]
    documents: list[dict]
    sections: dict[str, list[dict]]          # document_id -> sections in order
    statements: dict[str, list[dict]]        # section_id -> statements in order
    by_document: dict[str, list[dict]]       # document_id -> statements
    reports: dict[str, list[dict]]           # statement_id -> reports
    history: dict[str, list[dict]]           # statement_id -> events in order
    changes: list[dict]                      # status changes, newest first
    today: dt.date | None
    document: dict | None = None             # set in a part: the one document it holds

    def part(self, doc_id: str) -> Site:
        """One document's share of the site, all its pages need and no more: small enough to
        hand to another process. Every document stays listed, for the navigation."""
        doc = next(d for d in self.documents if d["document_id"] == doc_id)
        statements = self.by_document[doc_id]
        ids = [st["statement_id"] for st in statements]
        sections = self.sections[doc_id]
        data = PackageData(self.data.folder, self.data.descriptor,
                           {"statuses": self.data.tables["statuses"]})
        return Site(data, self.words, self.order, self.documents, {doc_id: sections},
                    {sec["section_id"]: self.statements[sec["section_id"]] for sec in sections},
                    {doc_id: statements}, {i: self.reports[i] for i in ids},
                    {i: self.history[i] for i in ids},
                    [c for c in self.changes if c["statement"]["document_id"] == doc_id],
                    self.today, doc)


def is_change(event: dict) -> bool:
    return (event["previous_status"] is not None
            and event["previous_status"] != event["status"]) or event["event"] == "recorded"


def assemble(data: PackageData) -> Site:
    words = Words(data.language, data.tables["statuses"])
    today = data.created
    documents = sorted(data.tables["documents"], key=lambda d: d["document_id"])
    for doc in documents:
        check_segment(doc["document_id"], RESERVED, "documents: document_id")
    sections: dict[str, list[dict]] = defaultdict(list)
    for sec in sorted(data.tables["sections"],
                      key=lambda s: (s["order"] is None, s["order"] or 0, s["section_id"])):
        sections[sec["document_id"]].append(sec)
    statements: dict[str, list[dict]] = defaultdict(list)
    by_document: dict[str, list[dict]] = defaultdict(list)
    order = status_order(data)
    rank = {status: i for i, status in enumerate(order)}
    stems = {sec["section_id"]: sec["section_id"].split("/", 1)[1]
             for sec in data.tables["sections"]}
    for st in sorted(data.tables["statements"],
                     key=lambda s: (s["section_id"], s["position"], s["statement_id"])):
        check_segment(st["id"], RESERVED_IN_DOCUMENT, f"statements: {st['statement_id']}: id")
        st["display"] = display_status(st)
        st["display_label"] = (words["not_reviewed"] if st["display"] == UNREVIEWED
                               else words.label[st["status"]])
        st["left"], st["overdue"] = time_left(st["deadline"], st["status"], today, words)
        st["section_stem"] = stems.get(st["section_id"], "")
        # for the document page's sorting and filters, worked out once per pledge
        st["rank"] = rank[st["status"]] if st["reviewed"] else len(order)
        st["categories_json"] = str(htmlsafe_json_dumps(st["categories"]))
        statements[st["section_id"]].append(st)
        by_document[st["document_id"]].append(st)
    reports: dict[str, list[dict]] = defaultdict(list)
    for rep in sorted(data.tables["reports"], key=lambda r: (r["statement_id"], r["position"])):
        reports[rep["statement_id"]].append(rep)
    history: dict[str, list[dict]] = defaultdict(list)
    for ev in sorted(data.tables["status_history"], key=lambda e: (e["statement_id"], e["seq"])):
        history[ev["statement_id"]].append(ev)
    summaries = {s["statement_id"]: s for s in data.tables["statements"]}
    changes = [dict(ev, statement=summaries[ev["statement_id"]])
               for ev in data.tables["status_history"]
               if is_change(ev) and ev["statement_id"] in summaries]
    changes.sort(key=lambda e: (e["effective_date"] or dt.date.min, e["statement_id"], e["seq"]),
                 reverse=True)
    return Site(data, words, order, documents, sections, statements, by_document,
                reports, history, changes, today)


def filter_values(statements: list[dict]) -> dict[str, list[str]]:
    """The choices of the document page's filters: every category and responsible body."""
    return {
        "categories": sorted({c for s in statements for c in s["categories"]}),
        "responsible": sorted({s["responsible"] for s in statements if s["responsible"]}),
    }


def commit_url(repository: str | None, commit: str | None) -> str | None:
    if not repository or not commit:
        return None
    return f"{repository.rstrip('/')}/commit/{commit}"


def human_size(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return str(size)
