"""The documents a release zip carries besides the data: README.md for people who downloaded
it, CITATION.cff and LICENSE.md. All of it is derived from the package descriptor and the
tables, so the texts cannot drift from the data they describe."""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pyarrow as pa
import yaml

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
    "LICENSE.md": "The licence of the data and how to attribute it.",
    "README.md": "This file.",
    "SHA256SUMS": "SHA-256 checksums of the release files.",
}
# Characters that would start markup in titles and descriptions: <document_id> would vanish
# as an HTML tag, [text](#id) would turn into a link, | would split a table row.
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])")

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


def _title(descriptor: dict) -> str:
    return descriptor.get("title") or descriptor["name"]


def _released(released: str) -> dt.date:
    try:
        return dt.date.fromisoformat(released)
    except (TypeError, ValueError):
        raise ValueError(f"released must be a date as YYYY-MM-DD, got {released!r}") from None


def _authors(descriptor: dict) -> list[dict]:
    """Contributors credited as authors; a package that names nobody as author is still
    citable through whoever contributed, but one without contributors is not."""
    people = [c for c in descriptor.get("contributors") or [] if c.get("title")]
    if not people:
        raise ValueError("the descriptor has no contributors with a title: a citation needs at "
                         "least one author; add contributors to datapackage.json")
    return [c for c in people if "author" in (c.get("roles") or [])] or people


def _license(descriptor: dict) -> dict:
    licenses = descriptor.get("licenses") or []
    if not licenses or not licenses[0].get("name"):
        raise ValueError("the descriptor has no licence with a name (an SPDX identifier)")
    return licenses[0]


def _sources(descriptor: dict) -> list[str]:
    return [f"- {_link(s.get('title') or s['path'], s.get('path'))}"
            for s in descriptor.get("sources") or [] if s.get("title") or s.get("path")]


def _text(value) -> str:
    return _MD_SPECIAL.sub(r"\\\1", str(value))


def _cell(value) -> str:
    """Text for one table cell: a raw newline would end the row, so it becomes <br>."""
    lines = re.split(r"\r\n|\r|\n", "" if value is None else str(value).strip())
    return "<br>".join(_text(line) for line in lines)


def _code(value) -> str:
    """A code span; GFM splits table rows at a pipe even inside one, so it is escaped."""
    value = str(value)
    return _text(value) if "`" in value else "`" + value.replace("|", "\\|") + "`"


def _table(header: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    """A Markdown table; `align` holds l or r per column, left by default."""
    rule = ["---:" if a == "r" else "---" for a in align.ljust(len(header), "l")]
    return ["| " + " | ".join(row) + " |" for row in [header, rule, *rows]] + [""]


def _dest(url: str) -> str:
    # Angle brackets keep spaces and parentheses in a destination from ending the link early.
    return f"<{url}>" if re.search(r"[\s()<>]", url) else url


def _link(title: str, url: str | None) -> str:
    return f"[{_text(title)}]({_dest(url)})" if url else _text(title)


def _first_sentence(text: str) -> str:
    text = " ".join(str(text or "").split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return match.group(1) if match else text


def citation_cff(descriptor: dict, *, version: str, released: str) -> str:
    """CITATION.cff (Citation File Format 1.2.0) describing the package as a data set."""
    if not version:
        raise ValueError("version must not be empty")
    authors = [{"name": c["title"], **({"website": c["path"]} if c.get("path") else {})}
               for c in _authors(descriptor)]
    doc: dict = {"cff-version": "1.2.0",
                 "message": "If you use this data, please cite it using the metadata in this "
                            "file.",
                 "type": "dataset", "title": _title(descriptor)}
    if descriptor.get("description"):
        doc["abstract"] = " ".join(descriptor["description"].split())
    doc |= {"version": str(version), "date-released": _released(released).isoformat(),
            "license": _license(descriptor)["name"]}
    if descriptor.get("keywords"):
        doc["keywords"] = [str(k) for k in descriptor["keywords"]]
    doc["authors"] = authors
    # safe_dump quotes whatever YAML would read back as a number, date or mapping, so "1.0"
    # and "2024-05-01" stay strings; no line folding keeps diffs between releases readable.
    return "# Generated by pledgepack from datapackage.json.\n" + yaml.safe_dump(
        doc, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1 << 16)


_CC_TERMS = {
    "BY": "**Attribution**: give appropriate credit (name the authors and the title, link the "
          "licence, and link the source where one is given) and indicate whether you made "
          "changes. Do not suggest that the authors endorse you or your use.",
    "NC": "**Non-commercial**: do not use the data primarily for commercial gain.",
    "ND": "**No derivatives**: do not distribute modified versions of the data.",
    "SA": "**Share alike**: distribute what you build from the data under the same or a "
          "compatible licence.",
}


def license_text(descriptor: dict) -> str:
    """LICENSE.md for the data: which licence, what it requires, how to attribute, sources."""
    lic, title = _license(descriptor), _title(descriptor)
    url, spdx = lic.get("path"), lic["name"]
    authors = "; ".join(a["title"] for a in _authors(descriptor))
    out = [f"# Licence of the data in {_text(title)}", "",
           f"The data in this package is licensed under {_link(lic.get('title') or spdx, url)} "
           f"(SPDX identifier {_code(spdx)}).", ""]
    if url:
        out += [f"The legal text of the licence is published at <{url}>; that text, not this "
                "summary, sets the terms.", ""]
    parts = spdx.upper().split("-")
    if parts[:2] == ["CC", "BY"]:
        # A plain-words summary is only safe for the Creative Commons family, whose elements
        # are spelled out in the identifier; anything else sends the reader to the licence.
        out += ["You may copy and redistribute the data in any medium or format, and remix, "
                "transform and build upon it, under these terms:", ""]
        out += [f"- {text}" for key, text in _CC_TERMS.items() if key in parts] + [""]
    else:
        out += ["Read the licence for what it permits and what it requires of you.", ""]
    versioned = f", version {descriptor['version']}" if descriptor.get("version") else ""
    out += ["## How to attribute", "",
            "When you use or share the data, credit it for example like this:", "",
            f"> “{_text(title)}”{versioned}, by {_text(authors)}, licensed under "
            f"{_link(spdx.replace('-', ' '), url)}.", "",
            "If you changed the data, say so, for example “data adapted from …”.", ""]
    if sources := _sources(descriptor):
        out += ["## Sources", "", "The data is derived from the following sources; material "
                "taken from them remains subject to their own terms:", "", *sources, ""]
    out.append("The licence covers the data of this package only; the pledgepack software that "
               "built it is licensed separately.")
    return "\n".join(out) + "\n"


def _describe_file(name: str, descriptor: dict, chart: str | None,
                   remote_views: str | None) -> str:
    resource = next((r for r in descriptor.get("resources", []) if r.get("path") == name), {})
    if name == chart:
        return "Chart of the number of statements per status over time."
    if name == remote_views:
        return "DuckDB views that read the Parquet files over HTTPS, without downloading them."
    if resource.get("type") == "table":
        return (f"Table {_code(resource['name'])} as CSV (UTF-8, header row): "
                f"{_text(_first_sentence(resource.get('description', '')))}")
    if resource.get("format") == "parquet":
        table = resource["name"].removesuffix("-parquet")
        return f"Table {_code(table)} as Apache Parquet, with typed columns."
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
    parquet = next((r["path"] for r in descriptor.get("resources", [])
                    if r.get("name") == f"{STATEMENTS}-parquet"), f"data/{STATEMENTS}.parquet")
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
        out += [f"File: {_code(resource.get('path', ''))}", ""]
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
    day, lic = _released(released), _license(descriptor)
    licence = _link(lic.get("title") or lic["name"], lic.get("path"))
    out = [f"# {_text(_title(descriptor))}", ""]
    if descriptor.get("description"):
        out += [_text(descriptor["description"]), ""]
    out += [f"- Version: {_text(version)}", f"- Released: {day.isoformat()}"]
    if descriptor.get("created"):
        out.append(f"- Content as of: {_text(descriptor['created'])}")
    out.append(f"- Licence: {licence}")
    if descriptor.get("keywords"):
        out.append("- Keywords: " + ", ".join(_text(k) for k in descriptor["keywords"]))
    out += ["", "## Files", ""]
    for name in files:
        note = _describe_file(name, descriptor, chart, remote_views)
        out.append(f"- {_code(name)}" + (f": {note}" if note else ""))
    out += [""] + verify_section(f"{descriptor['name']}-{version}.zip")

    names = "; ".join(a["title"] for a in _authors(descriptor))
    citation = f"{names} ({day.year}). {_title(descriptor)} (version {version}) [Data set]."
    out += ["## Licence and citation", "",
            f"The data is licensed under {licence}; `LICENSE.md` says how to attribute it.", ""]
    if sources := _sources(descriptor):
        out += ["It is derived from these sources:", "", *sources, ""]
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
