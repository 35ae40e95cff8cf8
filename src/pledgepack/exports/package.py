"""A built package as the exporters read it: its descriptor, and each table's schema and rows,
in the order the descriptor lists them. Nothing here knows a column by name."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..package.descriptor import DESCRIPTOR, parquet_files



@dataclass
class Table:
    name: str
    resource: dict          # the CSV resource: title, description, schema
    rows: list[dict]        # typed values, read from the Parquet file

    @property
    def fields(self) -> list[dict]:
        return self.resource["schema"]["fields"]

    @property
    def primary_key(self) -> list[str]:
        return _names(self.resource["schema"].get("primaryKey") or [])

    @property
    def foreign_keys(self) -> list[tuple[list[str], str, list[str]]]:
        """(fields, referenced table, referenced fields) for each foreign key."""
        return [(_names(fk["fields"]), fk["reference"].get("resource") or self.name,
                 _names(fk["reference"]["fields"]))
                for fk in self.resource["schema"].get("foreignKeys") or []]


def _names(fields) -> list[str]:
    return [fields] if isinstance(fields, str) else list(fields)


def read_descriptor(folder: Path) -> dict:
    return json.loads((folder / DESCRIPTOR).read_text(encoding="utf-8"))


def read_tables(folder: Path, descriptor: dict | None = None) -> list[Table]:
    """Every table resource of the package, with its rows from its Parquet file (the typed
    copy), else from the CSV read with the schema's types."""
    import pyarrow.parquet as pq

    descriptor = descriptor or read_descriptor(folder)
    parquet = parquet_files(descriptor)
    tables = []
    for resource in descriptor.get("resources", []):
        if resource.get("type") != "table" or "schema" not in resource:
            continue
        if resource["name"] in parquet:
            rows = pq.read_table(folder / parquet[resource["name"]]["path"]).to_pylist()
        else:
            rows = _csv_rows(folder, resource)
        tables.append(Table(resource["name"], resource, rows))
    return tables


def _csv_rows(folder: Path, resource: dict) -> list[dict]:
    from frictionless import Resource

    with Resource(dict(resource), basepath=str(folder)) as source:
        return [dict(row) for row in source.row_stream]
