"""DuckDB views over the package: views.sql, and a self-contained <package>.duckdb.

The same view definitions serve both; only the relation each table view reads
from differs: the Parquet files beside views.sql, or tables stored inside the
database file (so that it answers from any directory, and after a copy).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .schema import PackageSchema
from .sqlchecks import quote_ident, quote_literal

STATUS_TYPE = "pledge_status"
VIEWS_FILE = "views.sql"
# DuckDB 1.4 cannot open files in the 2.x storage format; analysts still run 1.x.
STORAGE_VERSION = "v1.0.0"
STORED_SCHEMA = "data"

ANALYST_VIEWS = {
    "statement_details": """
SELECT s.statement_id, s.document_id, d.title AS document_title, s.section_id,
       sec.number AS section_number, sec.title AS section_title, s.position, s.id, s.summary,
       s.quote, s.status, st.label_en AS status_label, st.label_de AS status_label_de,
       st.score, s.last_update, s.deadline, s.categories, s.responsible, s.measure
FROM statements s
JOIN sections sec ON sec.section_id = s.section_id
JOIN documents d ON d.document_id = s.document_id
JOIN statuses st ON st.status = s.status
ORDER BY s.document_id, sec."order" NULLS LAST, s.section_id, s.position""",
    "status_summary": """
WITH scopes AS (
    SELECT 'document' AS scope, document_id, NULL::VARCHAR AS section_id FROM documents
    UNION ALL
    SELECT 'section', document_id, section_id FROM sections
), counts AS (
    SELECT document_id, section_id, status, count(*) AS n
    FROM statements
    GROUP BY GROUPING SETS ((document_id, status), (document_id, section_id, status))
)
SELECT g.scope, g.document_id, g.section_id, st.status, coalesce(c.n, 0) AS statements,
       coalesce(c.n, 0) / nullif(sum(coalesce(c.n, 0))
           OVER (PARTITION BY g.document_id, g.section_id), 0) AS share
FROM scopes g
CROSS JOIN statuses st
LEFT JOIN counts c ON c.document_id = g.document_id
    AND c.section_id IS NOT DISTINCT FROM g.section_id AND c.status = st.status
ORDER BY g.document_id, g.section_id NULLS FIRST, st.status""",
    "overdue": """
SELECT statement_id, document_title, section_title, summary, status, deadline,
       current_date - deadline AS days_overdue, last_update
FROM statement_details
WHERE deadline < current_date AND status IN ('not_implemented', 'partially_implemented')
ORDER BY deadline, statement_id""",
}

ANALYST_COMMENTS = {
    "statement_details": "Statements with their document and section titles, status labels and score.",
    "status_summary": "Counts and shares of statements per status, for each document "
                      "(scope 'document') and each section (scope 'section').",
    "overdue": "Statements whose deadline has passed and that are not (fully) implemented.",
}


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
    for name, body in ANALYST_VIEWS.items():
        out.append(f"CREATE VIEW {name} AS{body}")
        out.append(f"COMMENT ON VIEW {name} IS {quote_literal(ANALYST_COMMENTS[name])}")
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
