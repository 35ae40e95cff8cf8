"""Whether `out` already holds what a build would write: then the build leaves it untouched.

A build's output is a function of its inputs: the chapters (by the keys of the chapter cache,
which hash their bytes, paths and document ids), the documents' and the package's metadata
files, the schemas, the git history (its HEAD and .mailmap), `created`, the version and flags,
and the code and libraries that write the files. Their fingerprint is recorded after every build,
in the cache folder (not in `out`, whose files must be the same bytes for the same content),
with the size, times and inode of each file written. A later build
with the same fingerprint, into a folder whose files are still those it recorded, would write
the same bytes again, so it does not. Any difference, or a record it cannot read, means a full
build: a file edited, touched, replaced or deleted by hand shows in its ctime or inode.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from .content.folder import DOCUMENT_FILE
from .content.metadata import METADATA_FILE
from .fingerprint import code_digest
from .history.gitio import Repository, cache_folder
from .history.walk import GitHistory
from .outdir import file_state, file_states, target_of
from .package.descriptor import DATA_DIR
from .schema import PackageSchema

# Bump when what the fingerprint covers changes.
FINGERPRINT_FORMAT = 3


def cache_root(repo: Repository | None) -> Path | None:
    """Where parsed chapters are kept: pledgepack's folder in the repository's git folder,
    beside the history cache (never committed, gone with the clone); for content outside a
    repository, the user's cache folder (XDG_CACHE_HOME, else ~/.cache), never the content
    folder itself, which other tools read. A relative XDG_CACHE_HOME is ignored, as the XDG
    base directory specification asks; without an absolute folder there is no cache, and every
    build reads every chapter."""
    if repo is not None:
        return cache_folder(repo)
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pledgepack" if os.path.isabs(base) else None


def inputs_fingerprint(schema: PackageSchema, content: Path, chapter_keys: list[str],
                       created: str | None, history: GitHistory | None, repo_top: Path | None,
                       flags: dict) -> str:
    digest = hashlib.sha256()

    def add(label: str, value: bytes | str) -> None:
        data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
        digest.update(f"{label}\0{len(data)}\0".encode() + data)

    add("format", str(FINGERPRINT_FORMAT))
    add("schema", json.dumps(schema.descriptor, sort_keys=True))
    add("chapters", "\n".join(chapter_keys))
    for path in _metadata_files(content):
        add(path.relative_to(content).as_posix(), _read(path))
    add("created", created or "")
    if history is not None:
        # the commits that touched the content, not HEAD: a commit elsewhere in the repository
        # leaves the package as it is
        add("history", json.dumps([history.last_commit, history.first_commit, history.commits,
                                   history.shallow, history.notes]))
    if repo_top is not None:
        add("mailmap", _read(repo_top / ".mailmap"))
    add("flags", json.dumps(flags, sort_keys=True))
    add("code", code_digest())
    return digest.hexdigest()


def _record_path(cache: Path, out: Path) -> Path:
    name = hashlib.blake2b(os.fsencode(os.path.realpath(target_of(out))), digest_size=10)
    return cache / "builds" / f"{name.hexdigest()}.json"


def up_to_date(cache: Path | None, out: Path, fingerprint: str) -> dict | None:
    """The record of the build in `out` when it was made from the same inputs and its files are
    as that build left them; None when a build must run."""
    if cache is None:
        return None
    try:
        record = json.loads(_record_path(cache, out).read_text(encoding="utf-8"))
        if record["fingerprint"] != fingerprint or file_states(target_of(out)) != record["files"]:
            return None
        if isinstance(record["counts"], dict) and isinstance(record["resources"], dict) \
                and isinstance(record["diagnostics"], list):
            return record
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def last_build(cache: Path | None, out: Path) -> dict | None:
    """The record of the last build into `out`, whatever its inputs; None without one."""
    if cache is None:
        return None
    try:
        record = json.loads(_record_path(cache, out).read_text(encoding="utf-8"))
        return record if isinstance(record, dict) else None
    except (OSError, ValueError):
        return None


def proven_tables(record: dict | None) -> dict[str, int]:
    """{key: rows} of the tables the build of `record` found sound, by their own and their
    whole keys (check/validate.py's table_keys): a table with the same key now holds the same
    bytes, checked by the same code."""
    try:
        return {key: rows for own, whole, rows in record["verdicts"].values()
                for key in (own, whole) if isinstance(key, str) and isinstance(rows, int)}
    except (KeyError, TypeError, AttributeError, ValueError):
        return {}


def table_code(schema: PackageSchema) -> str:
    """What a table's files depend on besides its rows: the code, libraries and schema."""
    return hashlib.sha256(f"{code_digest()}\0{json.dumps(schema.descriptor, sort_keys=True)}"
                          .encode("utf-8")).hexdigest()


def reusable_tables(record: dict | None, out: Path, code: str) -> dict[str, str]:
    """table -> the name of its rows (package/rowcache.py's rows_id), for each table whose
    files the build of `record` wrote into `out` with `code`, and which are still as it left
    them."""
    try:
        if record is None or record.get("code") != code:
            return {}
        files, tables = record["files"], record["tables"]
        states = file_states(target_of(out))
        return {name: rows for name, rows in tables.items() if isinstance(rows, str) and all(
            (path := f"{DATA_DIR}/{name}.{kind}") in files and states.get(path) == files[path]
            for kind in ("csv", "parquet"))}
    except (OSError, KeyError, TypeError, AttributeError):
        return {}


def reusable_database(record: dict | None, out: Path, code: str, name: str) -> Path | None:
    """The database `<name>.duckdb` that the build of `record` wrote into `out` with `code`,
    if it is still as that build left it: the tables reusable_tables names are in it too.
    Not if a write-ahead log lies beside it: someone wrote to it, and a reader would replay
    their changes."""
    try:
        if record is None or record.get("code") != code:
            return None
        path = target_of(out) / f"{name}.duckdb"
        if os.path.lexists(f"{path}.wal") or file_state(path) != record["files"][path.name]:
            return None
        return path
    except (OSError, KeyError, TypeError, AttributeError):
        return None


def record_build(cache: Path | None, out: Path, record: dict) -> None:
    """Keep what made the build now in `out` (after the swap: a run killed before this leaves
    the record of the build before, whose files are gone, so the next run builds)."""
    if cache is None:
        return
    path = _record_path(cache, out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".new-")
    except OSError:
        return  # the record only saves time
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(record, file, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        os.unlink(tmp)
    except BaseException:
        os.unlink(tmp)
        raise


def _metadata_files(content: Path) -> list[Path]:
    """The files besides the chapters that the content reader reads."""
    found = [content / METADATA_FILE, content / DOCUMENT_FILE]
    if content.is_dir():
        found += sorted(p / DOCUMENT_FILE for p in content.iterdir() if p.is_dir())
    return found


def _read(path: Path) -> bytes:
    """A file's bytes; a marker of its absence or of why it cannot be read."""
    try:
        return b"file\0" + path.read_bytes()
    except OSError as exc:
        return f"missing\0{type(exc).__name__}".encode()
