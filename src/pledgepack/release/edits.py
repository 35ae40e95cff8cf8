"""What changed in the statements both releases hold, beyond their status: the editors' summary,
deadline, categories, responsible body and measure, and the reports cited for them.

Read from the two packages' statements and reports tables only, like the rest of the changelog.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# The statement fields a consumer follows, in the order the changelog lists them.
FIELDS = ("summary", "deadline", "categories", "responsible", "measure")


@dataclass(frozen=True)
class Edit:
    """One field of a statement that differs between the releases; None where it is empty."""

    statement_id: str
    field: str
    before: object
    after: object


@dataclass(frozen=True)
class ReportChange:
    """A report cited for a statement in one release and not in the other (told by its URL)."""

    statement_id: str
    title: str | None
    url: str
    added: bool


def _value(row: dict, name: str):
    value = row.get(name)
    if isinstance(value, (list, tuple)):
        return tuple(value) or None
    return value if value != "" else None


def field_edits(before: dict[str, dict], now: dict[str, dict]) -> list[Edit]:
    """The fields of FIELDS that differ, for each statement in both `before` and `now`
    (statement id -> row), by statement id and then in FIELDS order. A field one package does
    not have is not compared."""
    edits = []
    for sid in sorted(before.keys() & now.keys()):
        old, new = before[sid], now[sid]
        for name in FIELDS:
            if name not in old or name not in new:
                continue
            a, b = _value(old, name), _value(new, name)
            if a != b:
                edits.append(Edit(sid, name, a, b))
    return edits


def report_changes(before: list[dict], now: list[dict], statements: set[str]) -> list[ReportChange]:
    """Reports added to or removed from the statements in `statements` (those both releases
    hold; reports of added or removed statements come and go with them), by statement id,
    removed before added, then URL."""
    def urls(rows: list[dict]) -> dict[tuple[str, str], dict]:
        return {(r["statement_id"], r["url"]): r for r in rows if r["statement_id"] in statements}

    old, new = urls(before), urls(now)
    found = [ReportChange(sid, row.get("title"), url, False)
             for (sid, url), row in old.items() if (sid, url) not in new]
    found += [ReportChange(sid, row.get("title"), url, True)
              for (sid, url), row in new.items() if (sid, url) not in old]
    return sorted(found, key=lambda c: (c.statement_id, c.added, c.url))


def shown(value) -> str:
    """A field's value as the changelog writes it (not yet escaped)."""
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return "; ".join(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
