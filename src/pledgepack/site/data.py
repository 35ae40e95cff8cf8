"""The one place the site reads a package: the descriptor and the Parquet tables.

A package is a build folder, an unzipped release, or a release zip. Columns that newer
packages add or rename are read here and nowhere else, so that the pages see one shape:
`effective_date` (else the day of `valid_from`), `effective_date_source`, `recorded_at`
(else the commit time), `reviewed` (else whether `last_update` is set), and a status's
`definition_en` and `definition_de` (`definition` is the English one; a package older than
`definition_de` has only that).
"""
from __future__ import annotations

import datetime as dt
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PledgepackError
from ..package.descriptor import sha256
from ..package.read import extract_package

DESCRIPTOR = "datapackage.json"
TABLES = ("documents", "sections", "statements", "reports", "status_history", "statuses")


class SiteError(PledgepackError):
    """The package cannot be read, or the site cannot be written where asked."""


@dataclass
class Download:
    path: str       # relative to the package folder, posix
    bytes: int
    sha256: str


@dataclass
class PackageData:
    folder: Path
    descriptor: dict
    tables: dict[str, list[dict]]
    downloads: list[Download] = field(default_factory=list)

    @property
    def created(self) -> dt.date | None:
        text = self.descriptor.get("created")
        if not text:
            return None
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()

    @property
    def language(self) -> str:
        """The package's first language: `languages` (list) or `language`; default German."""
        langs = self.descriptor.get("languages") or self.descriptor.get("language") or ["de"]
        if isinstance(langs, str):
            langs = [langs]
        first = str(langs[0]).lower().split("-")[0] if langs else "de"
        return first if first in ("de", "en") else "de"

    def schema_of(self, table: str) -> dict:
        for resource in self.descriptor.get("resources", []):
            if resource.get("name") == table:
                return resource.get("schema", {})
        return {}


def unpack(path: Path, work: Path) -> Path:
    """The package folder for `path`: itself, or the zip extracted into `work`."""
    path = Path(path)
    if path.is_dir():
        if not (path / DESCRIPTOR).is_file():
            raise SiteError(f"{path}: no {DESCRIPTOR} in it; give a built package (dist/), an "
                            "unzipped release or a release zip")
        return path
    if not path.exists():
        raise SiteError(f"{path}: no such file or folder; run `pledgepack build` first")
    if not zipfile.is_zipfile(path):
        raise SiteError(f"{path}: neither a package folder nor a zip file")
    target = work / "package"
    target.mkdir(parents=True)
    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.startswith("/") or ".." in Path(name).parts:
                    raise SiteError(f"{path}: entry {name!r} points outside the archive")
        # Within the size limits of any package zip: a release's downloads come along too.
        extract_package(path, target, declared_only=False)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise SiteError(f"{path}: the zip cannot be read ({exc})") from None
    except PledgepackError as exc:
        raise SiteError(str(exc)) from None
    return target



def _day(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).date()
    return value


def _history_row(row: dict) -> dict:
    if "effective_date" not in row:
        # valid_from was the commit time for git events, the editors' date for the others
        row["effective_date"] = _day(row.get("valid_from"))
        row["effective_date_source"] = (
            None if row["effective_date"] is None
            else "commit" if row.get("source") == "git" else "editor")
    if "recorded_at" not in row:
        row["recorded_at"] = row.get("valid_from") if row.get("source") == "git" else None
    row.setdefault("effective_date_source", None)
    return row


def load(folder: Path) -> PackageData:
    """Read the descriptor, every table's Parquet file and the list of downloadable files."""
    import pyarrow.parquet as pq

    try:
        descriptor = json.loads((folder / DESCRIPTOR).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SiteError(f"{folder / DESCRIPTOR}:1: cannot read the descriptor ({exc}); "
                        "rebuild the package") from None
    tables = {}
    for name in TABLES:
        path = folder / "data" / f"{name}.parquet"
        if not path.is_file():
            raise SiteError(f"{path}: missing; the site needs every table of a built package")
        try:
            # ParquetFile, not read_table: read_table goes through pyarrow.dataset, whose
            # import also imports pandas where it is installed (0.3-0.7 s)
            tables[name] = pq.ParquetFile(path).read().to_pylist()
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise SiteError(f"{path}: not a readable Parquet file ({exc}); rebuild the "
                            "package") from None
    for row in tables["statements"]:
        row.setdefault("reviewed", row.get("last_update") is not None)
        row["categories"] = list(row.get("categories") or [])
    tables["status_history"] = [_history_row(r) for r in tables["status_history"]]
    for row in tables["statuses"]:
        row["definition_en"] = row.get("definition")
        row["definition_de"] = row.get("definition_de") or row["definition_en"]
    downloads = [Download(p.relative_to(folder).as_posix(), p.stat().st_size, sha256(p))
                 for p in sorted(folder.rglob("*")) if p.is_file()]
    return PackageData(folder, descriptor, tables, downloads)
