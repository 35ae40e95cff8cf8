"""A built package as froide-govplan's CSV import, with its status history as updates.

froide-govplan loads plans with `manage.py import_govplan <government> <mapping.json> <csv>`:
the mapping names, for each model field, the CSV column to read, and some fields go through a
handler that rewrites the value (see the README written with the export). This module writes
the values so that those handlers give back what the package holds: deadlines as the German
words its due-date handler turns into dates, references without the characters it splits on,
titles within the 255 characters of the title column and unique per government (rows are
matched to plans by title), and slugs set after the title (the title handler overwrites the
slug). Everything it cannot carry exactly is listed in `losses`.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from ..errors import PledgepackError
from ..package.read import read_tables

TITLE_MAX = 255        # GovernmentPlan.title, slug, reference and measure are CharField(255)
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
# The days the due-date handler can produce, with the word that makes it produce them; it
# reads the first four-digit number as the year and tests the words in this order.
DUE_DATE_WORDS = {(7, 1): "Mitte", (12, 1): "Ende", (3, 1): "Anfang", (12, 31): "Innerhalb",
                  (6, 1): "Juni", (1, 1): ""}
# What the reference and category handlers split on.
REFERENCE_SPLIT = re.compile(r"[,/]")
CATEGORY_SPLIT = re.compile(r", | & | und ")
# Used when the package's statuses table predates its govplan_status column.
GOVPLAN_STATUS = {"not_implemented": "not_started", "partially_implemented":
                  "partially_implemented", "implemented": "implemented", "broken": "deferred"}
PLANS_CSV, MAPPING_JSON, UPDATES_JSON, README = ("plans.csv", "mapping.json", "updates.json",
                                                 "README.md")


@dataclass
class GovplanExport:
    folder: Path
    plans: int
    updates: int
    files: list[Path]
    losses: list[str] = field(default_factory=list)


def slugify(text: str) -> str:
    """The slug Django's slugify gives (without allow_unicode): ASCII letters, digits, '_'
    and '-', lower case, runs of spaces and dashes as one dash."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text.lower(), flags=re.ASCII)
    return re.sub(r"[-\s]+", "-", text).strip("-_")


def due_date_text(deadline: dt.date | None) -> tuple[str, bool]:
    """The due-date cell and whether the handler turns it back into exactly `deadline`. A day
    it cannot produce is written as 'Innerhalb <year>' (31 December: within that year)."""
    if deadline is None:
        return "", True
    word = DUE_DATE_WORDS.get((deadline.month, deadline.day))
    if word is None:
        return f"Innerhalb {deadline.year:04d}", False
    return f"{word} {deadline.year:04d}".strip(), True


def _fit(text: str, limit: int, suffix: str = "") -> str:
    """text cut to `limit` characters with suffix, at a word boundary where there is one."""
    if len(text) + len(suffix) <= limit:
        return text + suffix
    room = limit - len(suffix) - 1
    cut = text[:room]
    if " " in cut[room // 2:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip() + "…" + suffix


class _Unique:
    """Hands out values unique within the export, first come first served."""

    def __init__(self):
        self.taken: set[str] = set()

    def take(self, make) -> str:
        n = 1
        while True:
            value = make(n)
            if value not in self.taken:
                self.taken.add(value)
                return value
            n += 1


def _rows(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def _midnight(day: dt.date | None) -> str | None:
    return f"{day.isoformat()}T00:00:00Z" if day else None


def _instant(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event_time(row: dict) -> tuple[str | None, str]:
    """When a status_history event took effect, and whose date that is. Packages with
    effective_date give it with its source; older ones have valid_from only."""
    if "effective_date" in row:
        day = row["effective_date"]
        return _midnight(day), (row.get("effective_date_source") or "not stated") if day \
            else "not stated"
    value = row.get("valid_from")
    if value is None:
        return None, "not stated"
    # A git event takes effect at its commit; a history entry and a snapshot (valid from the
    # statement's last_update) carry the editors' date.
    return _instant(value), "commit" if row["source"] == "git" else "editor"


def export_govplan(package: Path, out: Path, government: str, documents: list[str] | None = None,
                   categories: bool = False) -> GovplanExport:
    """Write plans.csv, mapping.json, updates.json and README.md into `out` from the built
    package in `package`. `categories` maps the categories column too (froide must already
    have every category)."""
    if not SLUG_RE.match(government):
        raise PledgepackError(f"government {government!r} is not a slug: use letters, digits, "
                              "'-' and '_', as in the government's address on the site")
    try:
        tables = read_tables(package)
    except OSError as exc:
        raise PledgepackError(f"{package}: a file of the package cannot be read ({exc}); "
                              "build it again with 'pledgepack build'") from None
    missing = {"documents", "sections", "statements", "reports", "status_history",
               "statuses"} - set(tables)
    if missing:
        raise PledgepackError(f"{package}: not a pledgepack package, it lacks the tables "
                              + ", ".join(sorted(missing)))
    known = [r["document_id"] for r in _rows(tables["documents"])]
    chosen = documents or known
    unknown = [d for d in chosen if d not in known]
    if unknown:
        raise PledgepackError(f"{package}: no document {', '.join(map(repr, unknown))}; it has "
                              + ", ".join(known))
    statements = sorted((r for r in _rows(tables["statements"]) if r["document_id"] in chosen),
                        key=lambda r: r["statement_id"])
    statuses = {r["status"]: r for r in _rows(tables["statuses"])}
    to_govplan = {code: row.get("govplan_status") or GOVPLAN_STATUS[code]
                  for code, row in statuses.items()}
    plans, losses = _plans(statements, government, to_govplan, categories)
    updates = _updates(plans, tables, statuses, to_govplan)
    mapping = _mapping(plans, categories)
    texts = {PLANS_CSV: _csv(plans), MAPPING_JSON: _json(mapping),
             UPDATES_JSON: _json({"government": government, "updates": updates}),
             README: _readme(government, len(plans), len(updates), mapping, losses)}
    files = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in texts.items():
            path = out / name
            tmp = path.with_name(f".{name}.tmp")
            tmp.write_bytes(text.encode("utf-8"))
            tmp.replace(path)
            files.append(path)
    except OSError as exc:
        raise PledgepackError(f"{out}: cannot write the export: {exc.strerror}") from None
    return GovplanExport(out, len(plans), len(updates), files, losses)


COLUMNS = ("title", "slug", "description", "quote", "public", "due_date", "measure", "status",
           "rating", "reference", "categories", "responsible", "statement_id", "deadline")


def _plans(statements: list[dict], government: str, to_govplan: dict, with_categories: bool):
    titles, slugs, losses, plans, problems = _Unique(), _Unique(), [], [], []
    for s in statements:
        sid = s["statement_id"]
        summary = " ".join(s["summary"].split()) or s["id"]
        title = titles.take(lambda n: _fit(summary, TITLE_MAX,
                                           "" if n == 1 else f" ({s['id']}{'' if n == 2 else n})"))
        base = slugify(f"{government}-{s['document_id']}-{s['id']}")
        slug = slugs.take(lambda n: base[:TITLE_MAX] if n == 1
                          else f"{base[:TITLE_MAX - 1 - len(str(n))]}-{n}")
        notes = []
        if title != summary:
            notes.append(summary)
        due, exact = due_date_text(s["deadline"])
        if not exact:
            notes.append(f"Deadline: {s['deadline'].isoformat()}.")
            losses.append(f"{sid}: deadline {s['deadline'].isoformat()} becomes "
                          f"{due[-4:]}-12-31 ('{due}'); the exact day is in the description")
        reference = s["id"] if not REFERENCE_SPLIT.search(s["id"]) and \
            len(s["id"]) <= TITLE_MAX else ""
        if not reference:
            losses.append(f"{sid}: the id cannot be a reference (it holds ',' or '/'), left "
                          "empty")
        cats = list(s["categories"] or [])
        if with_categories:
            problems += [f"{sid}: category {c!r} would be split by the importer (on ', ', "
                         "' & ' and ' und ')" for c in cats if CATEGORY_SPLIT.search(c)]
            if not cats:
                problems.append(f"{sid}: no categories (the importer would make an untitled "
                                "section for it)")
        measure = s["measure"] or ""
        plans.append({
            "title": title, "slug": slug, "description": "\n\n".join(notes),
            "quote": s["quote"] or "", "public": "True", "due_date": due, "measure": measure,
            # A statement imported from froide-govplan goes back with its own status.
            "status": s.get("govplan_status") or to_govplan[s["status"]],
            "rating": "" if s.get("rating") is None else str(s["rating"]),
            "reference": reference,
            "categories": ", ".join(cats), "responsible": s["responsible"] or "",
            "statement_id": sid,
            "deadline": s["deadline"].isoformat() if s["deadline"] else "",
            "_statement": s,
        })
    if problems:
        raise PledgepackError("cannot map the categories:\n" + "\n".join(problems)
                              + "\nhint: rename those categories, or export without "
                                "--categories")
    return plans, losses


def _mapping(plans: list[dict], categories: bool) -> dict:
    """Model field -> CSV column. Title before slug: the title handler sets the slug from the
    title, and the slug column then replaces it."""
    fields = ["title", "slug", "description", "quote", "public", "due_date", "measure", "status",
              "reference"]
    if categories:
        fields.append("categories")
    # An empty rating fails the import (int('')): mapped only when every plan has one.
    if plans and all(p["rating"] for p in plans):
        fields.append("rating")
    return {name: name for name in fields}


def _csv(plans: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n",
                            quoting=csv.QUOTE_MINIMAL, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(plans)
    return buffer.getvalue()


def _json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _updates(plans: list[dict], tables: dict, statuses: dict, to_govplan: dict) -> list[dict]:
    """One update per report and one per status change, in plan and time order. A report
    that a status change already cites (same link and title, as `import govplan` writes one
    froide-govplan update) is not repeated."""
    by_statement = {p["statement_id"]: p for p in plans}
    changes = [h for h in _rows(tables["status_history"])
               if h["status"] is not None and h["status"] != h["previous_status"]]
    cited = {(h["statement_id"], h.get("url"), h.get("note")) for h in changes if h.get("url")}
    updates = []
    for report in _rows(tables["reports"]):
        plan = by_statement.get(report["statement_id"])
        if plan is None or (report["statement_id"], report["url"], report["title"]) in cited:
            continue
        last_update = plan["_statement"]["last_update"]
        updates.append({
            "plan": plan["slug"], "kind": "report", "timestamp": _midnight(last_update),
            "timestamp_source": "last_update" if last_update else "not stated",
            "title": report["title"] or "", "content": "", "url": report["url"], "status": "",
            "rating": None, "public": True, "position": report["position"]})
    for row in changes:
        plan = by_statement.get(row["statement_id"])
        if plan is None:
            continue
        timestamp, source = _event_time(row)
        updates.append({
            "plan": plan["slug"], "kind": "status", "timestamp": timestamp,
            "timestamp_source": source,
            "title": row.get("note") or f"Status: {statuses[row['status']]['label_de']}",
            "content": "", "url": row.get("url") or "",
            "status": row.get("govplan_status") or to_govplan[row["status"]],
            "rating": row.get("rating"), "public": True,
            "position": row["seq"]})
    # Undated updates last: froide-govplan takes a plan's status from its latest update.
    updates.sort(key=lambda u: (u["plan"], u["timestamp"] is None, u["timestamp"] or "",
                                u["kind"] != "status", u["position"]))
    for update in updates:
        del update["position"]
    return updates


def _readme(government: str, plans: int, updates: int, mapping: dict, losses: list[str]) -> str:
    lines = [
        f"# {plans} plans for froide-govplan (government `{government}`)", "",
        f"- `{PLANS_CSV}`: one row per pledge, UTF-8 without BOM, the columns named after the "
        "plan's fields; `statement_id` and `deadline` are for reference and are not imported.",
        f"- `{MAPPING_JSON}`: which column fills which field.",
        f"- `{UPDATES_JSON}`: {updates} updates, one per report and one per status change, "
        "each with the plan's slug, `timestamp` (UTC) and whose date that is "
        "(`timestamp_source`: `editor`: a date the editors wrote, `commit`: the commit's day "
        "or time, "
        "`last_update`: the editors' review that cites a report, or `not stated`).", "",
        "## Loading", "",
        "The government must exist; then, on the server:", "",
        "```sh",
        f"python manage.py import_govplan {government} {MAPPING_JSON} {PLANS_CSV}",
        "```", "",
        "Plans are matched by title within the government: running it again updates the same "
        "plans, and a plan already there with the same title is overwritten. The plans are "
        "imported as public. Then the updates, in `python manage.py shell`:", "",
        "```python",
        "import json",
        "from froide_govplan.models import GovernmentPlan, GovernmentPlanUpdate",
        f"data = json.load(open('{UPDATES_JSON}', encoding='utf-8'))",
        "for u in data['updates']:",
        "    if u['timestamp'] is None:",
        "        print('no date stated, not loaded:', u['plan'], u['title'])",
        "        continue",
        "    plan = GovernmentPlan.objects.get(slug=u['plan'])",
        "    GovernmentPlanUpdate.objects.create(",
        "        plan=plan, timestamp=u['timestamp'], title=u['title'][:1024],",
        "        content=u['content'], url=u['url'], status=u['status'], rating=u['rating'],",
        "        public=u['public'])",
        "```", "",
        "## What the import cannot carry", "",
        "- `reference` holds the pledge's id, the anchor of its text in the tracker's chapter; "
        "froide-govplan links a reference to a paragraph `#p-<reference>` of the government's "
        "planning document, which that id does not name.",
        "- `responsible` is not mapped: the importer looks the body up among the public bodies "
        "of the government's jurisdiction and fails when there is none.",
    ]
    if "categories" not in mapping:
        lines.append("- `categories` is not mapped: the importer needs every category to exist "
                     "already; export with `--categories` once they do.")
    if "rating" not in mapping:
        lines.append("- `rating` is not mapped: not every plan has one, and an empty rating "
                     "fails the import.")
    lines += [f"- {_markdown_text(loss)}" for loss in losses] or [
        "- Nothing else: every other value is imported as the package has it."]
    return "\n".join(lines) + "\n"


_MARKDOWN_SPECIAL_RE = re.compile(r"([\\`*_\[\]<>|#~!])")


def _markdown_text(text: str) -> str:
    """Text that reads as itself in Markdown: ids may hold `*` or `_`, a note never markup."""
    return _MARKDOWN_SPECIAL_RE.sub(r"\\\1", text)
