"""The dist/datapackage.json: Data Package v2 with a CSV and a Parquet resource per table."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
from pathlib import Path

from ..errors import PledgepackError
from ..model import Content
from ..schema import PackageSchema

DESCRIPTOR = "datapackage.json"
PARQUET_SUFFIX = "-parquet"
PARQUET_MEDIATYPE = "application/vnd.apache.parquet"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# The last second of the year 9999: what an ISO date and a zip can still say.
MAX_EPOCH = 253402300799


def source_date_epoch() -> int | None:
    """SOURCE_DATE_EPOCH as the reproducible-builds convention defines it (a whole number of
    seconds since 1970, not negative), or None when unset; PledgepackError otherwise."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return None
    if not (epoch.isascii() and epoch.isdigit()) or int(epoch) > MAX_EPOCH:
        raise PledgepackError(
            f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds since 1970 (0 to "
            f"{MAX_EPOCH}); set it to one, such as $(git log -1 --format=%ct), or unset it")
    return int(epoch)


def created_timestamp(content_root: Path) -> str | None:
    """SOURCE_DATE_EPOCH, else the date of the last commit that touched the content, else None."""
    epoch = source_date_epoch()
    if epoch is None:
        try:
            result = subprocess.run(["git", "log", "-1", "--format=%ct", "--", "."],
                                    cwd=content_root, capture_output=True, text=True, check=False)
        except OSError:
            return None
        epoch = result.stdout.strip() if result.returncode == 0 else ""
        if not epoch:
            return None
    when = dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _file_facts(path: Path, out: Path) -> dict:
    return {"path": path.relative_to(out).as_posix(), "bytes": path.stat().st_size,
            "hash": f"sha256:{sha256(path)}"}


def _parquet_schema(table_schema: dict) -> dict:
    for key in table_schema.get("foreignKeys", []):
        key["reference"]["resource"] += PARQUET_SUFFIX
    return table_schema


def build_descriptor(schema: PackageSchema, paths: dict[str, dict[str, Path]], out: Path,
                     content: Content, created: str | None, version: str | None = None,
                     history_note: str | None = None) -> dict:
    """The package descriptor; `history_note` is added to the status history's description."""
    base = schema.descriptor
    descriptor: dict = {"$schema": base["$schema"], "name": base["name"]}
    if version:
        descriptor["version"] = version
    for key in ("title", "description", "keywords"):
        if key in base:
            descriptor[key] = base[key]
    if created:
        descriptor["created"] = created
    descriptor["licenses"] = base.get("licenses", [])
    sources = list(base.get("sources", []))
    for doc in sorted(content.documents, key=lambda d: d.document_id):
        if doc.source_url and all(s.get("path") != doc.source_url for s in sources):
            sources.append({"title": doc.title, "path": doc.source_url})
    descriptor["sources"] = sources
    if "contributors" in base:
        descriptor["contributors"] = base["contributors"]
    resources = []
    for name in schema.table_names:
        meta = schema.resource(name)
        csv_res = {"name": name, "title": meta.get("title", name)}
        if "description" in meta:
            csv_res["description"] = meta["description"]
        if name == "status_history" and history_note:
            csv_res["description"] = f"{csv_res.get('description', '')} {history_note}".strip()
        csv_res.update(type="table", format="csv", mediatype="text/csv", encoding="utf-8",
                       **_file_facts(paths[name]["csv"], out), schema=schema.table_schema(name))
        resources.append(csv_res)
        resources.append({
            "name": name + PARQUET_SUFFIX,
            "title": f"{csv_res['title']} (Parquet)",
            "description": f"The rows of the resource '{name}' as Apache Parquet, with typed "
                           "columns (dates, booleans, lists). Declared as a file so that "
                           "frictionless checks its size and hash; pledgepack validate checks "
                           "its rows against the schema.",
            "type": "file", "format": "parquet", "mediatype": PARQUET_MEDIATYPE,
            **_file_facts(paths[name]["parquet"], out),
            "schema": _parquet_schema(schema.table_schema(name)),
        })
    descriptor["resources"] = resources
    return descriptor


def write_descriptor(descriptor: dict, out: Path) -> Path:
    path = out / DESCRIPTOR
    path.write_text(json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
