"""Check Parquet files against their Table Schema with DuckDB SQL derived from it.

frictionless-py reads Parquet slowly and mistypes null integers, so the Parquet
side of the package is checked here: column types, required, enum, pattern,
minimum/maximum, unique, primary key, row order and foreign keys.
"""
from __future__ import annotations

from pathlib import Path

from ..schema import DUCKDB_TYPES


def engine():
    """DuckDB's engine: the extension module `_duckdb` that the `duckdb` package re-exports.
    Connecting and executing need nothing of what the package adds on top (its relational
    API, its typing, a version lookup through importlib.metadata), which takes 50-120 ms
    more to import: time the build's database child (query/views.py) would spend before it
    can begin."""
    try:
        import _duckdb
    except ImportError:  # a duckdb that does not ship it under that name
        import duckdb as _duckdb
    return _duckdb


EXAMPLES = 3
URI_PATTERN = r"[A-Za-z][A-Za-z0-9+.-]*:\S+"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _source(path: Path) -> str:
    return f"read_parquet({quote_literal(path.as_posix())}, file_row_number = true)"


def _key_expr(fields: list[str]) -> str:
    if len(fields) == 1:
        return quote_ident(fields[0])
    return "row(" + ", ".join(quote_ident(f) for f in fields) + ")"


def _field_conditions(field: dict) -> list[tuple[str, str]]:
    """(check name, SQL condition that is true for a bad row) for one field's constraints."""
    col = quote_ident(field["name"])
    constraints = field.get("constraints", {})
    conditions = []
    if constraints.get("required"):
        conditions.append(("required", f"{col} IS NULL"))
    if "enum" in constraints and field["type"] != "list":
        values = ", ".join(quote_literal(v) for v in constraints["enum"])
        conditions.append(("enum", f"{col} IS NOT NULL AND {col}::VARCHAR NOT IN ({values})"))
    if "pattern" in constraints:
        conditions.append(("pattern", f"{col} IS NOT NULL AND NOT regexp_full_match({col}, "
                                      f"{quote_literal(constraints['pattern'])})"))
    if field.get("format") == "uri":
        conditions.append(("format", f"{col} IS NOT NULL AND NOT regexp_full_match({col}, "
                                     f"{quote_literal(URI_PATTERN)})"))
    if "minimum" in constraints:
        conditions.append(("minimum", f"{col} < {constraints['minimum']}"))
    if "maximum" in constraints:
        conditions.append(("maximum", f"{col} > {constraints['maximum']}"))
    if field["type"] == "list":
        delimiter = quote_literal(field.get("delimiter", ","))
        conditions.append(("list-item", f"len({col}) > list_aggregate({col}, 'count') "
                                        f"OR list_contains({col}, '') "
                                        f"OR contains(array_to_string({col}, ' '), {delimiter})"))
    return conditions


def _within(start: int, stop: int) -> str:
    """The WHERE clause that keeps the file's rows start to stop (from 0, stop left out)."""
    return f" WHERE file_row_number >= {int(start)} AND file_row_number < {int(stop)}"


def check_parquet(con, name: str, path: Path, schema: dict,
                  parquet_paths: dict[str, Path], foreign_keys_only: bool = False,
                  rows: tuple[int, int] | None = None) -> list[dict]:
    """Every problem of one Parquet file, as dicts (check, field, message); with
    `foreign_keys_only`, those of its foreign keys alone (for a file whose own checks were
    passed before, whose referenced files changed). `rows` (start, stop): the checks of one
    row at a time (required, enum, pattern, format, minimum, maximum, list items) look at those
    rows of the file alone, the others being proven sound before (check/proven.py); the checks
    of the whole table read every row."""
    problems = []
    described = con.execute(
        f"DESCRIBE SELECT * EXCLUDE (file_row_number) FROM {_source(path)}").fetchall()
    actual = [(row[0], row[1]) for row in described]
    expected = [(f["name"], DUCKDB_TYPES[f["type"]]) for f in schema["fields"]]
    if actual != expected:
        problems.append({"check": "type", "field": None,
                         "message": f"columns and types are {actual}, the schema says {expected}"})
        return problems
    source = _source(path)
    key = schema.get("primaryKey", [])
    key = [key] if isinstance(key, str) else key
    # The row-order check reads the key alone, in the file's order (a window), and is run
    # first: where every row's key is there and greater than the key of the row before, no
    # key is given twice, and the search for duplicates of the key is left out (100k
    # statements, 9 runs each: the statements' checks 0.169 -> 0.140 s, status_history's
    # 0.127 -> 0.095 s). The order cannot say so where a key is missing: a NULL key
    # compares as nothing, a NULL field of a key of several sorts after every value.
    ordered = None  # the key alone, beside the key of the row before it
    unordered = 0  # rows whose key is not greater than the one before
    unique_key = None  # the key expression no two rows share, as the order proves
    if key and not foreign_keys_only:
        expr = _key_expr(key)
        missing = " OR ".join(quote_ident(k) + " IS NULL" for k in key)
        columns = ", ".join(quote_ident(k) for k in key)
        # With `rows`, the order is read from the row before them to the row after them: the
        # other rows follow one another as they did in the last build, in order then.
        nearby = "" if rows is None else _within(max(rows[0] - 1, 0), rows[1] + 1)
        ordered = (f"(SELECT file_row_number, {columns}, lag({expr}) OVER (ORDER BY "
                   f"file_row_number) AS __previous FROM {source}{nearby}) AS c")
        unordered, keyless = con.execute(
            f"SELECT count(*) FILTER (WHERE __previous >= {expr}), "
            f"count(*) FILTER (WHERE {missing}) FROM {ordered}").fetchone()
        if not unordered and not keyless:
            unique_key = expr
    # A duplicate is found once per key, for the unique and the primary-key check alike.
    duplicates: dict[str, str] = {}

    def repeated(expr: str) -> str:
        if expr == unique_key:
            return "false"
        if expr not in duplicates:
            duplicates[expr] = f"__repeated_{len(duplicates)}"
        return f"{expr} IN (SELECT __key FROM {duplicates[expr]})"

    # (check, field, condition, frame): the order frame's, counted above; the others read
    # every row as it streams by.
    checks = []
    # The rows the checks of one row at a time read: all, or (with `rows`) those alone, which
    # DuckDB then reads alone from the file (100k statements: 0.066 -> 0.014 s).
    part = "rows" if rows is None else "part"
    for field in [] if foreign_keys_only else schema["fields"]:
        for check, condition in _field_conditions(field):
            checks.append((check, field["name"], condition, part))
        if field.get("constraints", {}).get("unique"):
            checks.append(("unique", field["name"], repeated(quote_ident(field["name"])),
                           "rows"))
    if ordered is not None:
        checks.append(("primary-key", ",".join(key), f"{repeated(expr)} OR {missing}", "rows"))
        checks.append(("row-order", ",".join(key), f"__previous >= {expr}", "order"))
    for fk in schema.get("foreignKeys", []):
        ref = fk["reference"]
        parent = parquet_paths.get(ref["resource"])
        if parent is None:
            problems.append({"check": "foreign-key", "field": ",".join(fk["fields"]),
                             "message": f"referenced resource {ref['resource']!r} not found"})
            continue
        child_cols = ["c." + quote_ident(f) for f in fk["fields"]]
        parent_cols = [quote_ident(f) for f in ref["fields"]]
        match = " AND ".join(f"p.{p} = {c}" for p, c in zip(parent_cols, child_cols))
        not_null = " AND ".join(f"{c} IS NOT NULL" for c in child_cols)
        checks.append(("foreign-key", ",".join(fk["fields"]),
                       f"{not_null} AND NOT EXISTS (SELECT 1 FROM read_parquet("
                       f"{quote_literal(parent.as_posix())}) p WHERE {match})", "rows"))
    if not checks:
        return problems
    named = ", ".join(f"{name} AS MATERIALIZED (SELECT {expr} AS __key FROM {source} "
                      f"GROUP BY ALL HAVING count(*) > 1)" for expr, name in duplicates.items())
    frames = {"rows": (f"WITH {named} " if named else "", f"{source} AS c"),
              "order": ("", ordered)}
    if rows is not None:
        frames["part"] = ("", f"(SELECT * FROM {source}{_within(*rows)}) AS c")
    counts = [unordered if c[3] == "order" else 0 for c in checks]
    for frame in ("rows", "part"):
        asked = [n for n, c in enumerate(checks) if c[3] == frame]
        if not asked:
            continue
        prefix, base = frames[frame]
        found = con.execute(prefix + "SELECT " + ", ".join(
            f"count(*) FILTER (WHERE {checks[n][2]})" for n in asked)
            + f" FROM {base}").fetchone()
        for n, count in zip(asked, found):
            counts[n] = count
    for (check, field, condition, frame), count in zip(checks, counts):
        if not count:
            continue
        prefix, base = frames[frame]
        shown = field.split(",")
        cols = ", ".join(quote_ident(f) for f in shown)
        rows = con.execute(f"{prefix}SELECT file_row_number + 1, {cols} FROM {base} "
                           f"WHERE {condition} ORDER BY file_row_number LIMIT {EXAMPLES}"
                           ).fetchall()
        examples = "; ".join(f"row {r[0]}: {', '.join(repr(v) for v in r[1:])}" for r in rows)
        problems.append({"check": check, "field": field, "message":
                         f"{count} row(s) fail the {check} check on {field} ({examples})"})
    return problems
