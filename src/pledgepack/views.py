"""DuckDB views over the package: views.sql, and a self-contained <package>.duckdb.

The same view definitions serve both; only the relation each table view reads
from differs: the Parquet files beside views.sql, or tables stored inside the
database file (so that it answers from any directory, and after a copy).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .analysis import ANALYST_VIEWS, MACROS
from .schema import PackageSchema
from .sqlchecks import quote_ident, quote_literal

STATUS_TYPE = "pledge_status"
VIEWS_FILE = "views.sql"
# DuckDB 1.4 cannot open files in the 2.x storage format; analysts still run 1.x.
STORAGE_VERSION = "v1.0.0"
STORED_SCHEMA = "data"

def view_statements(schema: PackageSchema, source: Callable[[str], str]) -> list[str]:
    """CREATE statements for the status ENUM, one view per table, and the analyst views."""
    statuses = schema.statuses
    out = [f"CREATE TYPE {STATUS_TYPE} AS ENUM ({', '.join(quote_literal(s) for s in statuses)})"]
    for name in schema.table_names:
        columns = []
        for field in schema.fields(name):
            col = quote_ident(field["name"])
            if field.get("constraints", {}).get("enum") == statuses or (
                    name == "statuses" and field["name"] == "status"):
                columns.append(f"{col}::{STATUS_TYPE} AS {col}")
            else:
                columns.append(col)
        out.append(f"CREATE VIEW {quote_ident(name)} AS SELECT {', '.join(columns)} "
                   f"FROM {source(name)}")
        description = schema.resource(name).get("description")
        if description:
            out.append(f"COMMENT ON VIEW {quote_ident(name)} IS {quote_literal(description)}")
    for name, comment, body in ANALYST_VIEWS:
        out.append(f"CREATE VIEW {name} AS{body}")
        out.append(f"COMMENT ON VIEW {name} IS {quote_literal(comment)}")
    out.extend(MACROS)
    return out


def parquet_source(prefix: str) -> Callable[[str], str]:
    return lambda name: f"read_parquet({quote_literal(f'{prefix}{name}.parquet')})"


def write_views_sql(schema: PackageSchema, out: Path, prefix: str = "data/") -> Path:
    header = [
        f"-- DuckDB views over the data package {schema.name!r}.",
        "-- The table views read the Parquet files; run this from the package folder:",
        "--   duckdb -c \".read views.sql\" -c \"select count(*) from statements\"",
        f"-- or open {schema.name}.duckdb, which holds the same views and the data itself.",
        "",
    ]
    body = [statement.strip() + ";" for statement in view_statements(schema, parquet_source(prefix))]
    path = out / VIEWS_FILE
    path.write_text("\n".join(header) + "\n\n".join(body) + "\n", encoding="utf-8")
    return path


def write_database(schema: PackageSchema, out: Path, parquet: dict[str, Path]) -> Path:
    """<package>.duckdb with the tables stored inside and the views over them."""
    import duckdb

    path = out / f"{schema.name}.duckdb"
    # One thread and no compression: with several threads, or with the compression DuckDB
    # picks per segment (FSST and others), the same rows now and then give different bytes.
    con = duckdb.connect(":memory:", config={"threads": 1})
    try:
        con.execute("SET force_compression = 'uncompressed'")
        con.execute(f"ATTACH {quote_literal(path.as_posix())} AS package "
                    f"(STORAGE_VERSION {quote_literal(STORAGE_VERSION)})")
        con.execute("USE package")
        con.execute(f"CREATE SCHEMA {STORED_SCHEMA}")
        for name in schema.table_names:
            con.execute(f"CREATE TABLE {STORED_SCHEMA}.{quote_ident(name)} AS SELECT * FROM "
                        f"read_parquet({quote_literal(parquet[name].resolve().as_posix())})")
        for statement in view_statements(
                schema, lambda name: f"{STORED_SCHEMA}.{quote_ident(name)}"):
            con.execute(statement)
        con.execute("USE memory")
        con.execute("DETACH package")
    finally:
        con.close()
    return path
