"""The status_history rows: git events, hand-written history entries and snapshots, merged.

Each statement's events are put in time order and numbered (seq); previous_status is then
the status of the event before, whatever its source, so the chain is whole.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from ..model import Content, StatusChange

# History entries (front matter, and those imported from froide-govplan) come before git events
# at the same instant: they describe what happened before the repository knew about it.
_RECORDED, _GIT, _SNAPSHOT = 0, 1, 2
_NEVER = dt.datetime.max.replace(tzinfo=dt.timezone.utc)


def _midnight(day: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc) if day else None


def merge_history(content: Content, git_changes: list[StatusChange] | None) -> list[StatusChange]:
    """All status_history rows. Without git (git_changes None) every statement gets a snapshot
    row; with git, only those whose status in the content differs from the last committed one
    (an uncommitted edit) or that git never saw. Git events of statements that exist but are not
    published are left out; those of statements since removed are kept."""
    current = {s.statement_id: s for s in content.statements}
    events: dict[str, list[tuple]] = defaultdict(list)
    for n, r in enumerate(content.recorded):
        events[r.statement_id].append((_midnight(r.date), _RECORDED, n, StatusChange(
            statement_id=r.statement_id, seq=0, valid_from=_midnight(r.date), event="recorded",
            status=r.status, previous_status=None, source=r.source, path=r.path,
            note=r.note, url=r.url, govplan_status=r.govplan_status, rating=r.rating)))
    committed: dict[str, str | None] = {}
    if git_changes is not None:
        last_event = {c.statement_id: c.event for c in git_changes}
        for n, change in enumerate(git_changes):
            sid = change.statement_id
            if sid in current or last_event[sid] == "removed":
                events[sid].append((change.valid_from, _GIT, n, change))
                committed[sid] = change.status
    for sid, statement in current.items():
        if git_changes is None or committed.get(sid, "none") != statement.status:
            since = _midnight(statement.last_update) if git_changes is None else None
            events[sid].append((_NEVER, _SNAPSHOT, 0, StatusChange(
                statement_id=sid, seq=0, valid_from=since, event="snapshot",
                status=statement.status, previous_status=None, source="snapshot",
                path=None, last_update=statement.last_update)))
    rows = []
    for sid in sorted(events):
        previous = None
        ordered = sorted(events[sid], key=lambda e: (e[0] or _NEVER, e[1], e[2]))
        for seq, (_, _, _, change) in enumerate(ordered, 1):
            rows.append(change._replace(seq=seq, previous_status=previous))
            previous = change.status
    return rows
