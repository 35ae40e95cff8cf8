"""The documents a release zip carries besides the data: README.md for people who downloaded
it, CITATION.cff and LICENSE.md. All of it is derived from the package descriptor and the
tables, so the texts cannot drift from the data they describe."""
from __future__ import annotations

from collections import Counter

import pyarrow as pa

from ..package.descriptor import parquet_files
from .credits import authors as _authors
from .credits import document_licences, licence_scope, licence_words
from .credits import release_day as _released
from .credits import sources as _sources
from .credits import title_of as _title
from .mdtext import cell as _cell
from .mdtext import code as _code
from .mdtext import dest as _dest
from .mdtext import first_sentence as _first_sentence
from .mdtext import table as _table
from .mdtext import text as _text
from .recipes import recipes_section, verify_section

# The summary counts need to know which table holds the pledges and which the code list; the
# columns that link them are found through the foreign keys rather than assumed.
STATEMENTS, STATUSES, DOCUMENTS = "statements", "statuses", "documents"
CHART_ALT = "Statements by status over time"
# The recipes read this table: its section numbers ("2.10") are what a reader without the
# schema gets wrong.
RECIPE_TABLE = "sections"

_KNOWN_FILES = {
    "datapackage.json": "Frictionless Data Package descriptor: metadata and table schemas.",
    "views.sql": "DuckDB views over the Parquet files; run it from this folder.",
    "CHANGELOG.md": "What changed since the previous release.",
    "CITATION.cff": "Citation metadata (Citation File Format 1.2.0).",
    "LICENSE.md": "The licences of the data and of each document's text, and how to attribute "
                  "them.",
    "README.md": "This file.",
    "SHA256SUMS": "SHA-256 checksums of the release files.",
}

_USAGE = """\
## Using the data

Unpack the zip and run these from the unpacked folder. The Parquet files keep the column types \
(dates, booleans, lists); the CSV files hold the same rows as text.

### DuckDB

The database file holds every table and its views: open it with `duckdb {database}`, then

```sql
{query}
```

Or start DuckDB in memory, create the views over the Parquet files with `.read views.sql` and \
run the same query.

### Python (pandas, polars) and R (arrow)

```python
import pandas as pd
import polars as pl

{table} = pd.read_parquet("{parquet}")
print({table}["{column}"].value_counts())

{table} = pl.read_parquet("{parquet}")
print({table}.group_by("{column}").len())
```

```r
library(arrow)
{table} <- read_parquet("{parquet}")
table({table}${column})
```
"""

_REMOTE = """\
## Querying without downloading the data

{views} defines the same views, but they read the Parquet files over HTTPS from <{base_url}> \
with DuckDB's httpfs extension, which fetches only the parts of the files a query needs. The \
file is small: take it from this release (it is published beside the zip) and run in DuckDB:

```sql
.read {name}
SELECT count(*) FROM {table};
```

It installs and loads httpfs itself (`INSTALL httpfs; LOAD httpfs;`), which needs DuckDB's \
extension repository to be reachable the first time.
"""

_NO_REMOTE = """\
## Querying without downloading the data

This release has no views over a web address. Once the Parquet files are published at a URL, \
`pledgepack views --base-url URL` writes views that read them from there; load them in DuckDB \
after `INSTALL httpfs; LOAD httpfs;`.
"""


def _tables(descriptor: dict) -> list[dict]:
    return [r for r in descriptor.get("resources", [])
            if r.get("type") == "table" and "schema" in r]


def _resource(descriptor: dict, name: str) -> dict:
    return next((r for r in _tables(descriptor) if r["name"] == name), {})





def _describe_file(name: str, descriptor: dict, chart: str | None,
                   remote_views: str | None) -> str:
    resource = next((r for r in descriptor.get("resources", []) if r.get("path") == name), {})
    parquet = next((t for t, p in parquet_files(descriptor).items() if p.get("path") == name),
                   None)
    if name == chart:
        return "Chart of the number of statements per status over time."
    if name == remote_views:
        return "DuckDB views that read the Parquet files over HTTPS, without downloading them."
    if resource.get("type") == "table":
        return (f"Table {_code(resource['name'])} as CSV (UTF-8, header row): "
                f"{_text(_first_sentence(resource.get('description', '')))}")
    if parquet:
        return f"Table {_code(parquet)} as Apache Parquet, with typed columns."
    if name.endswith(".duckdb"):
        return "DuckDB database with every table and the same views, ready to query."
    if name.endswith(".sqlite"):
        return ("SQLite database with every table, its keys and full-text search; dates as "
                "ISO text, booleans as 0/1, lists as JSON arrays.")
    if name.endswith(".datasette.json"):
        return "Metadata for datasette: titles, descriptions, licence, source and labels."
    if name.endswith(".xlsx"):
        return ("Spreadsheet workbook: a sheet describing the data and its licence, then a "
                "sheet per table (text as text, dates as dates).")
    return _KNOWN_FILES.get(name.rsplit("/", 1)[-1], "")


def _fk_column(resource: dict, target: str, fallback: str) -> tuple[str, str]:
    """(local field, referenced field) of the foreign key from `resource` to `target`."""
    for fk in resource.get("schema", {}).get("foreignKeys", []):
        if fk.get("reference", {}).get("resource") == target:
            return _names(fk["fields"])[0], _names(fk["reference"]["fields"])[0]
    return fallback, fallback


def _names(fields) -> list[str]:
    return [fields] if isinstance(fields, str) else list(fields)


def _counts(descriptor: dict, tables: dict[str, pa.Table]) -> list[str]:
    for name in (STATEMENTS, STATUSES):
        if name not in tables:
            raise ValueError(f"tables has no {name!r} table: the counts need it")
    resource = _resource(descriptor, STATEMENTS)
    column, key = _fk_column(resource, STATUSES, "status")
    doc_column, doc_key = _fk_column(resource, DOCUMENTS, "document_id")
    statements, statuses = tables[STATEMENTS], tables[STATUSES]
    labels = {row[key]: row.get("label_en") or row[key] for row in statuses.to_pylist()}
    # The schema's enum gives the code list's canonical order; the Parquet rows are sorted by
    # code, which would put "broken" first.
    field = next((f for f in resource.get("schema", {}).get("fields", [])
                  if f["name"] == column), {})
    order = list(field.get("constraints", {}).get("enum") or [])
    order += [c for c in labels if c not in order]
    statuses_given = statements.column(column).to_pylist()
    reviewed = (statements.column("reviewed").to_pylist()
                if "reviewed" in statements.column_names
                else [d is not None for d in statements.column("last_update").to_pylist()])
    # A status nobody has reviewed is only the default: counted apart, never as a finding.
    codes = [c if r else None for c, r in zip(statuses_given, reviewed)]
    per_status, total = Counter(codes), len(codes)
    order += sorted(c for c in per_status if c not in order and c is not None)
    unreviewed = per_status[None]
    defaults = sorted(Counter(c for c, r in zip(statuses_given, reviewed) if not r))
    columns = order + [None]
    names = {**{c: labels.get(c, c) for c in order}, None: "Not yet reviewed"}

    def share(n: int) -> str:
        return f"{100 * n / total:.1f} %" if total else "–"

    intro = (f"{total} statements in total: {total - unreviewed} reviewed by the editors, each "
             "with the status they last gave it, and "
             f"{unreviewed} not yet reviewed (no review date")
    intro += (f"; their status is the default, {', '.join(_code(c) for c in defaults)}, which "
              "nobody has checked)." if defaults else ").")
    out = ["## Statements by status", "", intro, ""]
    rows = [[_cell(f"Reviewed: {names[c]}"), _code(c), str(per_status[c]), share(per_status[c])]
            for c in order]
    rows.append(["Not yet reviewed", "", str(unreviewed), share(unreviewed)])
    rows.append(["**Total**", "", f"**{total}**", share(total)])
    out += _table(["Status", "Code", "Statements", "Share"], rows, "llrr")

    per_doc = Counter(zip(statements.column(doc_column).to_pylist(), codes))
    documents = tables[DOCUMENTS].to_pylist() if DOCUMENTS in tables else []
    titles = {row[doc_key]: row.get("title") or row[doc_key] for row in documents}
    rows = []
    for doc in list(titles) + sorted({d for d, _ in per_doc if d not in titles}):
        counts = [per_doc[(doc, c)] for c in columns]
        rows.append([_cell(titles.get(doc, doc)), *map(str, counts), str(sum(counts))])
    header = ["Document", *(_cell(names[c]) for c in columns), "Total"]
    return out + ["### By document", ""] + _table(header, rows, "l" + "r" * (len(columns) + 1))


def _usage(descriptor: dict, files: list[str]) -> list[str]:
    database = next((f for f in files if f.endswith(".duckdb")), f"{descriptor['name']}.duckdb")
    parquet = parquet_files(descriptor).get(STATEMENTS, {}).get("path",
                                                            f"data/{STATEMENTS}.parquet")
    column, _ = _fk_column(_resource(descriptor, STATEMENTS), STATUSES, "status")
    query = f"SELECT {column}, count(*) AS n FROM {STATEMENTS} GROUP BY {column} ORDER BY n DESC;"
    return _USAGE.format(database=database, query=query, table=STATEMENTS, parquet=parquet,
                         column=column).splitlines() + [""]


def _remote(remote_views: str | None, base_url: str | None) -> list[str]:
    if not (remote_views and base_url):
        return _NO_REMOTE.splitlines() + [""]
    return _REMOTE.format(views=_code(remote_views), base_url=base_url, name=remote_views,
                          table=STATEMENTS).splitlines() + [""]


def _field_type(field: dict) -> str:
    kind = field.get("type", "any")
    if kind == "list" and field.get("itemType"):
        return f"list of {field['itemType']}"
    if field.get("format") not in (None, "default"):
        return f"{kind} ({field['format']})"
    return kind


def _dictionary(descriptor: dict, tables: dict[str, pa.Table]) -> list[str]:
    out = ["## Data dictionary", "", "Generated from the table schemas in `datapackage.json`; "
           "primary-key fields are always required.", ""]
    out += _table(["Table", "Rows", "Description"],
                  [[_code(r["name"]), str(tables[r["name"]].num_rows) if r["name"] in tables
                    else "", _cell(_first_sentence(r.get("description", "")))]
                   for r in _tables(descriptor)], "lrl")
    for resource in _tables(descriptor):
        schema, name = resource["schema"], resource["name"]
        pk = _names(schema.get("primaryKey") or [])
        title = f" — {_text(resource['title'])}" if resource.get("title") else ""
        out += [f"### {_code(name)}{title}", ""]
        if resource.get("description"):
            out += [_text(resource["description"]), ""]
        files = _code(resource.get("path", ""))
        if parquet := parquet_files(descriptor).get(name, {}).get("path"):
            files += f" (CSV), {_code(parquet)} (Parquet)"
        out += [f"Files: {files}", ""]
        if pk:
            out += ["Primary key: " + ", ".join(map(_code, pk)), ""]
        if fks := schema.get("foreignKeys") or []:
            out += ["Foreign keys:", ""]
            for fk in fks:
                target = fk["reference"].get("resource") or name
                local = ", ".join(map(_code, _names(fk["fields"])))
                refs = _names(fk["reference"]["fields"])
                remote = ", ".join(_code(f"{target}.{f}") for f in refs)
                out.append(f"- {local} → {remote}")
            out.append("")
        rows = []
        for field in schema.get("fields", []):
            constraints = field.get("constraints", {})
            text = _cell(field.get("description") or field.get("title") or "")
            if constraints.get("enum"):
                allowed = ", ".join(_code(v) for v in constraints["enum"])
                text = f"{text} Allowed values: {allowed}.".strip()
            required = constraints.get("required") or field["name"] in pk
            rows.append([_code(field["name"]), _text(_field_type(field)),
                         "yes" if required else "no", text])
        out += _table(["Field", "Type", "Required", "Description"], rows)
    return out


def data_readme(descriptor: dict, tables: dict[str, pa.Table], *, version: str, released: str,
                files: list[str], chart: str | None = None, changelog: str | None = None,
                remote_views: str | None = None, base_url: str | None = None) -> str:
    """README.md for a release of the package. `tables` maps table names to their Parquet
    rows; `files` are the release's paths relative to its root; `chart` (the status chart SVG)
    and `changelog` are paths among them; `remote_views` is the file of views that read the
    Parquet files from `base_url`."""
    day, licence = _released(released), licence_words(descriptor)
    out = [f"# {_text(_title(descriptor))}", ""]
    if descriptor.get("description"):
        out += [_text(descriptor["description"]), ""]
    out += [f"- Version: {_text(version)}", f"- Released: {day.isoformat()}"]
    if descriptor.get("created"):
        out.append(f"- Content as of: {_text(descriptor['created'])}")
    out.append(f"- Licence: {licence} for the tracker's data; each document's text under its "
               "own (see below)")
    if descriptor.get("keywords"):
        out.append("- Keywords: " + ", ".join(_text(k) for k in descriptor["keywords"]))
    out += ["", "## Files", ""]
    for name in files:
        note = _describe_file(name, descriptor, chart, remote_views)
        out.append(f"- {_code(name)}" + (f": {note}" if note else ""))
    out += [""] + verify_section(f"{descriptor['name']}-{version}.zip")

    names = "; ".join(a["title"] for a in _authors(descriptor))
    citation = f"{names} ({day.year}). {_title(descriptor)} (version {version}) [Data set]."
    out += ["## Licence and citation", "", *licence_scope(descriptor),
            "`LICENSE.md` says how to attribute them.", "",
            *document_licences(tables[DOCUMENTS].to_pylist() if DOCUMENTS in tables else [])]
    if sources := _sources(descriptor):
        out += ["It is derived from these sources:", "", *sources, ""]
    out += ["The column `author` of `status_history` publishes the name of the person who made "
            "each commit to the tracker's content, as the repository's `.mailmap` maps it; "
            "editors' names are part of the data.", ""]
    out += ["Please cite this release as:", "", f"> {_text(citation)}", "",
            "`CITATION.cff` holds the same in machine-readable form, for reference managers "
            "and GitHub.", ""]

    out += _counts(descriptor, tables)
    if chart:
        out += [f"![{CHART_ALT}]({_dest(chart)})", ""]
    if changelog:
        out += ["## Changes", "", f"What changed in version {_text(version)} since the previous "
                f"release: [{_text(changelog)}]({_dest(changelog)}).", ""]
    out += _usage(descriptor, files) + recipes_section(RECIPE_TABLE)
    out += _remote(remote_views, base_url)
    out += _dictionary(descriptor, tables)
    return "\n".join(out).rstrip("\n") + "\n"
