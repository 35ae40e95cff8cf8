"""The running CHANGELOG.md: the new release's entry on top, then the entries of every earlier
release, rebuilt from the `v*` tags reachable from HEAD.

Each tag's package is built once from a temporary worktree (as cut.py builds the previous
release) and kept in pledgepack's cache inside the repository's git folder, keyed by the tagged
commit, the tag, pledgepack's version and the descriptor; a later release rebuilds only the
tags it has not seen.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tempfile
from pathlib import Path

from ..history.gitio import Repository, cache_folder, git_text
from ..package.descriptor import DESCRIPTOR

# Bump when what a cached package holds changes meaning.
CACHE_FORMAT = 1


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("pledgepack")
    except metadata.PackageNotFoundError:
        return "unknown"


def tag_package(repo: Repository, tag: str, work: Path, *, descriptor: Path | None,
                jobs: int | None) -> Path:
    """The package as built at `tag`, from the cache when it was built before."""
    from .cut import package_at

    commit = git_text(repo.top, "rev-parse", f"refs/tags/{tag}^{{commit}}")
    cache = cache_folder(repo)
    if cache is None:
        return package_at(repo, tag, work, descriptor=descriptor, jobs=jobs)
    rules = Path(descriptor).read_bytes() if descriptor else b""
    key = hashlib.sha256(b"\0".join([str(CACHE_FORMAT).encode(), commit.encode(), tag.encode(),
                                     _version().encode(), hashlib.sha256(rules).digest()]))
    cached = cache / "packages" / key.hexdigest()[:24]
    if (cached / DESCRIPTOR).is_file():
        return cached
    built = package_at(repo, tag, work, descriptor=descriptor, jobs=jobs)
    cached.parent.mkdir(parents=True, exist_ok=True)
    # Copied beside and renamed into place, so that an interrupted copy is never taken.
    partial = Path(tempfile.mkdtemp(dir=cached.parent, prefix=".partial-"))
    try:
        shutil.copytree(built, partial, dirs_exist_ok=True)
        partial.rename(cached)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
        if not (cached / DESCRIPTOR).is_file():
            raise
    return cached


def tag_day(repo: Repository, tag: str) -> str:
    """The UTC day a tagged release was made, by the rule of its own release date: an annotated
    tag's tagger date, else (a lightweight tag has none) the tagged commit's committer date."""
    seconds = git_text(repo.top, "for-each-ref", "--format=%(taggerdate:unix)",
                       f"refs/tags/{tag}")
    if not seconds.isdigit():
        seconds = git_text(repo.top, "log", "-1", "--format=%ct", f"refs/tags/{tag}^{{commit}}")
    return dt.datetime.fromtimestamp(int(seconds), tz=dt.timezone.utc).date().isoformat()


def earlier_entries(repo: Repository, version: str, work: Path, *, descriptor: Path | None,
                    jobs: int | None) -> list[str]:
    """The changelog entries of the releases tagged below `version`, newest first, each
    comparing a tag's package with the one of the tag before it (the first is a first
    release)."""
    from .changelog import compare, render_entry
    from .cut import release_tags, version_key

    tags = release_tags(repo)
    earlier = sorted((v for v in tags if version_key(v) < version_key(version)), key=version_key)
    entries, previous = [], None
    for number in earlier:
        folder = tag_package(repo, tags[number], work, descriptor=descriptor, jobs=jobs)
        entries.append(render_entry(compare(previous, folder), version=number,
                                    date=tag_day(repo, tags[number])))
        previous = folder
    return entries[::-1]
