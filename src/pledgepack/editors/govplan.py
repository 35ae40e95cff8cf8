"""Import a dump of froide-govplan's plan API as a document folder of the content.

The dump is what `/api/v1/governmentplan/` serves: a list of plans (or a page of them, under
`results` or `objects`), each with its updates. Every plan becomes a statement of one chapter:
its slug the id, its title the summary, its quote the anchored text, its status mapped onto this
package's scale with the original kept as `govplan_status`, its rating, due date and measure.
Its updates become history entries with `source: govplan` (those with a status: the updates
are froide-govplan's status history) and reports (those with a link); every update is listed
under the plan in the chapter's text too, with the plan's description, measure and page.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from ..content.folder import DOCUMENT_FILE, ID_RE
from ..content.yamltext import nfc
from ..errors import PledgepackError
from .importer import ImportResult, _one_line, _quote, _write

# froide-govplan status -> this package's. Its "started" has no own step here, and it has no
# "broken": "deferred" (shelved) is the nearest.
STATUS_MAP = {"not_started": "not_implemented", "started": "partially_implemented",
              "partially_implemented": "partially_implemented", "implemented": "implemented",
              "deferred": "broken"}
# Its measure is free text; the words that say which of this package's measures it is.
MEASURE_WORDS = (("verordnung", "regulation"), ("gesetz", "law"), ("regulation", "regulation"),
                 ("law", "law"), ("förder", "funding"), ("haushalt", "funding"),
                 ("finanz", "funding"), ("funding", "funding"), ("organisation", "organisation"),
                 ("behörde", "organisation"))
CHAPTER = "1-vorhaben.md"
URL_RE = re.compile(r"^https?://\S+$")


def import_govplan(dump: Path | str, content_root: Path | str, document_id: str, *,
                   title: str | None = None, force: bool = False) -> ImportResult:
    """Write the plans of `dump` as the document `document_id` into `content_root`."""
    dump, content_root = Path(dump), Path(content_root)
    if not ID_RE.fullmatch(document_id):
        raise PledgepackError(
            f"document id {document_id!r} is not usable: use lower-case letters, digits, '.', "
            "'_' and '-', starting with a letter or digit")
    plans = _read_dump(dump)
    governments = sorted({str(p.get("government")) for p in plans})
    if len(governments) > 1:
        raise PledgepackError(f"{dump}: the plans belong to governments {', '.join(governments)}; "
                              "fetch one government's plans (?government=<id>) per document")
    folder = content_root / document_id
    if folder.exists() and not force:
        raise PledgepackError(f"{folder} exists; use --force to replace it")
    title = title or f"froide-govplan: plans of government {governments[0] if plans else '?'}"
    entries, bodies = [], []
    for n, plan in enumerate(plans, 1):
        entry, body = _plan(plan, f"{dump}: plan {n}")
        entries.append(entry)
        bodies.append(body)
    seen = {}
    for n, entry in enumerate(entries, 1):
        if entry["id"] in seen:
            raise PledgepackError(f"{dump}: plans {seen[entry['id']]} and {n} have the same slug "
                                  f"{entry['id']!r}")
        seen[entry["id"]] = n
    document = "\n".join([
        f"# Imported by pledgepack from {_one_line(dump.name)}, a dump of froide-govplan's "
        "plan API.",
        "# The API states no date, parties, licence or source document of the plans: fill them "
        "in from the site (until then the package says \"not stated\" for the licence).",
        f"title: {_quote(_one_line(title))}",
        f"source_note: {_quote(_one_line(f'froide-govplan plan API, dump {dump.name}'))}",
        "", ])
    chapter = _render_chapter(entries, bodies)
    _write(folder, {DOCUMENT_FILE: document, CHAPTER: chapter})
    return ImportResult(folder, title, folder / DOCUMENT_FILE, (folder / CHAPTER,))


def _read_dump(dump: Path) -> list[dict]:
    try:
        data = json.loads(dump.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise PledgepackError(f"{dump}: cannot read the file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise PledgepackError(f"{dump}: not UTF-8; save the API's answer as it came") from None
    except json.JSONDecodeError as exc:
        raise PledgepackError(f"{dump}:{exc.lineno}: not valid JSON: {exc.msg}\n  hint: save "
                              "the answer of /api/v1/governmentplan/ (a list of plans)") from None
    if isinstance(data, dict):
        data = data.get("results", data.get("objects"))
    if not isinstance(data, list) or not all(isinstance(p, dict) for p in data):
        raise PledgepackError(f"{dump}: not a list of plans\n  hint: save the answer of "
                              "/api/v1/governmentplan/ (a list, or a page with 'results')")
    return data


def _text(plan: dict, key: str, where: str, required: bool = False) -> str | None:
    value = plan.get(key)
    if value is None or value == "":
        if required:
            raise PledgepackError(f"{where}: has no {key}")
        return None
    if not isinstance(value, str):
        raise PledgepackError(f"{where}: {key} is {value!r}, not text")
    return nfc(value)


def _moment(value, where: str) -> dt.datetime:
    """An API timestamp (ISO 8601, with its offset) in UTC; a time without offset is taken as
    written."""
    if not isinstance(value, str):
        raise PledgepackError(f"{where}: timestamp {value!r} is not text")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PledgepackError(f"{where}: timestamp {value!r} is not ISO 8601") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def _status(value, where: str) -> str:
    if value not in STATUS_MAP:
        raise PledgepackError(f"{where}: unknown status {value!r}; froide-govplan's are "
                              + ", ".join(STATUS_MAP))
    return value


def _rating(value, where: str) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not 1 <= value <= 5:
        raise PledgepackError(f"{where}: rating {value!r} is not 1 to 5")
    return value


def _measure(text: str | None) -> str | None:
    if not text:
        return None
    low = text.lower()
    return next((code for word, code in MEASURE_WORDS if word in low), "other")


def _plan(plan: dict, where: str) -> tuple[dict, str]:
    slug = _text(plan, "slug", where, required=True)
    where = f"{where} ({slug})"
    if not ID_RE.fullmatch(slug) and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", slug):
        raise PledgepackError(f"{where}: the slug cannot be an id")
    status = _status(plan.get("status"), where)
    due = plan.get("due_date")
    if due is not None:
        try:
            due = dt.date.fromisoformat(due).isoformat()
        except (TypeError, ValueError):
            raise PledgepackError(f"{where}: due_date {due!r} is not YYYY-MM-DD") from None
    updates = plan.get("updates") or []
    if not isinstance(updates, list) or not all(isinstance(u, dict) for u in updates):
        raise PledgepackError(f"{where}: updates is not a list of updates")
    dated = []
    for n, update in enumerate(updates, 1):
        at = f"{where}: update {n}"
        dated.append((_moment(update.get("timestamp"), at), -n, update, at))
    # The API lists updates newest first; the history runs oldest first, by the instant (two
    # offsets do not sort as text).
    dated.sort(key=lambda d: (d[0], d[1]))
    history, reports, listed = [], [], []
    for moment, _, update, at in dated:
        day = moment.date().isoformat()
        note, url = _text(update, "title", at), _text(update, "url", at)
        if url is not None and not URL_RE.match(url):
            raise PledgepackError(f"{at}: url {url!r} is not a web address")
        if update.get("status"):
            code = _status(update["status"], at)
            history.append({"date": day, "status": STATUS_MAP[code], "source": "govplan",
                            "govplan_status": code, "rating": _rating(update.get("rating"), at),
                            "note": note, "url": url})
        if url:
            reports.append({"title": note, "url": url})
        listed.append(f"- {day}: {_one_line(note or '(ohne Titel)')}"
                      + (f" ({url})" if url else ""))
    measure_text = _text(plan, "measure", where)
    entry = {"id": slug, "summary": _one_line(_text(plan, "title", where, required=True)),
             "status": STATUS_MAP[status], "govplan_status": status,
             "rating": _rating(plan.get("rating"), where),
             "last_update": dated[-1][0].date().isoformat() if dated else None,
             "deadline": due,
             "measure": _measure(measure_text), "reports": reports, "history": history}
    quote = _text(plan, "quote", where)
    parts = [f"## {entry['summary']}", ""]
    if quote:
        # Brackets would end the anchor early.
        parts += [f"[{quote.replace('[', '(').replace(']', ')').strip()}](#{slug})", ""]
    description = _text(plan, "description", where)
    if description:
        # A link to "#..." in the description would read as another pledge's anchor.
        parts += [_no_fragment_links(description.strip()), ""]
    if measure_text:
        parts += [f"Maßnahme: {_one_line(measure_text)}", ""]
    site_url = _text(plan, "site_url", where)
    if site_url:
        parts += [f"froide-govplan: <{site_url}>", ""]
    if plan.get("properties"):
        parts += ["Eigenschaften: `" + json.dumps(plan["properties"], ensure_ascii=False,
                                                  sort_keys=True) + "`", ""]
    if listed:
        parts += ["Updates:", "", *listed, ""]
    return entry, "\n".join(parts)


def _yaml(value) -> str:
    return "null" if value is None else _quote(value) if isinstance(value, str) else str(value)


def _render_chapter(entries: list[dict], bodies: list[str]) -> str:
    lines = ["---", 'title: "Vorhaben"', "order: 1", "published: true"]
    lines.append("statements:" if entries else "statements: []")
    for e in entries:
        lines.append(f"  - id: {_quote(e['id'])}")
        for key in ("summary", "status", "govplan_status", "rating", "last_update", "deadline",
                    "measure"):
            if e[key] is not None:
                lines.append(f"    {key}: {_yaml(e[key])}")
        if e["reports"]:
            lines.append("    reports:")
            for r in e["reports"]:
                lines.append(f"      - title: {_yaml(r['title'])}")
                lines.append(f"        url: {_yaml(r['url'])}")
        if e["history"]:
            lines.append("    history:")
            for h in e["history"]:
                lines.append(f"      - date: {_yaml(h['date'])}")
                for key in ("status", "source", "govplan_status", "rating", "note", "url"):
                    if h[key] is not None:
                        lines.append(f"        {key}: {_yaml(h[key])}")
    lines.append("---")
    return "\n".join(lines) + "\n" + "\n".join(bodies)


# A plan's description is froide-govplan's text, not a pledge: its links to a fragment
# (inline, or a reference definition) are kept as text, so that the chapter's only anchors
# are the plans themselves.
_INLINE_FRAGMENT_RE = re.compile(r"\]\((\s*<?#)")
_DEFINITION_FRAGMENT_RE = re.compile(r"^(\s{0,3})\[([^\]\n]+)\]:(\s*<?#)", re.M)


def _no_fragment_links(text: str) -> str:
    text = _INLINE_FRAGMENT_RE.sub(r"]\\(\1", text)
    return _DEFINITION_FRAGMENT_RE.sub(r"\1\\[\2]:\3", text)
