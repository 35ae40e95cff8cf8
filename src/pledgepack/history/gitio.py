"""The git plumbing behind the history: where the repository is, one `git log` over the content
folder, and one long-running `git cat-file --batch` to read the blobs that log names.

Everything talks to the `git` program, so that any repository git can read works (worktrees,
submodules, packed or partial clones) without a binding to install.
"""
from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import PledgepackError

# Settings a user's git config could change and that would change the output we parse.
_CONFIG = ("-c", "log.showSignature=false", "-c", "log.showRoot=true")
# One header per commit: a record separator, then the fields split by unit separators. The
# author name comes last, so that a stray separator in it cannot shift the other fields.
# %aN applies .mailmap, so an editor who committed under two spellings is one author.
_FORMAT = "--format=%x1e%H%x1f%ct%x1f%at%x1f%aN"
_FILE_MODES = ("100644", "100755")


class HistoryError(PledgepackError):
    """The git history cannot be read (a shallow clone, or git failed)."""


@dataclass(frozen=True)
class Repository:
    top: Path          # the work tree's top folder
    prefix: str        # the content folder inside it, '' for the top, posix, no trailing '/'
    head: str | None   # None before the first commit
    shallow: bool


@dataclass(frozen=True)
class FileChange:
    """One entry of a commit's raw diff. `old` is the path that went away (deleted or renamed
    from), `new` the path that holds `blob` afterwards; either may be None."""

    old: str | None
    new: str | None
    blob: str | None


@dataclass
class Commit:
    sha: str
    committed: dt.datetime
    authored: dt.datetime
    author: str
    files: list[FileChange]


def _git(top: Path, *args: str) -> bytes:
    proc = subprocess.run(["git", *_CONFIG, "-C", str(top), *args], capture_output=True)
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip()
        raise HistoryError(f"git {args[0]} failed in {top}: {message}")
    return proc.stdout


def git_text(top: Path, *args: str) -> str:
    """A git command's output as text, stripped; HistoryError when git fails."""
    return _git(top, *args).decode("utf-8", "surrogateescape").strip()


def resolves(top: Path, ref: str) -> bool:
    """Whether `ref` names a commit in the repository."""
    return subprocess.run(["git", "-C", str(top), "rev-parse", "-q", "--verify",
                           f"{ref}^{{commit}}"], capture_output=True).returncode == 0


def line_commits(path: Path) -> dict[int, tuple[str, dt.datetime]] | None:
    """For each line of a file in a git work tree (1-based), the commit that last wrote it and
    its committer time (git blame, following .mailmap and moves within the file); lines not yet
    committed are left out. None when the file is not in a repository with commits."""
    # One git call: outside a repository, before the first commit, for an untracked file or a
    # damaged HEAD, blame fails and there is nothing to say.
    try:
        proc = subprocess.run(["git", *_CONFIG, "-C", str(path.parent), "blame", "--porcelain",
                               "--", path.name], capture_output=True)
    except FileNotFoundError:
        return None  # git is not installed
    if proc.returncode != 0:
        return None  # not tracked, or git cannot blame it
    found, times, current = {}, {}, None
    for row in proc.stdout.decode("utf-8", "surrogateescape").split("\n"):
        head = row.split(" ")
        if len(head) >= 3 and len(head[0]) in (40, 64) and head[1].isdigit():
            current = (head[0], int(head[2]))
        elif row.startswith("committer-time ") and current:
            times[current[0]] = _utc(row.split(" ", 1)[1])
        elif row.startswith("\t") and current:
            sha, line = current
            if sha.strip("0") and sha in times:
                found[line] = (sha, times[sha])
    return found


def refused_repository(folder: Path) -> str | None:
    """Why git refuses to read the repository holding `folder` (one owned by another user:
    "dubious ownership"), or None when it does not refuse."""
    try:
        proc = subprocess.run(["git", "-C", str(folder), "rev-parse", "--show-toplevel"],
                              capture_output=True)
    except FileNotFoundError:
        return None
    message = proc.stderr.decode("utf-8", "replace")
    if proc.returncode == 0 or "dubious ownership" not in message:
        return None
    return message.strip().splitlines()[0].removeprefix("fatal: ")


def find_repository(folder: Path) -> Repository | None:
    """The repository whose work tree holds `folder`; None when there is none or git is not
    installed."""
    try:
        proc = subprocess.run(["git", "-C", str(folder), "rev-parse", "--show-toplevel",
                               "--is-shallow-repository"], capture_output=True)
    except FileNotFoundError:
        return None
    if proc.returncode != 0:
        return None
    lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    if len(lines) != 2 or not lines[0]:
        return None  # inside .git, or a bare repository: no work tree to walk
    top = Path(lines[0])
    # rev-parse prints the real path of the top; relate the real path of the folder to it.
    prefix = folder.resolve().relative_to(top.resolve()).as_posix()
    head = subprocess.run(["git", "-C", str(top), "rev-parse", "--verify", "-q", "HEAD^{commit}"],
                          capture_output=True)
    if head.returncode != 0:
        named = subprocess.run(["git", "-C", str(top), "rev-parse", "--verify", "-q", "HEAD"],
                               capture_output=True)
        if named.returncode == 0:
            # HEAD names a commit that cannot be read: not a repository without commits.
            message = head.stderr.decode("utf-8", "replace").strip().splitlines()
            raise HistoryError(
                f"{top}: HEAD ({named.stdout.decode().strip()}) is not a readable commit"
                f"{': ' + message[-1] if message else ''}; the repository is damaged. Run "
                "'git fsck', or clone it again")
    return Repository(top=top, prefix="" if prefix == "." else prefix,
                      head=head.stdout.decode().strip() if head.returncode == 0 else None,
                      shallow=lines[1] == "true")


def cache_folder(repo: Repository) -> Path | None:
    """pledgepack's cache inside the repository's git folder: never committed, and gone with
    the clone."""
    try:
        out = _git(repo.top, "rev-parse", "--git-common-dir").decode().strip()
    except HistoryError:
        return None
    return (repo.top / out / "pledgepack").resolve()


def on_first_parent_chain(repo: Repository, ancestor: str) -> bool:
    """Whether `ancestor` is HEAD or lies on HEAD's first-parent chain: walking first parents
    from HEAD back to the ancestors of `ancestor`, the last commit's first parent must be it."""
    if ancestor == repo.head:
        return True
    try:
        out = _git(repo.top, "rev-list", "--first-parent", "--parents", f"{ancestor}..HEAD")
    except HistoryError:
        return False  # the commit is gone (a rewritten history, garbage-collected)
    lines = out.decode().splitlines()
    return bool(lines) and lines[-1].split()[1:2] == [ancestor]


def log(repo: Repository, since: str | None = None) -> list[Commit]:
    """The commits that changed the content folder, oldest first, on HEAD's first-parent chain
    (after `since`, when given). A merge shows its diff against its first parent, that is what
    it brought to the branch."""
    revision = f"{since}..HEAD" if since else "HEAD"
    # ':(literal)' so that a folder named with '*' or '?' is not a pattern; '.' is the whole tree.
    pathspec = f":(literal){repo.prefix}" if repo.prefix else "."
    out = _git(repo.top, "log", "--reverse", "--first-parent", "--diff-merges=first-parent", "-M",
               "--raw", "-z", "--no-abbrev", _FORMAT, revision, "--", pathspec)
    return parse_log(out)


def parse_log(out: bytes) -> list[Commit]:
    """Parse `git log --raw -z` output in the format of _FORMAT: NUL-separated tokens, each a
    commit header, a raw diff entry (':modes shas status'), or one of the entry's paths."""
    commits: list[Commit] = []
    tokens = iter(out.split(b"\0"))
    for token in tokens:
        # git puts a newline between a header and the first raw entry.
        token = token.lstrip(b"\n")
        if token.startswith(b"\x1e"):
            sha, committed, authored, author = token[1:].decode("utf-8", "replace").split("\x1f", 3)
            commits.append(Commit(sha, _utc(committed), _utc(authored), author, []))
        elif token.startswith(b":"):
            _, new_mode, _, blob, status = token[1:].decode().split(" ")
            first = next(tokens).decode("utf-8", "surrogateescape")
            if status[0] == "R":
                old, new = first, next(tokens).decode("utf-8", "surrogateescape")
            elif status == "A":
                old, new = None, first
            elif status == "D":
                old, new = first, None
            else:  # M, or T (the type changed: a file became a link or back)
                old, new = first, first
            if new is not None and new_mode not in _FILE_MODES:
                new = None  # a symbolic link or a submodule holds no chapter text
            # The null id (all zeros, 40 or 64 of them) stands for no blob.
            blob = blob if new and blob.strip("0") else None
            commits[-1].files.append(FileChange(old, new, blob))
    return commits


def _utc(seconds: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(seconds), tz=dt.timezone.utc)


def read_blobs(top: Path, blobs: list[str]) -> Iterator[tuple[str, bytes]]:
    """(blob id, bytes) for each id, in order, from one `git cat-file --batch`. The ids go in
    through a file rather than a pipe, so that git never waits for us to read while we write."""
    if not blobs:
        return
    with tempfile.TemporaryFile() as ids:
        ids.write("".join(f"{blob}\n" for blob in blobs).encode())
        ids.seek(0)
        proc = subprocess.Popen(["git", "-C", str(top), "cat-file", "--batch"], stdin=ids,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        finished = False
        try:
            for blob in blobs:
                header = proc.stdout.readline().split()
                if len(header) != 3 or header[0].decode() != blob:
                    raise HistoryError(f"git cat-file could not read blob {blob} in {top}")
                size = int(header[2])
                data = proc.stdout.read(size + 1)  # the content and git's closing newline
                yield blob, data[:size]
            finished = True
        finally:
            if not finished:  # the caller stopped early or a blob was missing
                proc.kill()
            proc.stdout.close()
            proc.wait()
