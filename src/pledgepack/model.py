"""The content model: plain frozen records, one per row of the published tables."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Document:
    document_id: str
    title: str
    kind: str | None = None
    jurisdiction: str | None = None
    parties: tuple[str, ...] | None = None
    date: dt.date | None = None
    source_url: str | None = None
    license: str | None = None


@dataclass(frozen=True, slots=True)
class Section:
    section_id: str
    document_id: str
    title: str
    number: str | None
    numeral: str | None
    order: int | None
    published: bool
    redirect_url: str | None
    path: str
    text: str


@dataclass(frozen=True, slots=True)
class Report:
    statement_id: str
    position: int
    title: str | None
    url: str


@dataclass(frozen=True, slots=True)
class Statement:
    statement_id: str
    document_id: str
    section_id: str
    id: str
    summary: str
    quote: str | None
    status: str
    last_update: dt.date | None
    deadline: dt.date | None
    categories: tuple[str, ...] | None
    responsible: str | None
    measure: str | None
    position: int
    line: int | None
    anchored: bool


@dataclass(frozen=True, slots=True)
class StatusChange:
    statement_id: str
    seq: int
    valid_from: dt.datetime | None
    event: str
    status: str | None
    previous_status: str | None
    source: str
    commit: str | None = None
    author: str | None = None
    authored_at: dt.datetime | None = None
    path: str | None = None
    last_update: dt.date | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Content:
    """Everything read from a content folder, ready to become tables."""

    documents: tuple[Document, ...]
    sections: tuple[Section, ...]
    statements: tuple[Statement, ...]
    reports: tuple[Report, ...]
    diagnostics: tuple  # of errors.Diagnostic, warnings only when reading succeeded
