"""Find the documents and chapters of a content folder and turn them into the model.

`content/<document>/document.yaml` plus `*.md` chapters is one document; a bare
folder of chapters (a Jekyll tracker's `_chapters/`) is one document too.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .chapter import (LIST_DELIMITER, ParsedChapter, YamlProblem, decode, entry_line,
                      load_yaml, nfc, parse_chapter, parse_date, text_value)
from .errors import ERROR, WARNING, ContentError, Diagnostic
from .model import Content, Document, Report, Section, Statement
from .schema import PackageSchema

DOCUMENT_FILE = "document.yaml"
DOCUMENT_KEYS = {"title", "kind", "jurisdiction", "parties", "date", "source_url", "license"}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
URL_RE = re.compile(r"^https?://\S+$")
# Below this many chapters a worker pool costs more than it saves.
PARALLEL_MIN_FILES = 64

Progress = Callable[[str, int, int], None]


@dataclass
class _DocumentSource:
    document_id: str
    folder: Path
    meta_file: Path | None
    chapters: list[Path]
    id_place: str


class _Reader:
    def __init__(self, root: Path, schema: PackageSchema):
        self.root = root
        self.real_root = root.resolve()
        self.schema = schema
        self.diagnostics: list[Diagnostic] = []

    def display(self, path: Path) -> str:
        return str(self.root / path.relative_to(self.root))

    def add(self, path, line, severity, message, hint="") -> None:
        self.diagnostics.append(Diagnostic(str(path), line, severity, message, hint))

    def inside(self, path: Path) -> bool:
        """False, with an error, for a path that leads out of the content folder."""
        real = path.resolve()
        if real == self.real_root or self.real_root in real.parents:
            return True
        self.add(self.display(path), None, ERROR,
                 f"symbolic link leads out of the content folder (to {real})",
                 "copy the file into the content folder instead of linking to it")
        return False

    def discover(self, document_id: str | None) -> list[_DocumentSource]:
        root = self.root
        if not root.is_dir():
            self.add(root, None, ERROR, "content folder not found",
                     "give the folder that holds the documents with --content")
            return []
        if (root / DOCUMENT_FILE).exists() or self._chapter_files(root):
            name = document_id or _slug(root.resolve().name)
            place = "--document-id" if document_id else f"the folder name {root.resolve().name!r}"
            meta = root / DOCUMENT_FILE
            return [_DocumentSource(name, root, meta if meta.exists() else None,
                                    self._chapter_files(root), place)]
        if document_id:
            self.add(root, None, ERROR, "--document-id applies to a folder of chapters, but this "
                     "folder holds several documents", "leave out --document-id")
        sources = []
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not _hidden(p)):
            if not self.inside(folder):
                continue
            chapters = self._chapter_files(folder)
            meta = folder / DOCUMENT_FILE
            if not meta.exists():
                if chapters:
                    self.add(self.display(folder), None, ERROR,
                             f"document folder has no {DOCUMENT_FILE}",
                             f"add {DOCUMENT_FILE} with at least 'title: ...'")
                continue
            sources.append(_DocumentSource(nfc(folder.name), folder, meta, chapters,
                                           f"the folder name {folder.name!r}"))
        if not sources and not self.diagnostics:
            self.add(root, None, ERROR, "no documents found",
                     f"put each document in a folder with {DOCUMENT_FILE} and its chapters (*.md)")
        return sources

    def _chapter_files(self, folder: Path) -> list[Path]:
        files = []
        for path in sorted(folder.iterdir()):
            if path.suffix == ".md" and not _hidden(path) and self.inside(path):
                if path.is_file():
                    files.append(path)
        return files

    def document(self, source: _DocumentSource, title: str | None) -> Document | None:
        meta: dict = {}
        display = self.display(source.meta_file) if source.meta_file else str(self.root)
        if not ID_RE.match(source.document_id):
            self.add(display, None, ERROR,
                     f"document id {source.document_id!r} (from {source.id_place}) is not usable",
                     "use lower-case letters, digits, '.', '_' and '-', starting with a letter "
                     "or digit (rename the folder, or pass --document-id)")
        if source.meta_file is not None:
            if not self.inside(source.meta_file):
                return None
            text = decode(source.meta_file.read_bytes(), display, self.diagnostics)
            if text is None:
                return None
            try:
                meta = load_yaml(text, 1) or {}
            except YamlProblem as exc:
                self.add(display, exc.line, ERROR, exc.message, exc.hint)
                return None
            if not isinstance(meta, dict):
                self.add(display, 1, ERROR, f"{DOCUMENT_FILE} is not a mapping of keys",
                         "write 'title: ...' and the other fields as 'key: value' lines")
                return None
        return self._document_fields(source.document_id, meta, title, display,
                                     text if source.meta_file else "")

    def _document_fields(self, document_id, meta, title, display, text) -> Document | None:
        def line(key):
            match = re.search(rf"^{re.escape(key)}\s*:", text, re.MULTILINE)
            return text.count("\n", 0, match.start()) + 1 if match else None

        errors = len(self.diagnostics)

        def bad(key, message, hint):
            self.add(display, line(key), ERROR, message, hint)

        values = {}
        for key in ("title", "kind", "jurisdiction", "source_url", "license"):
            try:
                values[key] = text_value(meta.get(key))
            except TypeError:
                bad(key, f"'{key}' must be text", f"write '{key}: ...' on one line")
        values["title"] = title or values.get("title")
        if not values.get("title"):
            bad("title", "the document has no title",
                f"add 'title: ...' to {DOCUMENT_FILE}, or pass --document-title")
        if values.get("kind") and values["kind"] not in self.schema.kinds:
            bad("kind", f"unknown kind {values['kind']!r}", "use one of: " + ", ".join(self.schema.kinds))
        if values.get("source_url") and not URL_RE.match(values["source_url"]):
            bad("source_url", f"source_url {values['source_url']!r} is not an http(s) URL",
                "write the full address, starting with https://")
        try:
            values["date"] = parse_date(meta.get("date"))
        except ValueError:
            bad("date", f"date {meta.get('date')!r} is not a valid date", "write it as YYYY-MM-DD")
        parties = meta.get("parties")
        if parties is not None:
            items = parties if isinstance(parties, list) else [parties]
            if not all(isinstance(p, str) and p.strip() and LIST_DELIMITER not in p for p in items):
                bad("parties", "parties must be a list of names",
                    f"write one '- name' line per party; names cannot contain '{LIST_DELIMITER}'")
            else:
                values["parties"] = tuple(p.strip() for p in items) or None
        for key in sorted(set(meta) - DOCUMENT_KEYS, key=str):
            self.add(display, line(str(key)), WARNING, f"unknown field {key!r} is ignored",
                     "known fields: " + ", ".join(sorted(DOCUMENT_KEYS)))
        if any(d.severity == ERROR for d in self.diagnostics[errors:]):
            return None
        return Document(document_id=document_id, **values)


def _hidden(path: Path) -> bool:
    return path.name.startswith(".")


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", nfc(name).lower()).strip("-._")
    return slug or "document"


def _parse_task(task: tuple) -> ParsedChapter:
    return parse_chapter(*task)


def _parse_all(tasks: list[tuple], jobs: int, progress: Progress | None) -> list[ParsedChapter]:
    total = len(tasks)
    if jobs <= 1 or total < PARALLEL_MIN_FILES:
        out = []
        for n, task in enumerate(tasks, 1):
            out.append(_parse_task(task))
            if progress:
                progress("parse", n, total)
        return out
    import multiprocessing

    chunk = max(1, total // (jobs * 8))
    context = multiprocessing.get_context("forkserver")
    out = []
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        for n, parsed in enumerate(pool.map(_parse_task, tasks, chunksize=chunk), 1):
            out.append(parsed)
            if progress:
                progress("parse", n, total)
    return out


def read_content(root: Path | str, schema: PackageSchema, *, include_unpublished: bool = False,
                 document_id: str | None = None, document_title: str | None = None,
                 jobs: int = 1, progress: Progress | None = None) -> Content:
    """Read every document under `root`. Raises ContentError listing every problem on errors."""
    reader = _Reader(Path(root), schema)
    sources = reader.discover(document_id)
    if document_title and len(sources) > 1:
        reader.add(root, None, ERROR, "--document-title applies to a single document",
                   "leave out --document-title")
    documents, tasks, owners = [], [], []
    for source in sources:
        doc = reader.document(source, document_title)
        if doc is not None:
            documents.append(doc)
        for path in source.chapters:
            tasks.append((path, reader.display(path), path.relative_to(reader.root).as_posix(),
                          schema.statuses, schema.measures))
            owners.append(source.document_id)
    parsed = _parse_all(tasks, jobs, progress)
    sections, statements, reports = [], [], []
    by_document: dict[str, dict[str, _Place]] = {}
    for document, chapter in zip(owners, parsed):
        reader.diagnostics.extend(chapter.diagnostics)
        if any(d.severity == ERROR for d in chapter.diagnostics):
            continue
        seen = by_document.setdefault(document, {})
        section, rows, reps = _merge(document, chapter, seen, reader)
        if section.published or include_unpublished:
            sections.append(section)
            statements.extend(rows)
            reports.extend(reps)
    diagnostics = sorted(reader.diagnostics, key=Diagnostic.sort_key)
    if any(d.severity == ERROR for d in diagnostics):
        raise ContentError(diagnostics)
    return Content(documents=tuple(documents), sections=tuple(sections),
                   statements=tuple(statements), reports=tuple(reports),
                   diagnostics=tuple(diagnostics))


class _Place:
    """Where an id was first used; the line is looked up only if a duplicate needs it."""

    def __init__(self, chapter: ParsedChapter, index: int | None, line: int | None = None):
        self.chapter, self.index, self.line = chapter, index, line

    def __str__(self) -> str:
        line = self.line if self.index is None else entry_line(self.chapter, self.index)
        return f"{self.chapter.display}:{line}"


def _merge(document_id: str, chapter: ParsedChapter, seen: dict[str, _Place], reader: _Reader):
    """Join front-matter entries and body anchors by id into the chapter's statements."""
    display = chapter.display
    stem = nfc(Path(chapter.relpath).stem)
    section_id = f"{document_id}/{stem}"
    section = Section(section_id=section_id, document_id=document_id, title=chapter.title,
                      number=chapter.number, numeral=chapter.numeral, order=chapter.order,
                      published=chapter.published, redirect_url=chapter.redirect_url,
                      path=chapter.relpath, text=chapter.body)
    def line(entry) -> int | None:
        return entry_line(chapter, entry.index)

    entries = {}
    for entry in chapter.entries:
        if entry.id in entries:
            reader.add(display, line(entry), ERROR,
                       f"duplicate id {entry.id!r}: also used at line {line(entries[entry.id])}",
                       "give each statement its own id")
            continue
        entries[entry.id] = entry
        if entry.id in seen:
            reader.add(display, line(entry), ERROR,
                       f"duplicate id {entry.id!r}: also used in {seen[entry.id]}",
                       "ids must be unique within a document; rename one of them")
        else:
            seen[entry.id] = _Place(chapter, entry.index)
    anchors = {}
    for anchor in chapter.anchors:
        if anchor.id in anchors:
            first = anchors[anchor.id]
            reader.add(display, anchor.line, WARNING,
                       f"anchor #{anchor.id} appears again (first at line {first.line})",
                       "anchor each pledge once; link to it elsewhere with plain text")
            continue
        anchors[anchor.id] = anchor
        if anchor.id not in entries:
            reader.add(display, anchor.line, WARNING,
                       f"anchor #{anchor.id} has no front-matter entry; published as "
                       "not_implemented with the anchor text as summary",
                       "add it to 'statements:' (pledgepack sync does this)")
            if anchor.id in seen:
                reader.add(display, anchor.line, ERROR,
                           f"duplicate id {anchor.id!r}: also used in {seen[anchor.id]}",
                           "ids must be unique within a document; rename one of them")
            seen.setdefault(anchor.id, _Place(chapter, None, anchor.line))
    order = list(anchors) + [sid for sid in entries if sid not in anchors]
    statements, reports = [], []
    for position, sid in enumerate(order, 1):
        entry, anchor = entries.get(sid), anchors.get(sid)
        statement_id = f"{document_id}/{sid}"
        if entry is None:
            statements.append(Statement(
                statement_id=statement_id, document_id=document_id, section_id=section_id,
                id=sid, summary=anchor.quote, quote=anchor.quote or None, status="not_implemented",
                last_update=None, deadline=None, categories=None, responsible=None, measure=None,
                position=position, line=anchor.line, anchored=True))
            continue
        if anchor is None:
            reader.add(display, line(entry), WARNING,
                       f"statement {sid!r} is not anchored in the text",
                       f"mark the pledge in the text as [text](#{sid})")
        summary = entry.summary or (anchor.quote if anchor else None)
        if summary is None:
            reader.add(display, line(entry), ERROR, f"statement {sid!r} has no summary",
                       "write a 'summary:' or anchor the statement in the text")
            continue
        statements.append(Statement(
            statement_id=statement_id, document_id=document_id, section_id=section_id, id=sid,
            summary=summary, quote=(anchor.quote or None) if anchor else None, status=entry.status,
            last_update=entry.last_update, deadline=entry.deadline, categories=entry.categories,
            responsible=entry.responsible, measure=entry.measure, position=position,
            line=anchor.line if anchor else None, anchored=anchor is not None))
        reports.extend(Report(statement_id=statement_id, position=n, title=title, url=url)
                       for n, (title, url) in enumerate(entry.reports, 1))
    return section, statements, reports

