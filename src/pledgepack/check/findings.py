"""The two checks of validation that the build asks of its database's child (query/views.py):
frictionless's on the descriptor and DuckDB's on the Parquet files. This module imports
neither pyarrow nor the rest of validation (check/validate.py, which uses them as well): the
child, which has no other use for pyarrow, does not start it up (with numpy, about 0.08 s of a
core while the build is at its busiest).
"""
from __future__ import annotations

from pathlib import Path


def descriptor_findings(descriptor: dict, folder: Path | str) -> list[list[str]]:
    """frictionless's findings on the descriptor, as [type, message] pairs."""
    from frictionless import Package

    return [[error[0], error[1]] for error in Package.validate_descriptor(
        descriptor, basepath=str(folder)).flatten(["type", "message"])]


def parquet_findings(declared: dict[str, dict], parquet: dict[str, Path],
                     skip: list[str] = (), keys_only: list[str] = (),
                     spans: dict[str, list[int]] | None = None) -> dict[str, dict]:
    """Each table's Parquet file in `parquet` against the schema its `parquet` property in
    `declared` gives: {table: {"problems": [{check, field, message}], "rows": count or None}}.
    Foreign keys name tables, and are checked against their Parquet files. The tables in
    `skip` are not checked, those in `keys_only` for their foreign keys alone (the build's
    proven ones); for those in `spans`, the checks of one row at a time look at the rows
    (start, stop) it gives alone (check/sqlchecks.py's check_parquet). The build runs this in
    its database's child (query/views.py), `pledgepack validate` in its own process."""
    from .sqlchecks import check_parquet, engine

    duckdb = engine()

    findings = {}
    con = duckdb.connect()
    try:
        for table, path in parquet.items():
            if table in skip:
                continue
            schema = declared[table].get("schema")
            if not isinstance(schema, dict):
                findings[table] = {"problems": [{
                    "check": "descriptor", "field": None,
                    "message": "declares no schema for the Parquet rows"}], "rows": None}
                continue
            try:
                span = (spans or {}).get(table)
                found = check_parquet(con, table, path, schema, parquet, table in keys_only,
                                      None if span is None else tuple(span))
            except duckdb.Error as exc:
                found = [{"check": "parquet", "field": None,
                          "message": f"cannot be read as Parquet: {exc}"}]
            rows = con.execute("SELECT count(*) FROM read_parquet(?)",
                               [path.as_posix()]).fetchone()[0] if not found else None
            findings[table] = {"problems": found, "rows": rows}
    finally:
        con.close()
    return findings
