"""The content model: immutable records, one per row of the published tables.

Records are named tuples with their fields in the order of the table's columns,
so that a list of them turns into columns with one zip. Dates are ISO strings
(YYYY-MM-DD), cheap to pass between processes; the tables give them their type.
"""
from __future__ import annotations

import datetime as dt
from typing import NamedTuple


class Document(NamedTuple):
    document_id: str
    title: str
    kind: str | None = None
    jurisdiction: str | None = None
    parties: tuple[str, ...] | None = None
    date: str | None = None
    source_url: str | None = None
    source_note: str | None = None
    license: str | None = None
    license_note: str | None = None


class Section(NamedTuple):
    section_id: str
    document_id: str
    title: str
    number: str | None
    numeral: str | None
    order: int | None
    published: bool
    redirect_url: str | None
    path: str
    text: str | None


class Statement(NamedTuple):
    statement_id: str
    document_id: str
    section_id: str
    id: str
    summary: str
    quote: str | None
    status: str
    last_update: str | None
    deadline: str | None
    categories: tuple[str, ...] | None
    responsible: str | None
    measure: str | None
    position: int
    line: int | None
    anchored: bool
    govplan_status: str | None = None
    rating: int | None = None


class Report(NamedTuple):
    statement_id: str
    position: int
    title: str | None
    url: str


class Current(NamedTuple):
    """What the history reads of a statement as the content has it now."""

    statement_id: str
    status: str
    last_update: str | None


# The statements' columns the history reads, and so what the kept rows must hold.
HISTORY_COLUMNS = Current._fields


class StatusChange(NamedTuple):
    statement_id: str
    seq: int
    # When the event was recorded: the commit's committer time (git events only).
    recorded_at: dt.datetime | None
    event: str
    status: str | None
    previous_status: str | None
    source: str
    commit: str | None = None
    author: str | None = None
    authored_at: dt.datetime | None = None
    path: str | None = None
    last_update: str | None = None
    note: str | None = None
    url: str | None = None
    govplan_status: str | None = None
    rating: int | None = None
    # The day the status took effect and whose date that is (see history/timeline.py).
    effective_date: str | None = None
    effective_date_source: str | None = None


class Recorded(NamedTuple):
    """A status event written by hand in a statement's 'history:' list, for events that
    predate the repository."""

    statement_id: str
    date: str
    status: str
    note: str | None
    url: str | None
    path: str
    source: str = "front_matter"
    govplan_status: str | None = None
    rating: int | None = None


class Content(NamedTuple):
    """Everything read from a content folder, ready to become tables."""

    documents: tuple[Document, ...]
    sections: tuple[Section, ...]
    statements: tuple[Statement, ...]
    reports: tuple[Report, ...]
    diagnostics: tuple  # of errors.Diagnostic, sorted by place
    recorded: tuple[Recorded, ...] = ()
    # The package's own metadata from the content folder's package.yaml (see content/metadata.py).
    package: dict | None = None
    # Each chapter in order, with how many rows it gave each table (content/cache.py's
    # CachedChapter). A rebuild takes an unchanged chapter's rows from the rows the last build
    # kept, `cached` (package/rowcache.py's CachedRows); sections, statements, reports and
    # recorded then hold only the rows of the other chapters, and the tables put the two
    # together.
    layout: tuple = ()
    cached: object | None = None
    # The rows the workers of this build sent as Arrow tables, by table of rowcache.TABLES;
    # a chapter of `layout` marked `parsed` has its rows there, not in the tuples above.
    parsed: dict | None = None
