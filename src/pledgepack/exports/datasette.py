"""The datasette metadata for the SQLite export: titles, descriptions, column descriptions,
licence and source from the descriptor, and label columns so that datasette shows a code's
label (a status's English label, a document's title) beside it."""
from __future__ import annotations

import json

from .package import Table
from .sqlite import FTS_SUFFIX, search_columns

NOT_STATED = "not stated"


def label_column(table: Table) -> str | None:
    """The column that names a row of a table keyed by one column: `title`, else the first
    `label*` field (English before others), else None."""
    if len(table.primary_key) != 1:
        return None
    names = [f["name"] for f in table.fields if f.get("type") == "string"]
    if "title" in names:
        return "title"
    labels = sorted((n for n in names if n.startswith("label")), key=lambda n: n != "label_en")
    return labels[0] if labels else None


def column_description(field: dict) -> str:
    text = field.get("description") or field.get("title") or ""
    kind = field.get("type", "string")
    stored = {"list": "a JSON array", "boolean": "0 (false) or 1 (true)",
              "date": "ISO 8601 text (YYYY-MM-DD)",
              "datetime": "ISO 8601 text in UTC (YYYY-MM-DDTHH:MM:SSZ)"}.get(kind)
    if stored:
        text = f"{text} Stored as {stored}.".strip()
    enum = (field.get("constraints") or {}).get("enum")
    if enum:
        text = f"{text} Allowed values: {', '.join(enum)}.".strip()
    return text


def datasette_metadata(descriptor: dict, tables: list[Table], database: str,
                       fts: tuple[str, ...] = ()) -> dict:
    licence = (descriptor.get("licenses") or [{}])[0]
    sources = descriptor.get("sources") or []
    description = descriptor.get("description", "")
    if len(sources) > 1:
        description += " Sources: " + "; ".join(
            f"{s.get('title') or s.get('path')} ({s['path']})" if s.get("path")
            else s.get("title", "") for s in sources) + "."
    meta = {
        "title": descriptor.get("title") or descriptor["name"],
        "description": description.strip(),
        "license": licence.get("title") or licence.get("name") or NOT_STATED,
        "source": (sources[0].get("title") or sources[0].get("path")) if sources else NOT_STATED,
    }
    if licence.get("path"):
        meta["license_url"] = licence["path"]
    if sources and sources[0].get("path"):
        meta["source_url"] = sources[0]["path"]
    described = {}
    for table in tables:
        entry = {"title": table.resource.get("title") or table.name,
                 "description": table.resource.get("description", ""),
                 "columns": {f["name"]: column_description(f) for f in table.fields}}
        if label := label_column(table):
            entry["label_column"] = label
        if table.name in fts and search_columns(table):
            entry["fts_table"] = table.name + FTS_SUFFIX
            entry["fts_pk"] = "rowid"
        described[table.name] = entry
    meta["databases"] = {database: {"tables": described}}
    return meta


def metadata_json(meta: dict) -> str:
    return json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
