"""Find the documents and chapters of a content folder and turn them into the model.

`content/<document>/document.yaml` plus `*.md` chapters is one document; a bare
folder of chapters (a Jekyll tracker's `_chapters/`) is one document too.
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ERROR, WARNING, ContentError, Diagnostic
from ..model import Content, Document, Recorded, Report, Section, Statement
from ..schema import LIST_DELIMITER, PackageSchema
from .cache import CachedChapter, ChapterCache, decode_entry, encode_entry
from .chapter import ChapterResult, parse_chapter
from .metadata import read_metadata
from .yamltext import (
    Lines,
    YamlProblem,
    conflict_line,
    decode,
    load_yaml,
    nfc,
    parse_date,
    split_front_matter,
    text_value,
)

DOCUMENT_FILE = "document.yaml"
DOCUMENT_KEYS = {"title", "kind", "jurisdiction", "parties", "date", "source_url", "source_note",
                 "license", "license_note"}
# What the package says where a document's source does not say.
NOT_STATED = "not stated"
# Matched whole (fullmatch): "$" would let a trailing newline through.
ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
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
        self.default_title: str | None = None

    def display(self, path: Path) -> str:
        return str(self.root / self.relative(path))

    def relative(self, path: Path) -> str:
        """`path` relative to the content folder, in posix form (`path` lies in it, as the
        paths discover finds do)."""
        text, root = str(path), str(self.root)
        if os.sep == "/" and root not in (".", "") and text.startswith(root + "/"):
            return text[len(root) + 1:]  # what relative_to gives, without its cost per file
        return path.relative_to(self.root).as_posix()

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
        chapters = self._chapter_files(root)
        if (root / DOCUMENT_FILE).exists() or chapters:
            folder = root.resolve()
            # A Jekyll collection folder (_chapters) is named after the site that holds it.
            if folder.name.startswith("_"):
                folder = folder.parent
            name = document_id or slug(folder.name)
            place = "--document-id" if document_id else f"the folder name {folder.name!r}"
            meta = root / DOCUMENT_FILE
            if not meta.exists():
                self.default_title = folder.name
            return [_DocumentSource(name, root, meta if meta.exists() else None, chapters, place)]
        if document_id:
            self.add(root, None, ERROR, "--document-id applies to a folder of chapters, but this "
                     "folder holds several documents", "leave out --document-id")
        sources = []
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not hidden(p)):
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
        """The chapters of `folder`, which lies inside the content folder."""
        files, stems = [], {}
        for path in sorted(folder.iterdir()):
            if path.suffix != ".md" or hidden(path):
                continue
            link = path.is_symlink()
            if link and not path.exists():
                self.add(self.display(path), None, ERROR,
                         f"symbolic link to {os.readlink(path)}, which does not exist",
                         "point the link at an existing chapter, or remove it")
                continue
            # `folder` is inside the content folder (discover checks it), and so is an entry
            # of it that is not a link: only links are resolved.
            if link and not self.inside(path):
                continue
            if not path.is_file():
                self.add(self.display(path), None, WARNING, "not a file, so not a chapter",
                         "rename the folder so that its name does not end in .md")
                continue
            # The section id is the file's name in NFC: two names that differ only in their
            # Unicode normalisation would give one id twice.
            stem = nfc(path.stem)
            if stem in stems:
                self.add(self.display(path), None, ERROR,
                         f"file name is the same as {stems[stem].name!r} in another Unicode "
                         "normalisation", "rename one of the two files")
                continue
            stems[stem] = path
            files.append(path)
        return files

    def document(self, source: _DocumentSource, title: str | None) -> Document | None:
        meta: dict = {}
        display = self.display(source.meta_file) if source.meta_file else str(self.root)
        if not ID_RE.fullmatch(source.document_id):
            self.add(display, None, ERROR,
                     f"document id {source.document_id!r} (from {source.id_place}) is not usable",
                     "use lower-case letters, digits, '.', '_' and '-', starting with a letter "
                     "or digit (rename the folder, or pass --document-id)")
        if source.meta_file is not None:
            if not self.inside(source.meta_file):
                return None
            if not source.meta_file.is_file():
                self.add(display, None, ERROR, f"{DOCUMENT_FILE} is not a file",
                         f"write the document's fields into a file {DOCUMENT_FILE}")
                return None
            text = decode(source.meta_file.read_bytes(), display, self.diagnostics)
            if text is None:
                return None
            conflict = conflict_line(text)
            if conflict is not None:
                self.add(display, conflict, ERROR, "unresolved merge conflict",
                         "keep one side between the <<<<<<< and >>>>>>> lines and delete the "
                         "marker lines")
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
        for key in ("title", "kind", "jurisdiction", "source_url", "source_note", "license",
                    "license_note"):
            try:
                values[key] = text_value(meta.get(key))
            except TypeError:
                bad(key, f"'{key}' must be text", f"write '{key}: ...' on one line")
        values["title"] = title or values.get("title") or self.default_title
        if not values.get("title"):
            bad("title", "the document has no title",
                f"add 'title: ...' to {DOCUMENT_FILE}, or pass --document-title")
        if values.get("kind") and values["kind"] not in self.schema.kinds:
            bad("kind", f"unknown kind {values['kind']!r}",
                "use one of: " + ", ".join(self.schema.kinds))
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
        self._provenance(values, display, line)
        return Document(document_id=document_id, **values)

    def _provenance(self, values: dict, display: str, line) -> None:
        """Warn where a document does not say under which licence its text is reproduced, or
        where it comes from; the package then says "not stated", never a guess."""
        if not values.get("license"):
            self.add(display, line("license"), WARNING,
                     f"the document states no licence: the package says {NOT_STATED!r} for it",
                     f"add 'license: <SPDX id>' to {DOCUMENT_FILE} if its source grants one, and "
                     "'license_note: ...' saying where the grant is written")
        if not values.get("source_url") and not values.get("source_note"):
            self.add(display, line("source_url"), WARNING,
                     f"the document does not say where it comes from: the package says "
                     f"{NOT_STATED!r} for its source",
                     f"add 'source_url: https://...' or 'source_note: ...' to {DOCUMENT_FILE}")
        for key in ("license", "license_note", "source_note"):
            values[key] = values.get(key) or NOT_STATED


def hidden(path: Path) -> bool:
    return path.name.startswith(".")


def slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", nfc(name).lower()).strip("-._")
    return slug or "document"


def _read_task(task: tuple) -> ChapterResult:
    return parse_chapter(*task)


def _read_encoded(job: tuple[str, tuple]) -> bytes | ChapterResult:
    """A worker's job: the chapter's result as a cache entry (see cache.encode_entry), or the
    result itself where it cannot be one."""
    key, task = job
    result = parse_chapter(*task)
    data = encode_entry(key, result)
    return result if data is None else data


def _read_batch(job: tuple) -> tuple[list, list, list[bytes]]:
    """A worker's job in a build: a run of chapters ((key, task) pairs) read into their cache
    entries (or results, where one cannot be an entry), each chapter's counts, offsets and
    diagnostics, and the rows they give each of `arrow`'s tables as an Arrow IPC stream: the
    build's process then neither decodes the entries nor turns their values into Arrow. A
    chapter left out of the package (unpublished, without `include_unpublished`) gives no
    rows."""
    import pyarrow as pa

    pairs, arrow = job
    names, include_unpublished = arrow.names, arrow.include_unpublished
    entries, chapters = [], []
    rows: dict[str, list] = {name: [] for name in names}
    totals = [0] * len(names)
    for key, task in pairs:
        result = parse_chapter(*task)
        data = encode_entry(key, result)
        entries.append(result if data is None else data)
        counts = (0, 0, 0, 0)
        if result.ok and not (result.unpublished and not include_unpublished):
            rows["sections"].append(result.section)
            for name in names[1:]:  # statements, reports, recorded
                rows[name].extend(getattr(result, name))
            counts = (1, len(result.statements), len(result.reports), len(result.recorded))
        chapters.append((counts, tuple(totals), result.unpublished, result.ok,
                         _said(result)))
        totals = [t + c for t, c in zip(totals, counts)]
    streams = []
    for name in names:
        table = arrow.table(name, rows[name])
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            if table.num_rows:
                writer.write_table(table, max_chunksize=table.num_rows)
        streams.append(sink.getvalue().to_pybytes())
    return entries, chapters, streams


class UpToDate(Exception):
    """Raised through read_content when `precheck` found, from the chapters' keys alone, that
    the output needs no build: it carries what `precheck` returned."""

    def __init__(self, found):
        super().__init__("up to date")
        self.found = found


def _read_all(tasks: list[tuple], jobs: int, progress: Progress | None,
              cache: ChapterCache, precheck: Callable | None = None,
              rows: Callable | None = None, unsure: Callable | None = None,
              arrow=None):
    """Each chapter's result: from the cache when its bytes were read before, else parsed from
    the very bytes its key was made of (a file edited meanwhile cannot mix two versions).
    `precheck`, given every chapter's key before any is looked up, may end the reading by
    returning something other than None (raised as UpToDate); `unsure` is called once, as soon
    as a chapter must be read to be known (it may have changed). With `arrow` (a function
    that gives package/tables.py's WorkerRows, called only if workers parse), chapters parsed
    by workers send their rows as Arrow tables (_read_batch). Returns the results, the keys,
    the rows `rows()` gave and the rows the workers sent (by table; None if none did); a
    chapter whose rows those hold is a CachedChapter, not decoded."""
    total = len(tasks)
    # The fork server is started, without waiting for it, once enough chapters are not in
    # the state a build read them in to be parsed by workers: it starts while the rest are
    # read and their keys made. A rebuild with a few changed chapters, which parses them
    # here, does not pay for it.
    unknown = 0 if jobs > 1 and total >= PARALLEL_MIN_FILES else None
    results: list[ChapterResult | None] = [None] * total
    # A file in the state a build read it in has the key it had then (ChapterCache.known_key):
    # only the others are read now, each after its state is taken.
    taken = time.time_ns()
    read: list[tuple[bytes | None, tuple]] = []
    keys: list[str] = []
    for task in tasks:
        try:
            state = os.stat(task[0])
        except OSError:
            state = None  # read_bytes says why
        key = cache.known_key(task, state) if state is not None else None
        if key is None and unsure is not None:
            unsure()  # a chapter that may have changed
            unsure = None
        if key is None and unknown is not None:
            unknown += 1
            if unknown == PARALLEL_MIN_FILES:
                from ..workers import warm_up

                warm_up()
                unknown = None
        raw = None if key is not None else task[0].read_bytes()
        read.append((raw, task))
        keys.append(key if key is not None else cache.read_key(raw, task, state, taken))
    cache.used = keys
    if precheck is not None:
        found = precheck(keys)
        if found is not None:
            raise UpToDate(found)
    cached = rows() if rows is not None else None
    todo: list[tuple[int, str, tuple]] = []
    for n, ((raw, task), key) in enumerate(zip(read, keys)):
        kept = cached.chapters.get(key) if cached is not None else None
        if kept is not None:
            cache.elsewhere(key)
            results[n] = kept
            continue
        results[n] = cache.get(key)
        if results[n] is None:
            if raw is None:
                # known by its state, but in no cache: read now, under the key of these bytes
                raw = task[0].read_bytes()
                key = keys[n] = cache.read_key(raw, task, None, taken)
            todo.append((n, key, (raw, *task)))
    del read
    done = total - len(todo)
    parsed = None
    if arrow is not None and jobs > 1 and len(todo) >= PARALLEL_MIN_FILES:
        parsed = _parse_batches(todo, results, cache, jobs, progress, done, total, arrow())
        todo = []
    for (n, key, _), result in zip(todo, _parse_all([(k, t) for _, k, t in todo], jobs,
                                                    progress, done, total)):
        if isinstance(result, bytes):
            cache.store(key, result)
            result = decode_entry(key, result)
        else:
            cache.put(key, result)
        results[n] = result
    if progress and done == total:
        progress("parse", total, total)
    return results, keys, cached, parsed


def _pool(jobs: int):
    """A pool of `jobs` parse workers, each forked by pledgepack's fork server."""
    # Imported here: multiprocessing costs lint and the other one-process commands their start.
    from concurrent.futures import ProcessPoolExecutor

    from ..workers import context, start_quiet_worker

    return ProcessPoolExecutor(max_workers=jobs, mp_context=context(),
                               initializer=start_quiet_worker)


def _run_size(chapters: int, jobs: int) -> int:
    """How many chapters a worker takes at a time: eight runs a worker, so that the last
    ones finish close together."""
    return max(1, chapters // (jobs * 8))


def _parse_batches(todo: list[tuple[int, str, tuple]], results: list, cache: ChapterCache,
                   jobs: int, progress: Progress | None, done: int, total: int,
                   arrow) -> dict | None:
    """The chapters of `todo` parsed by a pool of workers, in runs (_read_batch): each one's
    entry goes into `cache`, its place in `results` becomes a CachedChapter whose rows lie in
    the tables returned (by table of rowcache.TABLES, the runs' tables in order)."""
    import pyarrow as pa

    names = arrow.names
    run = _run_size(len(todo), jobs)
    runs = [todo[start:start + run] for start in range(0, len(todo), run)]
    tables: dict[str, list[pa.Table]] = {name: [] for name in names}
    base = [0] * len(names)
    with _pool(jobs) as pool:
        jobs_in = [([(key, task) for _, key, task in part], arrow) for part in runs]
        for part, (entries, chapters, streams) in zip(runs, pool.map(_read_batch, jobs_in)):
            for (n, key, _), entry, (counts, offsets, unpublished, ok, said) in zip(
                    part, entries, chapters):
                if isinstance(entry, bytes):
                    cache.store(key, entry)
                    results[n] = CachedChapter(key, counts,
                                               tuple(b + o for b, o in zip(base, offsets)),
                                               unpublished, ok, said, parsed=True)
                else:  # a result no entry can hold: its Python rows, as in one process
                    cache.put(key, entry)
                    results[n] = entry
            for name, stream in zip(names, streams):
                with pa.ipc.open_stream(pa.py_buffer(stream)) as reader:
                    table = reader.read_all()
                tables[name].append(table)
            base = [b + len(tables[name][-1]) for b, name in zip(base, names)]
            done += len(part)
            if progress:
                progress("parse", done, total)
    if not any(isinstance(results[n], CachedChapter) for n, _, _ in todo):
        return None
    return {name: pa.concat_tables(parts) if parts else arrow.schemas[name].empty_table()
            for name, parts in tables.items()}


def _parse_all(jobs_in: list[tuple[str, tuple]], jobs: int, progress: Progress | None,
               done: int, total: int):
    """The results of the chapters in `jobs_in` ((key, task) pairs), in order: in this process
    for a few, else from a pool of workers, each result sent back as a cache entry."""
    if jobs <= 1 or len(jobs_in) < PARALLEL_MIN_FILES:
        for n, (_, task) in enumerate(jobs_in, done + 1):
            yield _read_task(task)
            if progress:
                progress("parse", n, total)
        return
    with _pool(jobs) as pool:
        for n, result in enumerate(pool.map(_read_encoded, jobs_in,
                                            chunksize=_run_size(len(jobs_in), jobs)), done + 1):
            yield result
            if progress:
                progress("parse", n, total)


def _id_line(result: ChapterResult, sid: str, anchor_line: int | None) -> int | None:
    """Line where a statement id is defined: its anchor, else its front-matter entry."""
    if anchor_line is not None:
        return anchor_line
    text = result.path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    fm, fm_line, _, _ = split_front_matter(text)
    return Lines(fm, fm_line).id_line(sid)


def _unpublished(d: Diagnostic) -> Diagnostic:
    if d.severity != ERROR:
        return d
    return Diagnostic(d.path, d.line, WARNING,
                      f"unpublished chapter (published: false), left out of the package: "
                      f"{d.message}", f"{d.hint}; with --include-unpublished this is an error"
                      if d.hint else "with --include-unpublished this is an error", d.col)


def read_content(root: Path | str, schema: PackageSchema, **options) -> Content:
    """Read every document under `root`. Raises ContentError listing every problem on errors;
    otherwise the content's diagnostics are its warnings. Options as for scan_content."""
    content = scan_content(root, schema, **options)
    if any(d.severity == ERROR for d in content.diagnostics):
        raise ContentError(list(content.diagnostics))
    return content


def scan_content(root: Path | str, schema: PackageSchema, *, include_unpublished: bool = False,
                 document_id: str | None = None, document_title: str | None = None,
                 jobs: int = 1, progress: Progress | None = None,
                 cache: ChapterCache | None = None,
                 precheck: Callable | None = None, rows: Callable | None = None,
                 unsure: Callable | None = None, arrow=None) -> Content:
    """Read every document under `root`, collecting every problem in `diagnostics` (sorted by
    place) instead of raising; chapters with errors contribute no rows. With `cache`, chapters
    read before come from it and new ones go into it. `rows`, called once the chapters' keys
    are known, may give the rows the last build kept (package/rowcache.py): the chapters it
    holds are then not decoded, and the Content says where their rows are (layout, cached).
    With `arrow` (a function that gives package/tables.py's WorkerRows, the same each time),
    chapters parsed by workers send their rows as Arrow tables (Content.parsed): for a build,
    which makes tables of them; others read the rows as Python values."""
    reader = _Reader(Path(root), schema)
    sources = reader.discover(document_id)
    if document_title and len(sources) > 1:
        reader.add(root, None, ERROR, "--document-title applies to a single document",
                   "leave out --document-title")
    documents, tasks = [], []
    statuses, measures = frozenset(schema.statuses), frozenset(schema.measures)
    for source in sources:
        doc = reader.document(source, document_title)
        if doc is not None:
            documents.append(doc)
        for path in source.chapters:
            relpath = reader.relative(path)
            tasks.append((path, str(reader.root / relpath), relpath,
                          source.document_id, statuses, measures))
    if cache is None:
        cache = ChapterCache(None, reader.root, statuses, measures, salted=False)
    if any(d.severity == ERROR for d in reader.diagnostics):
        precheck = None  # the folder has an error of its own, which this reading must report
    results, keys, cached, parsed = _read_all(tasks, jobs, progress, cache, precheck, rows,
                                              unsure, arrow)
    said = list(reader.diagnostics)
    gathered = _gather(reader, results, keys, include_unpublished)
    if (cached is not None and gathered[1]) or parsed is not None:
        ids = [s.statement_id for s in gathered[1]]
        if (arrow().collide(gathered[4], ids, cached, parsed) if parsed is not None
                else cached.collides(gathered[4], ids)):
            # An id is given twice, and not both times by a chapter's Python rows: read every
            # chapter whole, so that the error names both places as it always does.
            reader.diagnostics[:] = said
            results = [_whole(result, task, cache) for result, task in zip(results, tasks)]
            gathered, cached, parsed = _gather(reader, results, keys, include_unpublished), \
                None, None
    sections, statements, reports, recorded, layout = gathered
    if not any(chapter.offsets is not None and not chapter.parsed for chapter in layout):
        cached = None
    package: dict = {}
    if reader.root.is_dir():
        package, problems = read_metadata(reader.root, str(reader.root))
        reader.diagnostics.extend(problems)
    diagnostics = sorted(reader.diagnostics, key=Diagnostic.sort_key)
    return Content(documents=tuple(documents), sections=tuple(sections),
                   statements=tuple(statements), reports=tuple(reports),
                   diagnostics=tuple(diagnostics), recorded=tuple(recorded), package=package,
                   layout=tuple(layout), cached=cached, parsed=parsed)


def _gather(reader: _Reader, results: list, keys: list[str], include_unpublished: bool):
    """The rows of the chapters read now, and each chapter's counts, in order; their
    diagnostics go to `reader`. A chapter whose rows were kept (a CachedChapter) gives its
    counts and diagnostics only."""
    sections, statements, reports, recorded, layout = [], [], [], [], []
    first_use: dict[tuple[str, str], tuple[ChapterResult, int | None]] = {}
    for key, result in zip(keys, results):
        # A chapter left out of the package cannot break it: its errors are warnings, until
        # --include-unpublished (or lint) takes it in.
        left_out = result.unpublished and not include_unpublished
        diagnostics = ([Diagnostic(*d) for d in result.diagnostics]
                       if isinstance(result, CachedChapter) else result.diagnostics)
        reader.diagnostics.extend(map(_unpublished, diagnostics) if left_out else diagnostics)
        if isinstance(result, CachedChapter):
            layout.append(result)
            continue
        counts = (0, 0, 0, 0)
        if result.ok and not left_out:
            for row in result.statements:
                id_key = (row[1], row[3])
                if id_key in first_use:
                    other, other_line = first_use[id_key]
                    reader.add(result.display, _id_line(result, row[3], row[13]), ERROR,
                               f"duplicate id {row[3]!r}: also used at {other.display}:"
                               f"{_id_line(other, row[3], other_line)}",
                               "ids must be unique within a document; rename one of them")
                else:
                    first_use[id_key] = (result, row[13])
            sections.append(Section._make(result.section))
            statements.extend(map(Statement._make, result.statements))
            reports.extend(map(Report._make, result.reports))
            recorded.extend(map(Recorded._make, result.recorded))
            counts = (1, len(result.statements), len(result.reports), len(result.recorded))
        layout.append(CachedChapter(key, counts, None, result.unpublished, result.ok,
                                    _said(result)))
    return sections, statements, reports, recorded, layout


def _said(result: ChapterResult) -> tuple[tuple, ...]:
    """A chapter's diagnostics as a CachedChapter holds them."""
    return tuple((d.path, d.line, d.severity, d.message, d.hint, d.col)
                 for d in result.diagnostics)


def _whole(result, task: tuple, cache: ChapterCache) -> ChapterResult:
    """A chapter's whole result, where only its counts were looked up."""
    if not isinstance(result, CachedChapter):
        return result
    whole = cache.get(result.key)
    return whole if whole is not None else _read_task((task[0].read_bytes(), *task))
