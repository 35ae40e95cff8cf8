"""A cache of parsed chapters, keyed by a hash of everything a chapter's result depends on.

The key covers the chapter's bytes, its path, display name and document id, the allowed
status and measure codes, and the reader's own code (the source of this package's content
reader, so that an edited parser never meets results of the old one) with the versions of the
libraries that read a chapter.

Each content folder has a folder of its own in the cache, holding one pack: the entries the
last build used, in one file, written beside its place and renamed over it, so that two builds
at once or a killed build never leave half a pack (the last one renamed wins, and either is
whole). A pack that cannot be read back whole is ignored and every chapter parsed again. After
a build, the pack holds that build's entries and no others, but for the chapters whose rows the
build took from those the last build kept (package/rowcache.py): those need no entry.

Entries are stored with `marshal` (plain tuples of text, numbers and None): on the results of
100k statements it loads as fast as pickle and twice as fast as JSON, and unlike pickle,
loading cannot run code, which matters for a folder that can come from elsewhere.
"""
from __future__ import annotations

import hashlib
import marshal
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

from ..errors import Diagnostic
from .chapter import ChapterResult

# Bump when the layout of an entry or of the pack changes.
CACHE_FORMAT = 2
SUFFIX = ".chapter"
# All entries of a content folder in one file: a file per chapter cost a build at 100k
# statements almost two seconds of file system time (1,000 files made, written and renamed).
PACK = "chapters" + SUFFIX
# and the rows the chapters gave the last build (package/rowcache.py)
ROWS = "rows.arrow"
# and each chapter file's state (size, times, inode) with its key, when it had settled
STATS = "states.marshal"
KEEP = (PACK, ROWS, STATS)
# A file whose times are this close to the moment its state was taken is read the next time
# all the same: it could have been written again within the same tick of the file system's
# clock, at the same size, and look unchanged.
SETTLED_NS = 2_000_000_000
STALE_SECONDS = 30 * 86400
WRITING_SECONDS = 3600
_HERE = Path(__file__).resolve().parent
READERS = ("PyYAML", "yaml-rs", "python-frontmatter", "markdown-it-py")
_FIELDS = tuple(f.name for f in fields(ChapterResult))
_PATH, _DIAGNOSTICS = _FIELDS.index("path"), _FIELDS.index("diagnostics")


@dataclass(frozen=True, slots=True)
class CachedChapter:
    """What one chapter gave a build, without its rows: how many it gave each table of
    package/rowcache.py (sections, statements, reports, recorded) and where they start in the
    tables that hold them (None: they are the Python rows of this build): the rows the last
    build kept or, where `parsed`, the rows the workers of this build sent as Arrow tables
    (Content.parsed); and what it said."""

    key: str
    counts: tuple[int, ...]
    offsets: tuple[int, ...] | None
    unpublished: bool
    ok: bool
    diagnostics: tuple[tuple, ...]
    parsed: bool = False


def _reader_digest() -> bytes:
    """The source of the code a chapter's result depends on: this folder, the schema's and the
    errors' modules, and the versions of the libraries that read a chapter."""
    from importlib import metadata  # 20 ms to import; lint never needs it

    digest = hashlib.blake2b(str(CACHE_FORMAT).encode(), digest_size=20)
    # and the libraries that read it: a new version may word an error or read a text otherwise
    for name in READERS:
        try:
            digest.update(f"{name} {metadata.version(name)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} -\0".encode())
    for path in sorted(_HERE.glob("*.py")) + [_HERE.parent / "schema.py",
                                              _HERE.parent / "errors.py"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.digest()


class ChapterCache:
    """Parsed chapters of one content folder under `folder` (None: keys only, nothing stored;
    without `salted`, keys that hold only within one reading)."""

    def __init__(self, folder: Path | None, root: Path, statuses: frozenset,
                 measures: frozenset, *, salted: bool = True):
        # Unsalted keys only tell chapters apart within one reading (lint's): the code's
        # digest costs 30 ms, a tenth of the lint command.
        salt = hashlib.blake2b(_reader_digest() if salted else b"", digest_size=20)
        for codes in (statuses, measures):
            salt.update("\0".join(sorted(codes)).encode() + b"\1")
        self._salt = salt
        self.folder = None
        if folder is not None:
            name = hashlib.blake2b(os.fsencode(os.path.realpath(root)), digest_size=10)
            self.folder = Path(folder) / f"chapters-{name.hexdigest()}"
        # the keys of this build's chapters, in order (set by the content reader)
        self.used: list[str] = []
        self.hits = 0
        self._pack: dict | None = None
        self._kept: dict[str, bytes] = {}
        self._changed = False
        self._looked = False
        self._elsewhere: set[str] = set()
        self._stats: dict | None = None
        self._new_stats: dict[tuple[str, ...], tuple] = {}

    def known_key(self, task: tuple, state: os.stat_result) -> str | None:
        """The key of the chapter of `task` without reading it, when its file is in the state
        (size, modification and change times, inode, device) it was in when a build read it,
        after it had settled; else None. As git takes a file whose state is unchanged for
        unchanged: a file written changes its change time, which cannot be set back, and one
        put in its place has another inode. Call `read_key` for the others."""
        if self.folder is None:
            return None
        if self._stats is None:
            self._stats = {}
            try:
                with open(self.folder / STATS, "rb") as file:
                    form, salt, stats = marshal.loads(file.read())
                if form == CACHE_FORMAT and salt == self._salt.hexdigest() \
                        and isinstance(stats, dict):
                    self._stats = stats
            except (OSError, EOFError, ValueError, TypeError):
                pass
        task_id = _task_id(task)
        entry = self._stats.get(task_id)
        if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == _state(state) \
                and isinstance(entry[1], str):
            self._new_stats[task_id] = entry
            return entry[1]
        return None

    def read_key(self, raw: bytes, task: tuple, state: os.stat_result | None,
                 taken_ns: int) -> str:
        """key(raw, task), and the file's `state` (taken before `raw` was read, at
        `taken_ns`) kept with it for known_key, if its times lie well before that moment."""
        key = self.key(raw, task)
        if state is not None and self.folder is not None and \
                max(state.st_mtime_ns, state.st_ctime_ns) < taken_ns - SETTLED_NS:
            self._new_stats[_task_id(task)] = (_state(state), key)
        return key

    def key(self, raw: bytes, task: tuple) -> str:
        """The key of a chapter read from `raw` with the arguments `task` (after the bytes)."""
        digest = self._salt.copy()
        for item in _task_id(task):
            digest.update(os.fsencode(item) + b"\0")
        digest.update(raw)
        return digest.hexdigest()

    def get(self, key: str) -> ChapterResult | None:
        """The result of `key` from the last build's pack, or from an entry this build stored."""
        self._looked = True
        data = self._kept.get(key) or self._entries().get(key)
        result = decode_entry(key, data) if isinstance(data, bytes) else None
        if result is not None:
            self.hits += 1
            self._kept[key] = data
        return result

    def elsewhere(self, key: str) -> None:
        """The result of `key` comes from the rows the last build kept (package/rowcache.py):
        the pack need not keep it."""
        self._looked = True
        self._elsewhere.add(key)

    def put(self, key: str, result: ChapterResult) -> None:
        """Keep `result` for the next build; a value marshal cannot store is parsed each time."""
        data = encode_entry(key, result)
        if data is not None:
            self.store(key, data)

    def store(self, key: str, data: bytes) -> None:
        """Keep an entry made by `encode_entry` (in a worker, say)."""
        self._kept[key] = data
        self._changed = True

    def _entries(self) -> dict:
        """The entries of the pack the last build left, read at the first lookup; {} when there
        is none or it cannot be read back whole."""
        if self._pack is None:
            self._pack = {}
            if self.folder is not None:
                try:
                    with open(self.folder / PACK, "rb") as pack:
                        # loads of the whole file: load() reads the file in many small pieces.
                        form, entries = marshal.loads(pack.read())
                    if form == CACHE_FORMAT and isinstance(entries, dict):
                        self._pack = entries
                except (OSError, EOFError, ValueError, TypeError):
                    pass
        return self._pack

    def save(self) -> None:
        """Write the entries this build used as the new pack, when they are not the old pack's,
        and let go of them; never fails (a cache that cannot be written only costs time)."""
        try:
            self._save()
        finally:
            # The rest of the build needs none of it: tens of MB at 100k statements.
            self._pack, self._kept = {}, {}

    def _save(self) -> None:
        if self.folder is None:
            return
        self._save_stats()
        if not self._looked:
            return  # no chapter was looked up: a build found up to date, or one that failed
        kept = {key: self._kept[key] for key in self.used
                if key in self._kept and key not in self._elsewhere}
        if not self._changed and len(kept) == len(self._entries()):
            self._sweep()
            return
        self._write(PACK, (CACHE_FORMAT, kept), "cache-entry")
        self._sweep()

    def _save_stats(self) -> None:
        """Keep the states taken this time (known_key), when they are not the ones kept."""
        if self._new_stats and self._new_stats != self._stats:
            self._write(STATS, (CACHE_FORMAT, self._salt.hexdigest(), self._new_stats))

    def _write(self, name: str, value, kill_at: str | None = None) -> None:
        """`value` marshalled into file `name`, written beside it and renamed over it; left
        as it was where that fails."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            data = marshal.dumps(value)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".new-")
        except (OSError, ValueError):
            return
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            if kill_at:
                from ..outdir import kill_point  # outdir's imports cost lint 15 ms

                kill_point(kill_at)
            os.replace(tmp, self.folder / name)
        except OSError:
            _unlink(tmp)
        except BaseException:
            _unlink(tmp)
            raise

    def _sweep(self) -> None:
        """Remove what killed runs left half-written, and the folders of content folders built
        no more (a month after their last build)."""
        try:
            names = os.listdir(self.folder)
        except OSError:
            return
        young = time.time() - WRITING_SECONDS
        for name in names:
            path = self.folder / name
            try:
                # Another build may be writing this one right now.
                if name in KEEP or (name.startswith(".new-") and path.stat().st_mtime > young):
                    continue
            except OSError:
                continue
            _unlink(path)
        stale = time.time() - STALE_SECONDS
        for other in self.folder.parent.glob("chapters-*"):
            try:
                if other != self.folder and other.stat().st_mtime < stale:
                    shutil.rmtree(other, ignore_errors=True)
            except OSError:
                pass


def _task_id(task: tuple) -> tuple[str, ...]:
    """What a chapter's key covers of its task besides the bytes (key())."""
    return tuple(os.fspath(item) for item in task if isinstance(item, (str, Path)))


def _state(state: os.stat_result) -> tuple[int, ...]:
    return (state.st_size, state.st_mtime_ns, state.st_ctime_ns, state.st_ino, state.st_dev)


def encode_entry(key: str, result: ChapterResult) -> bytes | None:
    """The entry of `result` under `key`, or None for a value marshal cannot store (that chapter
    is then parsed each time). Workers send their results back in this form: it is the cache's
    own, and costs less to make and to carry than a pickle of the objects."""
    values = [getattr(result, name) for name in _FIELDS]
    values[_PATH] = str(result.path)
    values[_DIAGNOSTICS] = [(d.path, d.line, d.severity, d.message, d.hint, d.col)
                            for d in result.diagnostics]
    try:
        return marshal.dumps((CACHE_FORMAT, key, values))
    except ValueError:
        return None


def decode_entry(key: str, data: bytes) -> ChapterResult | None:
    """The result in an entry made by `encode_entry`, or None when it is not a whole one for
    `key`."""
    try:
        form, stored, values = marshal.loads(data)
        if form != CACHE_FORMAT or stored != key or len(values) != len(_FIELDS):
            return None
        values = dict(zip(_FIELDS, values))
        values["path"] = Path(values["path"])
        values["diagnostics"] = [Diagnostic(*d) for d in values["diagnostics"]]
        return ChapterResult(**values)
    except (EOFError, ValueError, TypeError):
        return None


def _unlink(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
