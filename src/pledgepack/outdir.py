"""The output folder: whether it may be replaced, one writer at a time, and an atomic swap.

`out` is only ever replaced when it is provably an earlier build or release (nothing in it but
the files those write), never when it is or holds the content, a repository or the working
directory. The new package is written beside it and exchanged with it in one step
(`renameat2(RENAME_EXCHANGE)` on Linux), so that at every instant `out` is a complete package,
the old one or the new one. When `out` is a symbolic link, the folder it points to is swapped
and the link is kept. Folders a killed run left beside `out` carry a name only this module
gives; they are removed by the next run, which holds the lock on `out`.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import PledgepackError
from .package.descriptor import declared_paths

DESCRIPTOR = "datapackage.json"
# Written into every build: a folder holding it (and nothing else but build files) is ours.
MARKER = ".pledgepack"
MARKER_TEXT = "Written by pledgepack: the next build into this folder replaces all of it.\n"
# Names of what a build or a release writes besides the resources its descriptor declares.
BUILD_FILES = frozenset({MARKER, DESCRIPTOR, "views.sql", "views-remote.sql", "README.md",
                         "CHANGELOG.md", "CITATION.cff", "LICENSE.md", "SHA256SUMS",
                         "status-over-time.svg"})
# The database, the zips, and the exports a release writes (named after the package).
BUILD_SUFFIXES = (".duckdb", ".zip", ".sqlite", ".datasette.json", ".xlsx")
# Every folder this module makes beside `out` is named `.<out>.pledgepack-<kind>-<random>`.
TEMP_MARK = ".pledgepack-"
# A test hook: the run kills itself with SIGKILL on reaching the named step (see swap).
KILL_ENV = "PLEDGEPACK_KILL_AT"
# How long a second run waits for the first to finish, in seconds.
LOCK_ENV = "PLEDGEPACK_LOCK_TIMEOUT"
LOCK_SECONDS = 600.0

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputError(PledgepackError):
    """`--out` cannot be written as asked."""


def kill_point(step: str) -> None:
    """Die here, as a power cut or `kill -9` would, when the test hook names this step."""
    if os.environ.get(KILL_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def target_of(out: Path) -> Path:
    """The folder to replace: `out` itself, or what a symbolic link `out` points to."""
    out = Path(os.path.abspath(out))
    if out.is_symlink():
        real = Path(os.path.realpath(out))
        if not real.parent.is_dir():
            raise OutputError(f"{out}: is a symbolic link to {real}, whose folder does not "
                              "exist; create it, or remove the link")
        return real
    return out


def check_target(out: Path, content: Path | None = None) -> None:
    """Refuse an `out` that is not provably an earlier build: it may hold someone's files."""
    target = target_of(out)
    real = Path(os.path.realpath(target))
    if content is not None:
        source = Path(os.path.realpath(content))
        if real == source or real in source.parents or source in real.parents:
            raise OutputError(f"{out}: is, holds or lies in the content folder {content}; "
                              "refusing to write there. Give another --out, such as dist.")
    cwd = Path(os.path.realpath(os.getcwd()))
    if real == cwd or real in cwd.parents:
        raise OutputError(f"{out}: is or holds the current directory; refusing to replace it. "
                          "Give a folder of its own, such as --out dist.")
    if not os.path.lexists(target):
        return
    if not target.is_dir():
        raise OutputError(f"{out}: exists and is not a folder; refusing to replace it. Choose "
                          "another --out, or remove it yourself.")
    stray = foreign_files(target)
    if not stray and any(target.iterdir()) and not _marked(target):
        stray = [f"no {MARKER} marker"]
    if stray:
        raise OutputError(
            f"{out}: is not a pledgepack build ({_why(stray[0])}); "
            "refusing to replace it. Choose another --out, or remove it yourself.")


def mark(folder: Path) -> None:
    (folder / MARKER).write_text(MARKER_TEXT, encoding="utf-8")


def file_states(folder: Path) -> dict[str, list[int]]:
    """Every file in `folder` (posix path -> size, mtime, ctime, inode): what changes when
    anyone writes, replaces or touches a file. The ctime cannot be set back by hand, so a file
    edited and given its old mtime again still shows."""
    states = {}
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, folder).replace(os.sep, "/")
            states[rel] = file_state(path)
    return states


def file_state(path: Path | str) -> list[int]:
    """One file's entry in file_states (OSError if it is not there)."""
    info = os.lstat(path)
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]


def _marked(folder: Path) -> bool:
    """The marker, or (a build from before the marker) a descriptor with pledgepack's tables."""
    if (folder / MARKER).is_file():
        return True
    try:
        meta = json.loads((folder / DESCRIPTOR).read_text(encoding="utf-8"))
        names = {r.get("name") for r in meta.get("resources", [])}
    except (OSError, ValueError, AttributeError):
        return False
    return {"statements", "sections", "status_history"} <= names


def foreign_files(folder: Path) -> list[str]:
    """What in `folder` a build or release did not write (posix paths); [] for an empty folder
    or an earlier build."""
    if (folder / ".git").exists():
        return [".git"]
    declared: set[str] = set()
    descriptor = folder / DESCRIPTOR
    if descriptor.is_file():
        try:
            declared.update(declared_paths(json.loads(descriptor.read_text(encoding="utf-8"))))
        except (OSError, ValueError, AttributeError):
            return [DESCRIPTOR]
    stray = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        for name in sorted(files) + [d for d in sorted(dirs) if (here / d).is_symlink()]:
            rel = (here / name).relative_to(folder).as_posix()
            if (here / name).is_symlink() or not _ours(rel, declared):
                stray.append(rel)
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
        if here != folder and here.relative_to(folder).as_posix() != "data":
            stray.append(here.relative_to(folder).as_posix() + "/")
    return sorted(stray)


def _why(stray: str) -> str:
    return stray if stray.startswith("no ") else f"{stray} is not a file the build writes"


def _ours(rel: str, declared: set[str]) -> bool:
    if rel in declared:
        return True
    if "/" in rel:
        return rel.startswith("data/") and rel.endswith((".csv", ".parquet"))
    return rel in BUILD_FILES or rel.endswith(BUILD_SUFFIXES)


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold the lock on the folder `out` lies in for the block: a second build or release there
    waits until the first is done (at most LOCK_ENV seconds, then it fails with a message).
    The lock is on the folder itself, so that it leaves no file behind."""
    target = target_of(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        deadline = time.monotonic() + float(os.environ.get(LOCK_ENV) or LOCK_SECONDS)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OutputError(
                        f"{out}: another pledgepack build or release is writing into "
                        f"{target.parent}; wait for it to finish, then run again") from None
                time.sleep(0.05)
        clean_leftovers(target)
        yield
    finally:
        os.close(fd)


def clean_leftovers(target: Path) -> list[Path]:
    """Remove the folders a killed run left beside `target` (called under its lock)."""
    removed = []
    prefix = f".{target.name}{TEMP_MARK}"
    if not os.path.lexists(target):
        # A run without atomic exchange was killed between its two renames: put the old
        # package back, so that `out` is whole again.
        for old in sorted(target.parent.glob(f"{prefix}old-*/package")):
            os.rename(old, target)
            break
    for path in sorted(target.parent.glob(f"{prefix}*")):
        if path.is_dir() and not path.is_symlink():
            remove_worktrees(path)
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def remove_worktrees(folder: Path) -> None:
    """Unregister the git worktrees a release checked out inside `folder`: remove the
    repository's admin entry of each, when that entry points back to the checkout."""
    for gitfile in folder.glob("tree-*/.git"):
        try:
            line = gitfile.read_text(encoding="utf-8").strip()
            if not line.startswith("gitdir: "):
                continue
            admin = Path(line.removeprefix("gitdir: "))
            back = (admin / "gitdir").read_text(encoding="utf-8").strip()
        except OSError:
            continue
        same = os.path.realpath(back) == os.path.realpath(gitfile)
        if same and admin.parent.name == "worktrees":
            shutil.rmtree(admin, ignore_errors=True)


def temp_folder(out: Path, kind: str) -> Path:
    """A new folder beside the target of `out`, named so that leftovers are known as ours."""
    target = target_of(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}{TEMP_MARK}{kind}-"))


def swap(new: Path, out: Path) -> None:
    """Put the folder `new` in place of `out` (or of the folder `out` links to) atomically,
    and remove the old one. `new` must lie beside the target (the same file system)."""
    target = target_of(out)
    kill_point("swap")
    if not os.path.lexists(target):
        os.rename(new, target)
        kill_point("swapped")
        return
    if _exchange(new, target):
        kill_point("swapped")
        shutil.rmtree(new)
        return
    # No atomic exchange here (not Linux, or a file system without it): two renames, with the
    # old package kept beside it until the new one is in place.
    old = temp_folder(out, "old")
    os.rename(target, old / "package")
    kill_point("between-renames")
    os.rename(new, target)
    kill_point("swapped")
    shutil.rmtree(old)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step; False when the system cannot."""
    if os.environ.get("PLEDGEPACK_NO_EXCHANGE"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))
