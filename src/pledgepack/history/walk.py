"""Status changes from the git history: editors change a pledge's status by committing an edit,
so the commits on the branch are the tracker's timeline.

The walk follows the first-parent chain from the root to HEAD, so a change made on a branch
counts when its merge landed, dated by the merge's committer date; the committer date orders
events because `last_update` is typed by hand and can be backdated. A statement is known by its
id within its document across all the document's chapters, so renaming a chapter or moving a
statement to another chapter is not a removal and an addition.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from ..content.folder import DOCUMENT_FILE, hidden, slug
from ..content.yamltext import nfc
from ..model import StatusChange
from .gitio import (
    Commit,
    HistoryError,
    Repository,
    find_repository,
    log,
    on_first_parent_chain,
    read_blobs,
)
from .versions import VersionParser

__all__ = ["GitHistory", "HistoryError", "document_folders", "git_history"]

# Bump when the cache's layout or the meaning of its rows changes.
CACHE_FORMAT = 3

Progress = Callable[[str, int, int], None]
# A last_update written anew for an unchanged status: an internal row, see _row.
DATED = "dated"
# Per document, per chapter path (relative to the content folder): {id: (status, last_update)}.
State = dict[str, dict[str, dict[str, tuple[str, str | None]]]]


@dataclass
class GitHistory:
    changes: list[StatusChange]  # source "git", seq 0 (numbered by the caller), in commit order
    head: str | None             # the HEAD walked to; None in a repository without commits
    shallow: bool                # a shallow clone: the history starts at its boundary
    first_commit: str | None     # the oldest commit that touched the content
    commits: int                 # commits that touched the content, in all
    commits_read: int            # of those, the ones this call read (the rest came from the cache)
    notes: list[str] = field(default_factory=list)
    # The status changes and, in commit order among them, the `dated` rows: a new last_update
    # written for an unchanged status (timeline.py dates by them, the package has no such row).
    with_dates: list[StatusChange] = field(default_factory=list)
    # The newest commit that touched the content: what the history says it is built up to. A
    # HEAD that moved on with commits elsewhere in the repository changes nothing of it.
    last_commit: str | None = None


def document_folders(content_root: Path, document_id: str | None = None) -> dict[str, str]:
    """Folder inside the content folder ('' for the folder itself) -> document id, found in the
    work tree the way content/folder.py finds documents."""
    root = Path(content_root)
    if (root / DOCUMENT_FILE).exists() or any(
            p.suffix == ".md" and not hidden(p) and p.is_file() for p in root.iterdir()):
        folder = root.resolve()
        if folder.name.startswith("_"):
            folder = folder.parent
        return {"": document_id or slug(folder.name)}
    return {nfc(p.name): nfc(p.name) for p in sorted(root.iterdir())
            if p.is_dir() and not hidden(p) and (p / DOCUMENT_FILE).exists()}


# From this many chapter versions on, the walk parses them in worker processes (fewer cost
# less than the workers' start), in runs of consecutive versions, a few per worker so that the
# walk can apply the first while the others are parsed. Each run starts with an empty parser
# (versions.py), so it parses again once the items its first version shares with the others.
PARALLEL_MIN_VERSIONS = 1000
RUNS_PER_WORKER = 4


def git_history(content_root: Path, documents: dict[str, str] | None = None, *,
                statuses: frozenset, measures: frozenset, allow_shallow: bool = False,
                cache_dir: Path | None = None, progress: Progress | None = None
                ) -> GitHistory | None:
    """The status changes of every statement in the content folder's git history; None when the
    folder is not in a git work tree (or git is not installed). `documents` maps folders to
    document ids as document_folders does, which is the default. Raises HistoryError for a
    shallow clone unless `allow_shallow`. With `cache_dir`, a later call reads only the commits
    added since."""
    repo = find_repository(Path(content_root))
    if repo is None:
        return None
    if repo.shallow and not allow_shallow:
        raise HistoryError(
            f"the repository at {repo.top} is a shallow clone, so the history of the content is "
            "incomplete; fetch all of it: set 'fetch-depth: 0' for actions/checkout in the "
            "workflow, or run 'git fetch --unshallow'")
    folders = document_folders(content_root) if documents is None else documents
    walk = _Walk(repo.prefix, folders, statuses, measures)
    if repo.head is None:
        return walk.result(repo, 0)
    # A shallow walk is not cached: its boundary moves with every fetch.
    cache = _Cache(cache_dir, repo, folders, statuses, measures) \
        if cache_dir is not None and not repo.shallow else None
    since = cache.resume(walk, repo) if cache else None
    if since == repo.head:
        return walk.result(repo, 0)
    commits = log(repo, since)
    walk.run(repo, commits, progress)
    if cache:
        cache.save(walk, repo.head)
    return walk.result(repo, len(commits))


class _Walk:
    """The state of the content after each commit, and the rows its changes gave."""

    def __init__(self, prefix: str, folders: dict[str, str], statuses: frozenset,
                 measures: frozenset):
        self.prefix = f"{prefix}/" if prefix else ""
        self.folders = folders
        self.statuses, self.measures = statuses, measures
        self.state: State = {}
        # Per document: {id: (status, last_update, path)}, the state merged over its chapters.
        self.merged: dict[str, dict[str, tuple]] = {}
        self.changes: list[StatusChange] = []
        self.notes: list[str] = []
        self.first_commit: str | None = None
        self.last_commit: str | None = None
        self.commits = 0
        # Blob id -> {id: (status, last_update)}, or the error that kept it from being read.
        self.parsed: dict[str, dict | str] = {}

    def restore(self, state: State, changes: list[StatusChange], notes: list[str],
                first_commit: str | None, last_commit: str | None, commits: int) -> None:
        self.state, self.changes, self.notes = state, changes, notes
        self.first_commit, self.last_commit, self.commits = first_commit, last_commit, commits
        self.merged = {doc: _merge(files) for doc, files in state.items()}

    def result(self, repo: Repository, read: int) -> GitHistory:
        return GitHistory([c for c in self.changes if c.event != DATED], repo.head,
                          repo.shallow, self.first_commit, self.commits, read, self.notes,
                          self.changes, self.last_commit)

    def chapter(self, path: str | None) -> tuple[str, str] | None:
        """(document id, path inside the content folder) of a chapter file; None for any other
        file."""
        if path is None or not path.startswith(self.prefix):
            return None
        relpath = path[len(self.prefix):]
        parts = relpath.split("/")
        if "" in self.folders:
            folder, name = "", parts[0] if len(parts) == 1 else None
        else:
            folder, name = nfc(parts[0]), parts[1] if len(parts) == 2 else None
        if name is None or not name.endswith(".md") or name.startswith(".") \
                or folder not in self.folders:
            return None
        return self.folders[folder], relpath

    def run(self, repo: Repository, commits: list[Commit], progress: Progress | None) -> None:
        # Blob id -> the path it first has, which messages about it name.
        wanted: dict[str, str] = {}
        for commit in commits:
            for change in commit.files:
                chapter = self.chapter(change.new)
                if chapter:
                    wanted.setdefault(change.blob, chapter[1])
        stream = _versions(repo.top, list(wanted), wanted, self.statuses, self.measures)
        try:
            for n, commit in enumerate(commits, 1):
                self.apply(commit, stream)
                if progress:
                    progress("history", n, len(commits))
        finally:
            stream.close()
        if commits and self.first_commit is None:
            self.first_commit = commits[0].sha
        if commits:
            self.last_commit = commits[-1].sha
        self.commits += len(commits)

    def apply(self, commit: Commit, stream: Iterator[tuple[str, dict | str]]) -> None:
        # Only the ids in the versions that went and came can change; a document can hold
        # thousands, so the others are not compared. A file edited in place affects only the
        # ids whose (status, last_update) differ between its two versions.
        affected: dict[str, set[str]] = {}
        for change in commit.files:
            old, new = self.chapter(change.old), self.chapter(change.new)
            previous = {}
            if old:
                previous = self.state.get(old[0], {}).pop(old[1], {})
            if new:
                entries = self.read(change.blob, stream)
                if isinstance(entries, str):
                    self.notes.append(f"in commit {commit.sha[:12]}, {entries}; its "
                                      "statements keep the statuses they had before that "
                                      "commit")
                    entries = previous if old and old[0] == new[0] else {}
                self.state.setdefault(new[0], {})[new[1]] = entries
            if old and new and old == new:
                affected.setdefault(new[0], set()).update(
                    sid for sid in previous.keys() | entries.keys()
                    if previous.get(sid) != entries.get(sid))
                continue
            if old:
                affected.setdefault(old[0], set()).update(previous)
            if new:
                affected.setdefault(new[0], set()).update(entries)
        rows = []
        for document_id, sids in affected.items():
            files = self.state.get(document_id, {})
            paths = sorted(files)
            merged = self.merged.setdefault(document_id, {})
            for sid in sorted(sids):
                # As in _merge, the first chapter by path holding the id is where it is.
                path = next((path for path in paths if sid in files[path]), None)
                before = merged.pop(sid, None)
                after = None if path is None else (*files[path][sid], path)
                if after is not None:
                    merged[sid] = after
                row = _row(document_id, sid, before, after, commit)
                if row:
                    rows.append(row)
        self.changes.extend(sorted(rows, key=lambda row: row.statement_id))

    def read(self, blob: str, stream: Iterator[tuple[str, dict | str]]) -> dict | str:
        # The stream holds the blobs in the order run() asked for them: the order apply() needs
        # them in, so the next one not yet parsed is this one.
        if blob not in self.parsed:
            self.parsed.update((next(stream),))
        return self.parsed[blob]


def _versions(top: Path, order: list[str], paths: dict[str, str], statuses: frozenset,
              measures: frozenset) -> Iterator[tuple[str, dict | str]]:
    """(blob id, statements or error) for each blob in `order`, in order. From
    PARALLEL_MIN_VERSIONS on, worker processes parse them, each a run of consecutive blobs
    read by a `git cat-file` of its own; the walk applies one run while the others are read."""
    from ..workers import default_jobs

    jobs = default_jobs()
    if jobs < 2 or len(order) < PARALLEL_MIN_VERSIONS:
        blobs = read_blobs(top, order)
        try:
            yield from _parse_all(blobs, paths, statuses, measures)
        finally:
            blobs.close()
        return
    from concurrent.futures import ProcessPoolExecutor

    from ..workers import context, start_quiet_worker

    size = -(-len(order) // (jobs * RUNS_PER_WORKER))
    runs = [order[i:i + size] for i in range(0, len(order), size)]
    with ProcessPoolExecutor(jobs, mp_context=context(),
                             initializer=start_quiet_worker) as pool:
        futures = [pool.submit(_parse_run, str(top), run, {b: paths[b] for b in run},
                               statuses, measures) for run in runs]
        try:
            for future in futures:
                yield from future.result()
        finally:
            for future in futures:
                future.cancel()


def _parse_run(top: str, run: list[str], paths: dict[str, str], statuses: frozenset,
               measures: frozenset) -> list[tuple[str, dict | str]]:
    """A worker's share of the walk: the blobs of `run`, parsed in order."""
    blobs = read_blobs(Path(top), run)
    try:
        return list(_parse_all(blobs, paths, statuses, measures))
    finally:
        blobs.close()


def _parse_all(blobs: Iterator[tuple[str, bytes]], paths: dict[str, str], statuses: frozenset,
               measures: frozenset) -> Iterator[tuple[str, dict | str]]:
    """(blob id, statements or error) for each blob, in order. One parser for the whole walk:
    it remembers the pieces of the versions it has read, so a version costs what changed in
    it (see versions.py)."""
    parser = VersionParser(statuses, measures)
    for blob, raw in blobs:
        yield blob, parser.parse(raw, paths[blob])


def _merge(files: dict[str, dict]) -> dict[str, tuple]:
    """A document's statements over all its chapters; the first chapter by path wins an id that
    is (wrongly) used twice, so that the choice does not depend on the order of commits."""
    merged: dict[str, tuple] = {}
    for path in sorted(files):
        for sid, (status, last_update) in files[path].items():
            merged.setdefault(sid, (status, last_update, path))
    return merged


def _row(document_id: str, sid: str, before: tuple | None, after: tuple | None,
         commit: Commit) -> StatusChange | None:
    """The row for a statement whose (status, last_update, path) was `before` and is `after` a
    commit (None: not there). When its status stayed: a `dated` row where the editors wrote a
    new last_update (timeline.py dates a status first recorded without a date by it, and
    publishes no such row), else None, whatever its path."""
    if before is None:
        event, previous, (status, last_update, path) = "added", None, after
    elif after is None:
        event, status, (previous, last_update, path) = "removed", None, before
    elif after[0] != before[0]:
        event, previous, (status, last_update, path) = "changed", before[0], after
    elif after[1] is not None and after[1] != before[1]:
        event, previous, (status, last_update, path) = DATED, before[0], after
    else:
        return None
    return StatusChange(f"{document_id}/{sid}", 0, commit.committed, event, status, previous,
                        "git", commit.sha, commit.author, commit.authored, path, last_update)


def _mailmap_digest(top: Path) -> str | None:
    """The .mailmap git applies to author names (%aN): edited, it renames authors of old
    commits too, so a cache made before the edit is stale."""
    try:
        return hashlib.sha256((top / ".mailmap").read_bytes()).hexdigest()
    except OSError:
        return None


class _Cache:
    """The walk so far, as JSON in the cache folder (JSON, not pickle: a cache folder can come
    from elsewhere, and loading it must not run code)."""

    def __init__(self, folder: Path, repo: Repository, folders: dict[str, str],
                 statuses: frozenset, measures: frozenset):
        top = str(repo.top.resolve())
        digest = hashlib.sha256(f"{top}\0{repo.prefix}".encode("utf-8", "surrogateescape"))
        self.path = Path(folder) / f"git-history-{digest.hexdigest()[:20]}.json"
        # Anything that changes what the rows would be; a cache made with other values is stale.
        self.key = {"format": CACHE_FORMAT, "pledgepack": _version(), "repository": top,
                    "content": repo.prefix, "documents": folders,
                    "statuses": sorted(statuses), "measures": sorted(measures),
                    "mailmap": _mailmap_digest(repo.top)}

    def resume(self, walk: _Walk, repo: Repository) -> str | None:
        """Restore the walk from the cache and return the HEAD it reached, if that is on the
        first-parent chain of today's HEAD; None (and the walk untouched) to start afresh."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data["key"] != self.key or not on_first_parent_chain(repo, data["head"]):
                return None
            changes = [StatusChange(sid, 0, dt.datetime.fromisoformat(recorded_at), event, status,
                                    previous, "git", commit, author,
                                    dt.datetime.fromisoformat(authored), path, last_update)
                       for (sid, recorded_at, event, status, previous, commit, author, authored,
                            path, last_update) in data["changes"]]
            state = {doc: {path: {sid: (status, last_update)
                                  for sid, status, last_update in entries}
                           for path, entries in files.items()}
                     for doc, files in data["state"].items()}
            walk.restore(state, changes, list(data["notes"]), data["first_commit"],
                         data["last_commit"], int(data["commits"]))
            return data["head"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, walk: _Walk, head: str) -> None:
        data = {"key": self.key, "head": head, "first_commit": walk.first_commit,
                "last_commit": walk.last_commit,
                "commits": walk.commits, "notes": walk.notes,
                "state": {doc: {path: [[sid, *value] for sid, value in entries.items()]
                                for path, entries in files.items()}
                          for doc, files in walk.state.items()},
                "changes": [[c.statement_id, c.recorded_at.isoformat(), c.event, c.status,
                             c.previous_status, c.commit, c.author, c.authored_at.isoformat(),
                             c.path, c.last_update] for c in walk.changes]}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Written beside and renamed over, so that an interrupted run leaves the old cache
            # whole.
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".git-history-")
        except OSError:
            return  # a read-only checkout: the cache only saves time, so build without it
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out)
            os.replace(tmp, self.path)
        except OSError:
            os.unlink(tmp)  # a full disk: the cache only saves time
        except BaseException:
            os.unlink(tmp)
            raise


def _version() -> str:
    try:
        return metadata.version("pledgepack")
    except metadata.PackageNotFoundError:
        return "unknown"
