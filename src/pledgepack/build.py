"""The build: content -> model -> tables -> files -> package -> validation -> views, then swap.

Everything is written into a temporary folder beside the target and swapped in atomically
only after validation (see outdir.py), so a failed or killed build leaves the previous output
as it was.
"""
from __future__ import annotations

import gc
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .check.validate import Report, validate_package
from .content.cache import ChapterCache
from .content.folder import UpToDate, read_content
from .errors import ERROR, WARNING, ContentError, Diagnostic, PackageInvalid, PledgepackError
from .history.gitio import Repository, cache_folder, find_repository, refused_repository
from .history.timeline import merge_history
from .history.walk import GitHistory, document_folders
from .history.walk import git_history as read_git_history
from .outdir import (
    OutputError,
    check_target,
    file_states,
    kill_point,
    locked,
    mark,
    swap,
    target_of,
    temp_folder,
)
from .model import HISTORY_COLUMNS
from .package.descriptor import (
    DATA_DIR,
    PARQUET,
    build_descriptor,
    created_timestamp,
    source_date_epoch,
    write_descriptor,
)
from .query.views import DatabaseWriter, write_views_sql
from .rebuild import (
    cache_root,
    inputs_fingerprint,
    last_build,
    proven_tables,
    record_build,
    reusable_database,
    reusable_tables,
    table_code,
    up_to_date,
)
from .schema import PackageSchema
# command_pyarrow: the command line and the benchmarks import it from here
from .workers import (arrow_ready, command_pyarrow, default_jobs,  # noqa: F401
                      give_back_memory, pandas_refused, stop_fork_server)

if TYPE_CHECKING:  # imported by the build once it has work to do (pyarrow)
    from .package.writers import TableWriter

Progress = Callable[[str, int, int], None]


@dataclass
class BuildResult:
    out: Path
    counts: dict[str, int]
    diagnostics: list[Diagnostic]
    report: Report
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    history: GitHistory | None = None
    # `out` was already this build's output, and was left untouched.
    up_to_date: bool = False

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == WARNING]


@contextmanager
def _no_cyclic_gc():
    """The build makes hundreds of thousands of small objects and no cycles worth collecting;
    the cyclic collector would only rescan them again and again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Phases:
    """Wall time per phase; each phase's end is reported to the progress callback as
    (phase, 0, 0), progress within a phase as (phase, done, total). A phase run inside another
    (the history walk, once the chapters' keys are known) counts for itself only, so that the
    timings add up to the build's time."""

    def __init__(self, progress: Progress | None):
        self.timings: dict[str, float] = {}
        self.progress = progress
        self._inner: list[float] = []  # per running phase, the time of the phases inside it

    def run(self, phase: str, fn, *args, **kwargs):
        started = time.perf_counter()
        self._inner.append(0.0)
        try:
            result = fn(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            inner = self._inner.pop()
            self.timings[phase] = self.timings.get(phase, 0.0) + elapsed - inner
            if self._inner:
                self._inner[-1] += elapsed
        if self.progress:
            self.progress(phase, 0, 0)
        return result


def build(content: Path | str = "content", out: Path | str = "dist", *,
          descriptor: Path | str | None = None, include_unpublished: bool = False,
          strict: bool = False, document_id: str | None = None,
          document_title: str | None = None, jobs: int | None = None,
          git_history: bool = True, allow_shallow: bool = False,
          full_validation: bool = False, version: str | None = None,
          progress: Progress | None = None) -> BuildResult:
    """Build the package from `content` into `out`. Raises ContentError, PackageInvalid or
    PledgepackError; in every such case `out` is left as it was.

    The new package must validate before it replaces `out`. By default the CSV rows are proven
    equal to the checked Parquet rather than read again by frictionless (see check/validate.py);
    `full_validation` adds that pass, as `pledgepack validate` and releases do."""
    content, out = Path(content), Path(out)
    jobs = jobs or default_jobs()
    phases = _Phases(progress)
    schema = PackageSchema.load(descriptor)
    source_date_epoch()  # a malformed one fails before any work
    check_target(out, content)
    background = _Background()
    try:
        with locked(out), _no_cyclic_gc():
            try:
                report, counts, diagnostics, notes, history, skipped = _run(
                    content, out, schema, phases, background,
                    include_unpublished=include_unpublished, strict=strict,
                    document_id=document_id, document_title=document_title, jobs=jobs,
                    git_history=git_history, allow_shallow=allow_shallow,
                    full_validation=full_validation, version=version, progress=progress)
            finally:
                background.join()
    except OSError as exc:
        raise OutputError(f"{out}: could not write the new package ({exc.strerror or exc}); "
                          f"{out} left as it was") from None
    report.folder = str(out)
    return BuildResult(out=out, counts=counts, diagnostics=diagnostics, report=report,
                       timings=phases.timings, notes=notes, history=history,
                       up_to_date=skipped)


class _Background:
    """Work that only keeps caches for the next build, on threads of its own beside the build
    (writing files, mostly, which lets go of the GIL); joined before the build returns."""

    def __init__(self):
        self._threads: list[threading.Thread] = []

    def start(self, fn, *args) -> None:
        thread = threading.Thread(target=fn, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def join(self) -> None:
        for thread in self._threads:
            thread.join()


def _run(content: Path, out: Path, schema: PackageSchema, phases: _Phases,
         background: _Background, *,
         include_unpublished: bool, strict: bool, document_id: str | None,
         document_title: str | None, jobs: int, git_history: bool, allow_shallow: bool,
         full_validation: bool, version: str | None, progress: Progress | None):
    """The build proper, under the lock on `out`."""
    repo = find_repository(content) if content.is_dir() else None
    cache_dir = cache_root(repo)
    cache = ChapterCache(cache_dir, content, frozenset(schema.statuses),
                         frozenset(schema.measures))
    # The history and the other inputs are read as soon as the chapters' keys are known (and
    # the folder has no error of its own): with the keys they say whether `out` already holds
    # this build, before any chapter is looked up.
    notes: list[str] = []
    inputs: dict = {}
    flags = {"include_unpublished": include_unpublished, "strict": strict,
             "document_id": document_id, "document_title": document_title,
             "git_history": git_history, "allow_shallow": allow_shallow,
             "full_validation": full_validation, "version": version}

    def read_inputs() -> None:
        if inputs:
            return
        history = None
        if git_history:
            history = phases.run("history", _git_history, content, repo, schema, document_id,
                                 allow_shallow, progress, notes)
        else:
            notes.append("--no-git-history: status_history holds one snapshot row per "
                         "statement")
        inputs.update(history=history, created=created_timestamp(content))

    folders: list[Path] = []  # the new package's folder, once made

    def new_folder() -> Path:
        tmp = temp_folder(out, "tmp")
        try:
            os.chmod(tmp, 0o755)
            mark(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        folders.append(tmp)
        return tmp

    last = last_build(cache_dir, out)
    proven_descriptor = last.get("descriptor") if last else None
    if not isinstance(proven_descriptor, str):
        proven_descriptor = None
    # The rows the last build's chapters gave are kept beside the chapter cache: a rebuild
    # takes those of the unchanged chapters as they are (package/rowcache.py). pyarrow, and
    # what needs it, is imported only once the build has work to do (arrow_ready): a build
    # that finds `out` up to date goes without it (0.13 s of importing, with numpy).
    keeps_rows = cache.folder is not None and set(HISTORY_COLUMNS) <= {
        f["name"] for f in schema.fields("statements")}
    kept_rows = None
    salts: list[str] = []

    def rows_salt() -> str:
        if not salts:
            arrow_ready()
            from .package import rowcache

            salts.append(rowcache.salt(schema))
        return salts[0]

    if keeps_rows:
        loaded: list = []

        def kept_rows():
            from .package import rowcache

            if not loaded:
                loaded.append(rowcache.load(cache.folder, rows_salt(), include_unpublished,
                                            rowcache.table_schemas(schema)))
            return loaded[0]

    workers_rows: list = []

    def worker_rows():
        """package/tables.py's WorkerRows, for content/folder.py's read_content (made once)."""
        from .package.tables import WorkerRows

        if not workers_rows:
            arrow_ready()
            workers_rows.append(WorkerRows(schema, include_unpublished))
        return workers_rows[0]

    pandas = _Pandas()

    def precheck(keys: list[str]) -> dict | None:
        read_inputs()
        inputs["fingerprint"] = inputs_fingerprint(
            schema, content, keys, inputs["created"], inputs["history"],
            repo.top if repo else None, flags)
        found = phases.run("check", up_to_date, cache_dir, out, inputs["fingerprint"])
        if found is not None:
            return found
        arrow_ready()
        pandas.start()
        return None

    # The database's child starts up now, and opens the new database in the new package's
    # folder, while the chapters are read: a rebuild's come from the cache in this process
    # and leave a core idle; a full build's workers leave one idle while their fork server
    # starts. Measured on a full build of 100k statements, 8 rounds alternating: 1.99 s
    # against 1.88 s with the child started after the parse. Both are dropped if `out` turns
    # out to be up to date, or the content has errors.
    database = phases.run("duckdb", DatabaseWriter, schema, warm=proven_descriptor is None)
    # The last build's database, if this code wrote it and nobody touched it since: the child
    # copies its tables while the chapters are read, and keeps those taken over (see
    # write_database_here).
    code = table_code(schema)  # what the tables' files depend on besides their rows
    previous_database = reusable_database(last, out, code, schema.name)
    try:
        database.begin(new_folder(), previous_database)
    except OSError:
        pass  # said where the folder is made below, after the content's own errors
    try:
        try:
            model = phases.run("parse", read_content, content, schema,
                               include_unpublished=include_unpublished, document_id=document_id,
                               document_title=document_title, jobs=jobs, progress=progress,
                               cache=cache, precheck=precheck, rows=kept_rows,
                               unsure=pandas.start,
                               arrow=worker_rows)
        except UpToDate as skip:
            database.cancel()
            for folder in folders:
                shutil.rmtree(folder, ignore_errors=True)
            record = skip.found
            report = Report(folder=str(out), resources=record["resources"],
                            csv_rows=full_validation)
            diagnostics = [Diagnostic(*d) for d in record["diagnostics"]]
            return report, record["counts"], diagnostics, notes, inputs["history"], True
        finally:
            # kept whatever comes next: chapters read once are not parsed again after an error;
            # written on a thread while the build goes on
            background.start(cache.save)
        stop_fork_server()  # the parse's workers are done
        # Only after a parse by workers is there much to give back: a rebuild that parsed a
        # few chapters itself would only pay for faulting the same pages in again (about
        # 20 ms at 100k statements).
        release = give_back_memory if model.parsed is not None else lambda: None
        release()  # what the parse freed: the workers' results, decoded
        diagnostics = list(model.diagnostics)
        if strict and diagnostics:
            raise ContentError([Diagnostic(d.path, d.line, ERROR, d.message, d.hint, d.col)
                                for d in diagnostics])
        read_inputs()
        history, created = inputs["history"], inputs["created"]
        fingerprint = inputs.get("fingerprint") or inputs_fingerprint(
            schema, content, cache.used, created, history, repo.top if repo else None, flags)
        arrow_ready()
        from .package.tables import build_tables, for_history

        recorded = model.recorded or any(c.counts[3] for c in model.layout if c.offsets)
        rows = (merge_history(for_history(schema, model), history.with_dates if history else None)
                if history or recorded else None)
    except BaseException:
        database.cancel()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    # the tables' code, which needs pyarrow (arrow_ready above)
    from .check.proven import LastRows
    from .check.tabular import csv_difference
    from .package.writers import TableWriter

    keeper = _Rows(cache.folder if keeps_rows else None, rows_salt() if keeps_rows else None,
                   include_unpublished, schema, background, code,
                   reusable_tables(last, out, code), target_of(out), last)
    try:
        tmp = folders[0] if folders else new_folder()
    except BaseException:
        database.cancel()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        # Each table's files are written as soon as it is made, while the next one is made,
        # and the database's child stores each table as soon as its Parquet file is complete.
        # The database is dropped if validation fails.
        if database.path is None:
            database.begin(tmp, previous_database)
        keeper.model = model

        def csv_check(name: str, table, path: Path, part) -> str | None:
            # Read back as soon as it is written, against the rows its Parquet file was
            # written from: validation then need not read the Parquet file to compare.
            return csv_difference(path, table, schema.table_schema(name), part)

        database.stop_copies()
        # The rows a table shares, at its start and its end, with the same table of the last
        # build into `out` were checked by that build: only those between are (check/proven.py).
        last_rows = LastRows(last, out, code)
        with TableWriter(tmp, parquet_done=database.ready, csv_check=csv_check,
                         parquet_kept=database.kept, unproven=last_rows.unproven) as writer:
            keeper.writer = writer
            tables = phases.run("tables", build_tables, schema, model, rows,
                                ready=keeper.ready, keep=keeper.keep,
                                identify=keeper.identify, reusable=keeper.reuse)
            del rows
            release()  # the rows the tables were made from; on while files are written
            written = phases.run("write", writer.wait)
        paths = {name: written[name] for name in tables}
        counts = {name: table.num_rows for name, table in tables.items()}
        del tables
        kill_point("written")
        package = build_descriptor(schema, paths, tmp, model, created, version=version,
                                   history_note=_history_note(history), facts=writer.facts)
        del model
        phases.run("write", write_descriptor, package, tmp)
        release()  # the tables, written
        # The descriptor hashed each file a moment ago, in this build's own folder; the
        # database's child, which reads the Parquet files anyway, checks them and the
        # descriptor.
        report = phases.run("validate", validate_package, tmp, jobs=jobs,
                            csv_rows=full_validation, rehash=False, checks=database.check,
                            proven=proven_tables(last), proven_descriptor=proven_descriptor,
                            csv_checked=writer.csv_checked, rows_checked=writer.rows_checked)
        if not report.valid:
            report.folder = f"{out} (the new build, not swapped in)"
            raise PackageInvalid(report)
        try:
            phases.run("duckdb", write_views_sql, schema, tmp)
            phases.run("duckdb", database.wait)
        except PledgepackError as exc:
            # The new package's temporary folder is gone with it: name what the user gave.
            raise PledgepackError(f"{str(exc).replace(str(tmp), str(out))} ({out} left as it "
                                  "was)") from None
        database = None
        record = {"fingerprint": fingerprint, "counts": counts, "resources": report.resources,
                  "verdicts": report.verdicts, "tables": keeper.ids, "code": code,
                  "facts": _declared_facts(package), "descriptor": report.descriptor_key,
                  # the warnings, said again by a build that finds `out` up to date
                  "diagnostics": [[d.path, d.line, d.severity, d.message, d.hint, d.col]
                                  for d in diagnostics]}
        swap(tmp, out)
    except BaseException:
        if database is not None:
            database.cancel()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # Read after the swap: removing the old package changed the times of the files it shared
    # with this one.
    record["files"] = file_states(target_of(out))
    record_build(cache_dir, out, record)
    return report, counts, diagnostics, notes, history, False


class _Pandas:
    """pyarrow imports pandas the first time it turns Python values into Arrow, which a build
    that is not up to date does: unless pyarrow_without_pandas spared that, imported on a
    thread as soon as that is likely (a chapter must be read) or known, while the chapters
    are read and parsed, not on the way to the first table. A daemon: a build that turns out
    to be up to date does not wait for it."""

    def __init__(self):
        self._started = False

    def start(self) -> None:
        if not self._started and not pandas_refused() and "pandas" not in sys.modules:
            self._started = True
            threading.Thread(target=self._import, daemon=True).start()

    @staticmethod
    def _import() -> None:
        try:
            import pandas  # noqa: F401
        except ImportError:
            pass  # pyarrow does without


def _declared_facts(descriptor: dict) -> dict[str, list]:
    """Each data file's size and hash as the descriptor declares them, by path: a rebuild that
    takes a file over from this build need not hash it again."""
    found = {}
    for resource in descriptor["resources"]:
        for declared in (resource, resource[PARQUET]):
            found[declared["path"]] = [declared["bytes"], declared["hash"]]
    return found


def _known_facts(record: dict | None, name: str) -> dict[str, tuple[int, str]]:
    """The facts (by kind) of table `name`'s files that the build of `record` declared."""
    try:
        facts = record["facts"]
        found = {}
        for kind in ("csv", "parquet"):
            size, digest = facts[f"{DATA_DIR}/{name}.{kind}"]
            if isinstance(size, int) and isinstance(digest, str):
                found[kind] = (size, digest)
        return found
    except (KeyError, TypeError, ValueError):
        return {}


class _Rows:
    """What a build does with the rows of its tables beyond writing them.

    - It keeps the chapters' rows for the next build (package/rowcache.py), in the background,
      unless they are the rows kept already, in the same order.
    - It names the rows of each table (rowcache.rows_id). A table whose rows have the name
      they had in the last build into `out`, written by the same code and schema, would be
      written as the same bytes again: its files are taken from `out` (linked, where the file
      system can), if they are still as that build left them, instead of written anew."""

    def __init__(self, folder: Path | None, salt: str | None, include_unpublished: bool,
                 schema: PackageSchema, background: _Background, code: str,
                 reusable: dict[str, str], out: Path, last: dict | None):
        from .package import rowcache

        self.folder, self.salt, self.include_unpublished = folder, salt, include_unpublished
        self.schemas = rowcache.table_schemas(schema) if folder is not None else None
        self.background, self.code, self.reusable, self.out = background, code, reusable, out
        self.last = last
        self.model = None
        self.writer: TableWriter | None = None
        self.ids: dict[str, str] = {}

    def identify(self, name: str, unsorted) -> str | None:
        from .package import rowcache

        if self.salt is None:
            return None
        self.ids[name] = rowcache.rows_id(self.salt, self.include_unpublished, name, unsorted)
        return self.ids[name]

    def reuse(self, name: str, rows_id: str) -> bool:
        return self.reusable.get(name) == rows_id

    def ready(self, name: str, table, rows_id: str | None) -> None:
        if rows_id is not None:
            self.ids[name] = rows_id
        from .package.tables import Reused

        if isinstance(table, Reused):
            # the files are as the last build left them (reusable_tables), so are its facts
            self.writer.adopt(name, self.out, _known_facts(self.last, name))
        else:
            self.writer.submit(name, table)

    def keep(self, unsorted: dict) -> None:
        from .package import rowcache

        model = self.model
        cached = model.cached
        # kept rows that still serve (those of every chapter, among them) are left as they are
        if self.folder is None or rowcache.still_serves(model.layout, cached):
            return
        self.background.start(rowcache.save, self.folder, self.salt, self.include_unpublished,
                              list(model.layout), unsorted, self.schemas)


def _git_history(content: Path, repo: Repository | None, schema: PackageSchema,
                 document_id: str | None, allow_shallow: bool, progress: Progress | None,
                 notes: list[str]) -> GitHistory | None:
    history = read_git_history(
        content, document_folders(content, document_id), statuses=frozenset(schema.statuses),
        measures=frozenset(schema.measures), allow_shallow=allow_shallow,
        cache_dir=cache_folder(repo) if repo else None, progress=progress)
    refused = refused_repository(content) if history is None else None
    if refused:
        # Not the same as no repository: the history is there, git will not read it.
        notes.append(f"{content}: git refuses to read its repository ({refused}), so "
                     "status_history holds one snapshot row per statement; to build from its "
                     "history, run the build as the repository's owner, or mark it safe with "
                     "'git config --global --add safe.directory <repository>'")
    elif history is None:
        notes.append(f"{content} is not in a git repository: status_history holds one snapshot "
                     "row per statement")
    else:
        notes.extend(history.notes)
    return history


def _history_note(history: GitHistory | None) -> str | None:
    if history is None or history.last_commit is None:
        return None
    note = (f"Built from the git history of the content: {history.commits} commits, "
            f"{history.first_commit} to {history.last_commit}.")
    if history.shallow:
        note += (f" The repository is a shallow clone: the history starts at commit "
                 f"{history.first_commit}, where every statement appears as added; earlier "
                 "events are missing.")
    return note
