"""Write every export of a built package into its folder."""
from __future__ import annotations

from pathlib import Path

from .datasette import datasette_metadata, metadata_json
from .package import read_descriptor, read_tables
from .sqlite import write_sqlite
from .xlsx import write_xlsx

# The table whose free text datasette searches.
SEARCHABLE = ("statements",)


def export_names(name: str) -> dict[str, str]:
    """The files written for a package called `name`."""
    return {"sqlite": f"{name}.sqlite", "datasette": f"{name}.datasette.json",
            "xlsx": f"{name}.xlsx"}


def write_exports(folder: Path) -> list[str]:
    """pledges.sqlite, its datasette metadata and pledges.xlsx, beside the package's
    datapackage.json; returns their names."""
    descriptor = read_descriptor(folder)
    tables = read_tables(folder, descriptor)
    names = export_names(descriptor["name"])
    write_sqlite(tables, folder / names["sqlite"], fts=SEARCHABLE)
    database = names["sqlite"].removesuffix(".sqlite")
    meta = datasette_metadata(descriptor, tables, database, fts=SEARCHABLE)
    (folder / names["datasette"]).write_text(metadata_json(meta), encoding="utf-8")
    write_xlsx(descriptor, tables, folder / names["xlsx"])
    return sorted(names.values())
