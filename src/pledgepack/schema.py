"""The table schemas, read from the one hand-edited datapackage.json.

Everything else (Arrow types, DuckDB types, enums the content reader checks
against) is derived from that descriptor here; there is no second copy.
"""
from __future__ import annotations

import copy
import json
from functools import cached_property
from pathlib import Path

from .errors import PledgepackError

DESCRIPTOR_NAME = "datapackage.json"
# Lists (categories, parties) are joined with this in the CSV files and split on it when read
# back; the content reader refuses list items that contain it.
LIST_DELIMITER = ";"

# Table Schema type -> DuckDB type. Lists are lists of strings in this package.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP WITH TIME ZONE",
    "list": "VARCHAR[]",
}


def default_descriptor_path() -> Path:
    """The descriptor shipped with pledgepack: inside the wheel, or at the root of a checkout."""
    packaged = Path(__file__).with_name(DESCRIPTOR_NAME)
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / DESCRIPTOR_NAME


def arrow_type(field: dict):
    import pyarrow as pa

    kind = field["type"]
    if kind == "list":
        if field.get("itemType", "string") != "string":
            raise PledgepackError(f"field {field['name']}: only lists of strings are supported")
        return pa.list_(pa.string())
    return {
        "string": pa.string(),
        "integer": pa.int64(),
        "number": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "datetime": pa.timestamp("ms", tz="UTC"),
    }[kind]


class PackageSchema:
    """Read access to the descriptor: resources, fields, keys, enums and derived types."""

    def __init__(self, descriptor: dict, path: Path | None = None):
        self.descriptor = descriptor
        self.path = path
        self._resources = {r["name"]: r for r in descriptor.get("resources", [])}
        self._check()

    @classmethod
    def load(cls, path: Path | str | None = None) -> "PackageSchema":
        path = Path(path) if path else default_descriptor_path()
        try:
            descriptor = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PledgepackError(f"{path}: descriptor not found") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PledgepackError(f"{path}: not a valid JSON descriptor: {exc}") from None
        return cls(descriptor, path)

    def _check(self) -> None:
        where = self.path or DESCRIPTOR_NAME
        for name in ("documents", "sections", "statements", "reports", "status_history",
                     "statuses"):
            if name not in self._resources:
                raise PledgepackError(f"{where}: resource {name!r} is missing")
        codes = [row["status"] for row in self.inline_data("statuses")]
        for resource, field in (("statements", "status"), ("status_history", "status"),
                                ("status_history", "previous_status")):
            if self.enum(resource, field) != codes:
                raise PledgepackError(
                    f"{where}: the enum of {resource}.{field} must list the statuses of the "
                    f"statuses resource, in the same order: {codes}")

    @property
    def name(self) -> str:
        return self.descriptor["name"]

    @property
    def table_names(self) -> list[str]:
        return list(self._resources)

    def resource(self, name: str) -> dict:
        return self._resources[name]

    def fields(self, name: str) -> list[dict]:
        return self._resources[name]["schema"]["fields"]

    def field_names(self, name: str) -> list[str]:
        return [f["name"] for f in self.fields(name)]

    def field(self, name: str, field: str) -> dict:
        for f in self.fields(name):
            if f["name"] == field:
                return f
        raise KeyError(f"{name}.{field}")

    def primary_key(self, name: str) -> list[str]:
        key = self._resources[name]["schema"].get("primaryKey", [])
        return [key] if isinstance(key, str) else list(key)

    def foreign_keys(self, name: str) -> list[dict]:
        return self._resources[name]["schema"].get("foreignKeys", [])

    def enum(self, name: str, field: str) -> list | None:
        return self.field(name, field).get("constraints", {}).get("enum")

    def inline_data(self, name: str) -> list[dict]:
        return self._resources[name].get("data", [])

    def arrow_schema(self, name: str):
        import pyarrow as pa

        return pa.schema([pa.field(f["name"], arrow_type(f),
                                   nullable=not f.get("constraints", {}).get("required", False))
                          for f in self.fields(name)])

    def table_schema(self, name: str) -> dict:
        """A deep copy of the resource's Table Schema, to be written into a package."""
        return copy.deepcopy(self._resources[name]["schema"])

    @cached_property
    def statuses(self) -> list[str]:
        return self.enum("statements", "status")

    @cached_property
    def measures(self) -> list[str]:
        return self.enum("statements", "measure")

    @cached_property
    def kinds(self) -> list[str]:
        return self.enum("documents", "kind")
