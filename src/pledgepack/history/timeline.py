"""The status_history rows: git events, hand-written history entries and snapshots, merged.

Every event has two times. `recorded_at` is when the repository learnt of it (the commit);
`effective_date` is the day the status took effect, and `effective_date_source` says whose
date that is:

- `editor`: the editors' own date written with the status (the `last_update` of that version,
  or a `history:` entry's `date`), used when it is a valid date not after the commit's day and,
  for a change of status, when it was written anew with the change (a status changed under the
  date of the review before it was not reviewed on that date); a status first recorded without
  such a date takes the first date the editors write for it later, when that is earlier than
  its commit's day (content committed in bulk, dated in a later commit);
- `commit`: otherwise, the commit's day (UTC); a removal always takes the commit's day;
- `previous_event`: the editors' date was earlier than the effective date of the statement's
  event before; dates never go backwards along `seq`, so it is raised to that date.

Order (`seq`): git events in the order of their commits; a history entry (written in the front
matter, or imported from froide-govplan) goes before the first git event that takes effect on
or after its date, so on the same day the history entry comes first; a snapshot (the work
tree's uncommitted status) last. previous_status is the status of the event
before, whatever its source, so the chain is whole.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from ..model import Content, StatusChange
from .walk import DATED

EDITOR, COMMIT, PREVIOUS = "editor", "commit", "previous_event"


def _valid_day(text: str | None) -> str | None:
    try:
        return dt.date.fromisoformat(text).isoformat() if text else None
    except ValueError:
        return None


def _utc_day(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).date().isoformat()


def _git_dates(changes: list[StatusChange]) -> tuple[list[StatusChange], list[tuple[str, str]]]:
    """One statement's git events in commit order, without the `dated` rows, and the (day,
    source) of each before raising. A `dated` row (a new last_update for an unchanged status)
    dates the event before it when that event had no date of the editors and the new date is
    earlier than its commit's day: a status first recorded without a date, reviewed later."""
    events, dates, written = [], [], None
    for change in changes:
        commit_day = _utc_day(change.recorded_at)
        editors = _valid_day(change.last_update)
        if change.event == DATED:
            if (events and events[-1].event != "removed" and dates[-1][1] == COMMIT
                    and editors and editors <= commit_day and editors < dates[-1][0]):
                dates[-1] = (editors, EDITOR)
            written = change.last_update
            continue
        fresh = change.event == "added" or change.last_update != written
        if change.event != "removed" and editors and editors <= commit_day and fresh:
            dates.append((editors, EDITOR))
        else:
            dates.append((commit_day, COMMIT))
        events.append(change)
        if change.event != "removed":
            written = change.last_update
    return events, dates


def _chain(recorded: list[StatusChange], git: list[StatusChange],
           snapshot: StatusChange | None) -> list[StatusChange]:
    """One statement's rows in order, with seq, previous_status and the effective date."""
    git, git_dates = _git_dates(git)
    raised, floor = [], ""
    for day, _ in git_dates:
        floor = max(floor, day)
        raised.append(floor)
    entries = sorted(recorded, key=lambda r: r.effective_date)
    ordered: list[tuple[StatusChange, str | None, str | None]] = []
    for change, (day, source), bound in zip(git, git_dates, raised):
        while entries and entries[0].effective_date <= bound:
            entry = entries.pop(0)
            ordered.append((entry, entry.effective_date, EDITOR))
        ordered.append((change, day, source))
    ordered.extend((entry, entry.effective_date, EDITOR) for entry in entries)
    if snapshot is not None:
        day = _valid_day(snapshot.last_update)
        ordered.append((snapshot, day, EDITOR if day else None))
    rows, previous, floor = [], None, None
    for seq, (change, day, source) in enumerate(ordered, 1):
        if day is not None and floor is not None and day < floor:
            day, source = floor, PREVIOUS
        floor = day if day is not None else floor
        rows.append(change._replace(seq=seq, previous_status=previous, effective_date=day,
                                    effective_date_source=source))
        previous = change.status
    return rows


def merge_history(content: Content, git_changes: list[StatusChange] | None) -> list[StatusChange]:
    """All status_history rows. Without git (git_changes None) every statement gets a snapshot
    row; with git, only those whose status in the content differs from the last committed one
    (an uncommitted edit) or that git never saw. Git events of statements that exist but are not
    published are left out; those of statements since removed are kept."""
    current = {s.statement_id: s for s in content.statements}
    recorded: dict[str, list[StatusChange]] = defaultdict(list)
    for r in sorted(content.recorded, key=lambda r: r.date):
        recorded[r.statement_id].append(StatusChange(
            statement_id=r.statement_id, seq=0, recorded_at=None, event="recorded",
            status=r.status, previous_status=None, source=r.source, path=r.path,
            note=r.note, url=r.url, govplan_status=r.govplan_status, rating=r.rating,
            effective_date=r.date))
    git: dict[str, list[StatusChange]] = defaultdict(list)
    if git_changes is not None:
        last_event = {c.statement_id: c.event for c in git_changes if c.event != DATED}
        for change in git_changes:
            sid = change.statement_id
            if sid in current or last_event.get(sid) == "removed":
                git[sid].append(change)
    snapshots = {}
    for sid, statement in current.items():
        events = [c for c in git.get(sid, ()) if c.event != DATED]
        committed = events[-1].status if events else "none"
        if git_changes is None or committed != statement.status:
            snapshots[sid] = StatusChange(
                statement_id=sid, seq=0, recorded_at=None, event="snapshot",
                status=statement.status, previous_status=None, source="snapshot",
                path=None, last_update=statement.last_update)
    rows = []
    for sid in sorted(set(recorded) | set(git) | set(snapshots)):
        rows.extend(_chain(recorded.get(sid, []), git.get(sid, []), snapshots.get(sid)))
    return rows
