"""Releases: the package with its data README, CHANGELOG, citation and licence, as a
reproducible zip with checksums, compared with the previous release.

A release is built, fully validated (frictionless reads every CSV row), documented and zipped
in a folder beside `out`, and swapped in only when all of it worked, like a build.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..build import BuildResult, Progress, build
from ..errors import PledgepackError
from ..history.gitio import Repository, find_repository, git_text, resolves
from ..outdir import (
    MARKER,
    OutputError,
    check_target,
    kill_point,
    locked,
    remove_worktrees,
    swap,
    temp_folder,
)
from ..package.descriptor import (
    DESCRIPTOR,
    is_old_parquet,
    parquet_files,
    sha256,
    source_date_epoch,
)
from ..package.read import MAX_MEMBER_BYTES, extract_package, read_member

VERSION_RE = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
SUMS_FILE = "SHA256SUMS"
CHART_FILE = "status-over-time.svg"
REMOTE_VIEWS_FILE = "views-remote.sql"
# Zip can store no time before 1980.
ZIP_EPOCH = dt.datetime(1980, 1, 1, tzinfo=dt.timezone.utc)
# A regular file, rw-r--r--, in the high 16 bits where unzip reads Unix permissions.
FILE_ATTRIBUTES = (stat.S_IFREG | 0o644) << 16
ZIP_LEVEL = 9
# What a previous release's zip may unpack to: far above any real package, far below a bomb.


class ReleaseError(PledgepackError):
    """A release cannot be made as asked."""


@dataclass
class Previous:
    folder: Path
    label: str           # where it came from, for messages and the changelog
    version: str | None


@dataclass
class ReleaseResult:
    out: Path
    version: str
    zip: Path
    sums: Path
    files: list[str]
    previous: Previous | None
    build: BuildResult
    changelog: str


def parse_version(text: str) -> str:
    """'1.2.0' (a leading 'v' is dropped, as in a tag name); anything else is refused."""
    version = text[1:] if text[:1] in "vV" else text
    if not VERSION_RE.fullmatch(version):
        raise ReleaseError(f"version {text!r} is not of the form X.Y.Z (such as 1.2.0)")
    return version


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def release_epoch(content: Path, version: str | None = None) -> int:
    """When the release was made: SOURCE_DATE_EPOCH; else, where the tag v<version> names the
    commit being released (HEAD), the tag's date (an annotated tag's tagger date; a lightweight
    tag has none, so the commit's); else the committer time of HEAD. Both are in the
    repository, so the same checkout always gives the same date."""
    epoch = source_date_epoch()
    if epoch is not None:
        return epoch
    repo = find_repository(content)
    if repo is None or repo.head is None:
        raise ReleaseError(
            f"{content}: not in a git repository with a commit, so the release has no date to "
            "stamp its files with; commit the content, or set SOURCE_DATE_EPOCH (seconds "
            "since 1970) to the release's date")
    tag = tag_of(repo, version) if version else None
    if tag and git_text(repo.top, "rev-parse", f"refs/tags/{tag}^{{commit}}") == repo.head:
        tagged = git_text(repo.top, "for-each-ref", "--format=%(taggerdate:unix)",
                          f"refs/tags/{tag}")
        if tagged.isdigit():
            return int(tagged)
    return int(git_text(repo.top, "log", "-1", "--format=%ct", "HEAD"))


# --- the previous release ----------------------------------------------------------------

def release_tags(repo: Repository) -> dict[str, str]:
    """Version -> tag name, for the `v*` tags reachable from HEAD that name a version."""
    found = {}
    for tag in git_text(repo.top, "tag", "--list", "v*", "--merged", "HEAD").splitlines():
        try:
            found[parse_version(tag)] = tag
        except ReleaseError:
            continue
    return found


def tag_of(repo: Repository, version: str) -> str | None:
    """The tag `v<version>`, wherever it points."""
    tag = f"v{version}"
    return tag if resolves(repo.top, f"refs/tags/{tag}") else None


def previous_tag(repo: Repository, version: str) -> str | None:
    """The tag of the highest version below `version` reachable from HEAD: on a release job
    checked out at tag v1.2.0, that is v1.1.0, not v1.2.0 itself."""
    tags = release_tags(repo)
    earlier = [v for v in tags if version_key(v) < version_key(version)]
    return tags[max(earlier, key=version_key)] if earlier else None


def package_at(repo: Repository, ref: str, work: Path, *, descriptor: Path | None,
               jobs: int | None) -> Path:
    """Build the package as it was at `ref`, with its history up to there, from a temporary
    worktree of the same repository."""
    tree = work / f"tree-{ref.replace('/', '_')}"
    git_text(repo.top, "worktree", "add", "--quiet", "--detach", str(tree), ref)
    try:
        content = tree / repo.prefix if repo.prefix else tree
        if not content.is_dir():
            raise ReleaseError(f"{ref}: has no folder {repo.prefix!r}; give the previous "
                               "release with --previous as a zip or folder")
        out = work / f"package-{ref.replace('/', '_')}"
        try:
            build(content, out, descriptor=descriptor, jobs=jobs, version=_version_of_tag(ref))
        except PledgepackError as exc:
            raise ReleaseError(f"the package at {ref} does not build: {exc}") from None
        return out
    finally:
        git_text(repo.top, "worktree", "remove", "--force", str(tree))


def package_from_path(path: Path, work: Path) -> Path:
    """A released package given as a folder or as a zip (extracted into `work`), checked to be
    a valid package before anything reads it."""
    if path.is_dir():
        if not (path / DESCRIPTOR).is_file():
            raise ReleaseError(f"{path}: no {DESCRIPTOR} in it; give a released package "
                               "folder or zip")
        folder = path
    elif not zipfile.is_zipfile(path):
        raise ReleaseError(f"{path}: neither a folder nor a zip file")
    else:
        folder = work / "previous-zip"
        folder.mkdir()
        try:
            extract_package(path, folder)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError,
                NotImplementedError) as exc:
            raise ReleaseError(f"{path}: the zip cannot be read ({exc})") from None
    from ..check.validate import validate_package

    report = validate_package(folder, csv_rows=False)
    if not report.valid:
        first = report.problems[0]
        # A zip was unpacked into a scratch folder: its messages name the zip instead.
        message = first.message.replace(str(folder), str(path)) if folder != path \
            else first.message
        raise ReleaseError(f"{path}: the previous release is not a valid package "
                           f"({len(report.problems)} problem(s), the first: "
                           f"{message}); give another with --previous")
    return folder


def find_previous(given: str | None, content: Path, version: str, work: Path, *,
                  descriptor: Path | None, jobs: int | None) -> Previous | None:
    repo = find_repository(content)
    if given is not None:
        path = Path(given)
        if path.exists():
            folder = package_from_path(path, work)
            return Previous(folder, str(path), _descriptor(folder).get("version"))
        if repo is None or not resolves(repo.top, given):
            raise ReleaseError(f"--previous {given}: no such file, folder or git tag")
        folder = package_at(repo, given, work, descriptor=descriptor, jobs=jobs)
        return Previous(folder, given, _version_of_tag(given))
    if repo is None or repo.head is None:
        return None
    from .running import tag_package

    tag = previous_tag(repo, version)
    if tag is None:
        return None
    folder = tag_package(repo, tag, work, descriptor=descriptor, jobs=jobs)
    return Previous(folder, tag, parse_version(tag))


def _version_of_tag(ref: str) -> str | None:
    try:
        return parse_version(ref)
    except ReleaseError:
        return None


# --- one version, one content ------------------------------------------------------------

def data_hashes(descriptor: dict) -> dict[str, str]:
    """Declared path -> hash of every data file, CSV and Parquet, in either descriptor shape."""
    entries = [r for r in descriptor.get("resources") or []
               if isinstance(r, dict) and not is_old_parquet(r)]
    return {str(e.get("path")): e.get("hash")
            for e in entries + list(parquet_files(descriptor).values())}


def check_version_unused(version: str, new: dict, content: Path, out: Path, work: Path,
                         previous: Previous | None, *, descriptor: Path | None,
                         jobs: int | None, zip_name: str) -> None:
    """Refuse a version that was released before with other data: from its tag, from a zip
    of it in `out`, or from the previous release given."""
    others: list[tuple[str, dict]] = []
    repo = find_repository(content)
    tag = tag_of(repo, version) if repo and repo.head else None
    if tag and not _same_commit_and_clean(repo, tag):
        folder = package_at(repo, tag, work, descriptor=descriptor, jobs=jobs)
        others.append((f"tag {tag}", _descriptor(folder)))
    old_zip = out / zip_name
    if old_zip.is_file():
        try:
            with zipfile.ZipFile(old_zip) as archive:
                meta = json.loads(read_member(archive, archive.getinfo(DESCRIPTOR), old_zip,
                                              [MAX_MEMBER_BYTES]))
            others.append((str(old_zip), meta if isinstance(meta, dict) else {}))
        except (zipfile.BadZipFile, KeyError, ValueError, EOFError) as exc:
            raise ReleaseError(f"{old_zip}: an earlier zip of version {version} that cannot be "
                               f"read ({exc}); remove it, or release another version") from None
    if previous and previous.version == version:
        others.append((previous.label, _descriptor(previous.folder)))
    ours = data_hashes(new)
    for where, old in others:
        theirs = data_hashes(old)
        if theirs != ours:
            changed = sorted(name for name in ours | theirs if ours.get(name) != theirs.get(name))
            raise ReleaseError(
                f"version {version} was released before ({where}) with other data "
                f"({', '.join(changed)} differ); a version names one content for good. "
                f"Release the new content as a new version (such as {_next(version)}).")


def _same_commit_and_clean(repo: Repository, tag: str) -> bool:
    """Whether HEAD is the tagged commit and the content has no uncommitted changes."""
    tagged = git_text(repo.top, "rev-parse", f"refs/tags/{tag}^{{commit}}")
    if tagged != repo.head:
        return False
    status = git_text(repo.top, "status", "--porcelain", "--untracked-files=all", "--",
                  repo.prefix or ".")
    return status == ""


def _descriptor(folder: Path) -> dict:
    return json.loads((folder / DESCRIPTOR).read_text(encoding="utf-8"))


def _next(version: str) -> str:
    major, minor, patch = version_key(version)
    return f"{major}.{minor}.{patch + 1}"


# --- the files -----------------------------------------------------------------------------

def package_files(folder: Path) -> list[str]:
    """Every file of the package in the folder, as sorted posix paths relative to it (the
    marker that tells a build folder from others is not part of the package)."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.relative_to(folder).as_posix() != MARKER)


def write_zip(folder: Path, files: list[str], target: Path, epoch: int) -> Path:
    """A zip whose bytes depend only on the files' bytes and `epoch`: entries sorted, one
    fixed time, fixed permissions and compression level, no extra fields."""
    when = max(dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc), ZIP_EPOCH)
    stamp = when.timetuple()[:6]
    with zipfile.ZipFile(target, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so that the permissions below are read
            info.external_attr = FILE_ATTRIBUTES
            archive.writestr(info, (folder / name).read_bytes(), compresslevel=ZIP_LEVEL)
    return target


def write_sums(folder: Path, names: list[str]) -> Path:
    """SHA256SUMS in the format `sha256sum -c` reads: hash, two spaces, path."""
    path = folder / SUMS_FILE
    path.write_text("".join(f"{sha256(folder / name)}  {name}\n" for name in sorted(names)),
                    encoding="utf-8")
    return path


# --- the release ---------------------------------------------------------------------------

def release(content: Path | str = "content", out: Path | str = "dist", *, version: str,
            previous: str | None = None, descriptor: Path | str | None = None,
            base_url: str | None = None, flat: bool = False, jobs: int | None = None,
            progress: Progress | None = None) -> ReleaseResult:
    """Build, validate and document release `version` of the package into `out`."""
    from ..exports.files import write_exports
    from ..query.views import remote_views_sql
    from ..schema import PackageSchema
    from .changelog import compare, read_tables, render_changelog
    from .chart import status_chart
    from .credits import citation_cff, license_text
    from .datareadme import data_readme
    from .running import earlier_entries

    content, out = Path(content), Path(out)
    descriptor = Path(descriptor) if descriptor else None
    version = parse_version(version)
    schema = PackageSchema.load(descriptor)
    remote = remote_views_sql(schema, base_url, flat) if base_url else None
    check_target(out, content)
    epoch = release_epoch(content, version)
    released = dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc).date()
    try:
        with locked(out):
            # The scratch folder (previous packages, git worktrees) lies beside `out` too, so
            # that what a killed release leaves there is cleaned by the next run.
            work = temp_folder(out, "work")
            stage = temp_folder(out, "release")
            try:
                prev = find_previous(previous, content, version, work, descriptor=descriptor,
                                     jobs=jobs)
                package = stage / "package"
                result = build(content, package, descriptor=descriptor, jobs=jobs,
                               full_validation=True, version=version, progress=progress)
                meta = _descriptor(package)
                # Named after the package as its package.yaml names it, not after the schemas.
                zip_name = f"{meta['name']}-{version}.zip"
                check_version_unused(version, meta, content, out, work, prev,
                                     descriptor=descriptor, jobs=jobs, zip_name=zip_name)
                tables = read_tables(package)
                # Release-only: at 100k statements they cost more than a build (make bench).
                exported = write_exports(package)
                repo = find_repository(content)
                earlier = earlier_entries(repo, version, work, descriptor=descriptor,
                                          jobs=jobs) if repo and repo.head else []
                changelog = render_changelog(compare(prev.folder if prev else None, package),
                                             version=version, date=released.isoformat(),
                                             earlier=earlier)
                try:
                    credits = {
                        "CITATION.cff": citation_cff(meta, version=version,
                                                     released=released.isoformat()),
                        "LICENSE.md": license_text(meta, tables["documents"].to_pylist())}
                except ValueError as exc:
                    raise ReleaseError(f"{content}: {exc}") from None
                extra = {
                    "CHANGELOG.md": changelog, **credits,
                    CHART_FILE: status_chart(tables["status_history"], tables["statuses"],
                                             end=released, order=schema.statuses),
                }
                if remote:
                    extra[REMOTE_VIEWS_FILE] = remote
                files = sorted(set(package_files(package)) | set(extra) | set(exported)
                               | {"README.md"})
                extra["README.md"] = data_readme(
                    meta, tables, version=version, released=released.isoformat(), files=files,
                    chart=CHART_FILE, changelog="CHANGELOG.md",
                    remote_views=REMOTE_VIEWS_FILE if remote else None, base_url=base_url)
                for name, text in extra.items():
                    (package / name).write_text(text, encoding="utf-8")
                zip_path = write_zip(package, files, package / zip_name, epoch)
                sums = write_sums(package, files + [zip_name])
                kill_point("released")
                swap(package, out)
                result.out, result.report.folder = out, str(out)
            finally:
                shutil.rmtree(stage, ignore_errors=True)
                remove_worktrees(work)
                shutil.rmtree(work, ignore_errors=True)
    except OSError as exc:
        raise OutputError(f"{out}: could not write the new package ({exc.strerror or exc}); "
                          f"{out} left as it was") from None
    return ReleaseResult(out=out, version=version, zip=out / zip_path.name,
                         sums=out / sums.name, files=files, previous=prev, build=result,
                         changelog=changelog)
