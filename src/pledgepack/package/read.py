"""Reading a built package back: its Parquet tables by name, for the stages that work from a
package's files (the changelog, the exports, the site)."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import PledgepackError
from .descriptor import DESCRIPTOR, declared_paths, parquet_files

# A zip of a package is read within these limits, counted on what it unpacks to (the sizes a
# zip states can lie): no file this tool writes comes near them.
MAX_MEMBER_BYTES = 256 << 20
MAX_ZIP_BYTES = 1 << 30


def read_tables(folder: Path) -> dict[str, pa.Table]:
    """The Parquet tables of a built package folder, keyed by table name."""
    folder = Path(folder)
    try:
        descriptor = json.loads((folder / DESCRIPTOR).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise PledgepackError(f"{folder}: not a built package ({DESCRIPTOR}: {error})") from None
    tables = {}
    for name, parquet in parquet_files(descriptor).items():
        path = parquet.get("path")
        # A descriptor may come from anywhere; its paths must stay inside the package.
        if not isinstance(path, str) or PurePosixPath(path).is_absolute() \
                or ".." in PurePosixPath(path).parts:
            raise PledgepackError(f"{folder}: the Parquet file of {name!r} has an unusable "
                                  f"path {path!r}")
        tables[name] = pq.ParquetFile(folder / path).read()
    return tables


def extract_package(path: Path, target: Path, *, declared_only: bool = True) -> None:
    """Extract a package zip into `target`: its descriptor, then the files it declares (the
    resources' and their Parquet files; or, with declared_only False, every other file too,
    such as a release's README and changelog), each within MAX_MEMBER_BYTES and all within
    MAX_ZIP_BYTES, never outside `target`."""
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: info for info in archive.infolist() if not info.is_dir()}
        if DESCRIPTOR not in members:
            raise PledgepackError(f"{path}: no {DESCRIPTOR} at the top of the zip")
        budget = [MAX_ZIP_BYTES]
        raw = read_member(archive, members[DESCRIPTOR], path, budget)
        (target / DESCRIPTOR).write_bytes(raw)
        if declared_only:
            try:
                names = declared_paths(json.loads(raw))
            except (ValueError, KeyError, TypeError, AttributeError):
                return  # the validation that follows says what is wrong with it
        else:
            names = sorted(set(members) - {DESCRIPTOR})
        for name in names:
            if PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts \
                    or name not in members:
                continue
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(read_member(archive, members[name], path, budget))


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path,
                budget: list[int]) -> bytes:
    """One file of a zip, read with a counter against `budget` (bytes left, updated)."""
    limit = min(MAX_MEMBER_BYTES, budget[0])
    chunks, size = [], 0
    with archive.open(info) as member:
        while chunk := member.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise PledgepackError(
                    f"{path}: {info.filename} unpacks to more than {limit // (1 << 20)} MiB; "
                    "that is no package this tool released")
            chunks.append(chunk)
    budget[0] -= size
    return b"".join(chunks)
