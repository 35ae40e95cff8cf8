"""The dist/datapackage.json: Data Package v2 with one CSV resource per table, each naming
its Parquet copy in a `parquet` property.

The Parquet files are not resources of their own: frictionless' SQL export (and so
datapackage-to-datasette) makes a table of every resource, and a Parquet file declared as a
resource arrived there as an empty table (with a schema) or broke the load (without one).
"""
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

# The folder of the package that holds the tables' files.
DATA_DIR = "data"

DESCRIPTOR = "datapackage.json"
PARQUET = "parquet"  # the property of a table resource that declares its Parquet file
# Packages built before the `parquet` property declared each Parquet file as a resource of
# its own, named after its table with this suffix; they are still read (previous releases).
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


def file_facts(path: Path) -> tuple[int, str]:
    """A file's size and hash, as a descriptor states them."""
    return path.stat().st_size, f"sha256:{sha256(path)}"


def _file_facts(path: Path, out: Path, facts: dict[Path, tuple[int, str]]) -> dict:
    size, digest = facts[path] if path in facts else file_facts(path)
    return {"path": path.relative_to(out).as_posix(), "bytes": size, "hash": digest}


def _csv_schema(table_schema: dict) -> dict:
    """The schema of a CSV resource: without `pattern` on fields that may be empty.

    frictionless' SQL export (and so datapackage-to-datasette) checks a pattern with a Python
    REGEXP that raises on NULL, which aborts the load. The schema in the resource's `parquet`
    property keeps the pattern, pledgepack validate checks it on the Parquet file with DuckDB
    and proves the CSV equal to the Parquet cell for cell, so the CSV is held to it all the
    same.
    """
    keys = set(table_schema.get("primaryKey") or [])
    for field in table_schema["fields"]:
        constraints = field.get("constraints") or {}
        if "pattern" in constraints and not constraints.get("required") \
                and field["name"] not in keys:
            del constraints["pattern"]
    return table_schema


PARQUET_DESCRIPTION = (
    "The same rows as Apache Parquet, with typed columns (dates, booleans, lists). pledgepack "
    "validate checks this file's size and hash, checks its rows against the schema given "
    "here (which keeps the patterns that the CSV schema leaves out on columns that may be "
    "empty), and proves the CSV equal to it cell for cell.")


def parquet_files(descriptor: dict) -> dict[str, dict]:
    """Each table's Parquet file as the descriptor declares it (path, bytes, hash, schema),
    keyed by table name; from a table resource's `parquet` property, or from the
    `<table>-parquet` resources of packages built before it (their foreign keys then
    reference tables by name, as in the new shape)."""
    resources = [r for r in descriptor.get("resources") or [] if isinstance(r, dict)]
    names = {r.get("name") for r in resources}
    found = {}
    for resource in resources:
        name = resource.get("name")
        if not isinstance(name, str):
            continue
        if isinstance(resource.get(PARQUET), dict):
            found[name] = resource[PARQUET]
        elif is_old_parquet(resource) and name[:-len(PARQUET_SUFFIX)] in names:
            old = json.loads(json.dumps(resource))
            for key in (old.get("schema") or {}).get("foreignKeys") or []:
                target = key.get("reference", {}).get("resource")
                if isinstance(target, str):
                    key["reference"]["resource"] = target.removesuffix(PARQUET_SUFFIX)
            found[name[:-len(PARQUET_SUFFIX)]] = old
    return found


def is_old_parquet(resource: dict) -> bool:
    """Whether `resource` is a Parquet file declared as a resource (the shape before the
    `parquet` property)."""
    return resource.get("format") == "parquet" \
        and str(resource.get("name", "")).endswith(PARQUET_SUFFIX)


def declared_paths(descriptor: dict) -> list[str]:
    """Every data file path the descriptor declares: the resources' and their Parquet files'."""
    paths = set()
    entries = [r for r in descriptor.get("resources") or [] if isinstance(r, dict)]
    for entry in entries + list(parquet_files(descriptor).values()):
        path = entry.get("path")
        paths.update(p for p in (path if isinstance(path, list) else [path])
                     if isinstance(p, str))
    return sorted(paths)


# The package-level keys a content folder's package.yaml may set; the schema descriptor (the
# shipped one, or --descriptor) gives neutral defaults for them and the table schemas.
METADATA_KEYS = ("name", "title", "description", "homepage", "repository", "keywords",
                 "languages", "licenses", "sources", "contributors")


def package_metadata(base: dict, content: Content) -> dict:
    """The package's metadata: the content's package.yaml over the schema descriptor's."""
    meta = {key: base[key] for key in METADATA_KEYS if key in base}
    meta.update(content.package or {})
    return meta


def package_sources(sources: list[dict], content: Content) -> list[dict]:
    """The tracker's sources, then each document's: where its text comes from and under which
    licence it is reproduced, so that no reader takes the package's licence for the texts'."""
    out = [dict(s) for s in sources]
    for doc in sorted(content.documents, key=lambda d: d.document_id):
        if doc.source_url and any(s.get("path") == doc.source_url for s in out):
            continue
        entry = {"title": f"{doc.title} (document {doc.document_id}; text reproduced under "
                          f"licence: {doc.license or 'not stated'})"}
        if doc.source_url:
            entry["path"] = doc.source_url
        out.append(entry)
    return out


def build_descriptor(schema: PackageSchema, paths: dict[str, dict[str, Path]], out: Path,
                     content: Content, created: str | None, version: str | None = None,
                     history_note: str | None = None,
                     facts: dict[Path, tuple[int, str]] | None = None) -> dict:
    """The package descriptor; `history_note` is added to the status history's description.
    `facts` may give files' sizes and hashes (file_facts) taken as they were written."""
    facts = facts or {}
    meta = package_metadata(schema.descriptor, content)
    descriptor: dict = {"$schema": schema.descriptor["$schema"], "name": meta["name"]}
    if version:
        descriptor["version"] = version
    for key in ("title", "description", "homepage", "repository", "keywords", "languages"):
        if meta.get(key):
            descriptor[key] = meta[key]
    if created:
        descriptor["created"] = created
    descriptor["licenses"] = meta.get("licenses", [])
    descriptor["sources"] = package_sources(meta.get("sources", []), content)
    descriptor["contributors"] = meta.get("contributors", [])
    resources = []
    for name in schema.table_names:
        meta = schema.resource(name)
        csv_res = {"name": name, "title": meta.get("title", name)}
        if "description" in meta:
            csv_res["description"] = meta["description"]
        if name == "status_history" and history_note:
            csv_res["description"] = f"{csv_res.get('description', '')} {history_note}".strip()
        csv_res.update(type="table", format="csv", mediatype="text/csv", encoding="utf-8",
                       **_file_facts(paths[name]["csv"], out, facts),
                       schema=_csv_schema(schema.table_schema(name)))
        csv_res[PARQUET] = {
            **_file_facts(paths[name]["parquet"], out, facts),
            "format": "parquet", "mediatype": PARQUET_MEDIATYPE,
            "description": PARQUET_DESCRIPTION,
            "schema": schema.table_schema(name),
        }
        resources.append(csv_res)
    descriptor["resources"] = resources
    return descriptor


def write_descriptor(descriptor: dict, out: Path) -> Path:
    path = out / DESCRIPTOR
    path.write_text(json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
