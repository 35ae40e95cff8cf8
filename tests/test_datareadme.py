"""README.md, CITATION.cff and LICENSE.md of a release, generated from a real built package."""
from __future__ import annotations

import copy
import json
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from conftest import CHAPTER, DOCUMENT_YAML, SHIPPED_CONTENT, chapter, make_document
from pledgepack.build import build
from pledgepack.release.credits import citation_cff, license_text
from pledgepack.release.datareadme import data_readme

VERSION, RELEASED = "1.0", "2024-05-01"
CHART_LINE = "![Statements by status over time](charts/status.svg)"
BASE_URL = "https://data.example.org/pledges/1.0/"
# Top-level keys the Citation File Format 1.2.0 schema allows (it forbids any others).
CFF_KEYS = {"abstract", "authors", "cff-version", "commit", "contact", "date-released", "doi",
            "identifiers", "keywords", "license", "license-url", "message", "preferred-citation",
            "references", "repository", "repository-artifact", "repository-code", "title", "type",
            "url", "version"}

SECOND_CHAPTER = chapter("""
    - id: breitband
      status: broken
      summary: Breitband überall
    - id: funk
      status: not_implemented
      summary: Funklöcher schließen
    - id: netz
      status: not_implemented
      summary: Netzausbau
    """, body="Wir bauen [Breitband](#breitband), [Funk](#funk) und [Netz](#netz).\n",
    title="2.1 Infrastruktur")


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """Two documents with every status; one document's title carries a pipe."""
    root = tmp_path_factory.mktemp("small")
    content = make_document(root / "content", chapters={"1-1-verwaltung.md": CHAPTER,
                                                         "2-1-infrastruktur.md": SECOND_CHAPTER},
                            document_yaml=DOCUMENT_YAML.replace(
                                "Koalitionsvertrag Testland 2024", "Vertrag A | B: Testland"))
    make_document(content, name="zweites-land",
                  chapters={"1-1-netz.md": SECOND_CHAPTER.replace("2.1 ", "1.1 ")})
    build(content, root / "dist", git_history=False)
    return root / "dist"


@pytest.fixture(scope="module")
def shipped_dist(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shipped")
    shutil.copytree(SHIPPED_CONTENT, root / "content")
    build(root / "content", root / "dist", git_history=False)
    return root / "dist"


def load(dist: Path) -> tuple[dict, dict]:
    """The descriptor and the Parquet tables, keyed by the name of their CSV resource."""
    descriptor = json.loads((dist / "datapackage.json").read_text(encoding="utf-8"))
    return descriptor, {r["name"]: pq.read_table(dist / r["parquet"]["path"])
                        for r in descriptor["resources"] if r["type"] == "table"}


def release_files(descriptor: dict) -> list[str]:
    return ["README.md", "CHANGELOG.md", "CITATION.cff", "LICENSE.md", "SHA256SUMS",
            "datapackage.json", "views.sql", "pledges.duckdb",
            *(p for r in descriptor["resources"] for p in (r["path"], r["parquet"]["path"]))]


def readme(dist: Path, descriptor: dict | None = None, **options) -> str:
    own, tables = load(dist)
    options = {"files": release_files(own), **options}
    return data_readme(descriptor or own, tables, version=VERSION, released=RELEASED, **options)


# -- reading the generated Markdown back ------------------------------------------------------

def split_row(line: str) -> list[str]:
    """The cells of a GFM table row, with backslash escapes undone and <br> as a newline;
    a pipe only separates cells when it is not escaped."""
    assert line.startswith("| ") and line.endswith(" |"), line
    cells, current, chars = [], [], iter(line[1:-1])
    for char in chars:
        if char == "\\":
            current.append(next(chars))
        elif char == "|":
            cells.append("".join(current))
            current = []
        else:
            current.append(char)
    cells.append("".join(current))
    return [c.strip().replace("<br>", "\n") for c in cells]


def unquote(cell: str) -> str:
    return cell[1:-1] if len(cell) > 1 and cell[0] == cell[-1] == "`" else cell


def tables_in(markdown: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """(nearest heading above, header, rows) of every table; every row must have as many
    cells as the header."""
    found, heading, lines = [], "", markdown.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("#"):
            heading = lines[i]
        if lines[i].startswith("| ") and i + 1 < len(lines) and lines[i + 1].startswith("| --"):
            header, rows = split_row(lines[i]), []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(split_row(lines[i]))
                assert len(rows[-1]) == len(header), (heading, lines[i])
                i += 1
            found.append((heading, header, rows))
            continue
        i += 1
    return found


def table_under(markdown: str, heading: str) -> tuple[list[str], list[list[str]]]:
    matches = [(h, rows) for title, h, rows in tables_in(markdown) if title == heading]
    assert len(matches) == 1, f"expected one table under {heading!r}, found {len(matches)}"
    return matches[0]


def section(markdown: str, heading: str) -> str:
    start = markdown.index(heading + "\n")
    level = heading.split(" ")[0]
    rest = markdown[start + len(heading):]
    ends = [rest.find(f"\n{'#' * n} ") for n in range(1, len(level) + 1)]
    ends = [e for e in ends if e >= 0]
    return rest[:min(ends)] if ends else rest


# -- the data dictionary -----------------------------------------------------------------------

def test_dictionary_has_every_table_and_field_with_type_and_description(shipped_dist):
    descriptor, _ = load(shipped_dist)
    text = readme(shipped_dist)
    csv_resources = [r for r in descriptor["resources"] if r["type"] == "table"]
    assert {r["name"] for r in csv_resources} == {"documents", "sections", "statements",
                                                  "reports", "status_history", "statuses"}
    for resource in csv_resources:
        heading = f"### `{resource['name']}` — {resource['title']}"
        header, rows = table_under(text, heading)
        assert header == ["Field", "Type", "Required", "Description"]
        schema = resource["schema"]
        fields = {unquote(row[0]): row for row in rows}
        assert list(fields) == [f["name"] for f in schema["fields"]]
        for field in schema["fields"]:
            _, kind, required, description = fields[field["name"]]
            expected_type = (f"list of {field['itemType']}" if field["type"] == "list"
                             else field["type"])
            assert kind.split(" (")[0] == expected_type
            if "format" in field:
                assert kind.endswith(f"({field['format']})")
            constraints = field.get("constraints", {})
            is_key = field["name"] in schema["primaryKey"]
            assert required == ("yes" if constraints.get("required") or is_key else "no")
            wanted = field.get("description") or field["title"]
            if "enum" in constraints:
                body, allowed = description.split(" Allowed values: ")
                assert [unquote(v) for v in allowed.rstrip(".").split(", ")] == constraints["enum"]
            else:
                body = description
            assert body == wanted
        part = section(text, heading)
        assert "Primary key: " + ", ".join(f"`{k}`" for k in schema["primaryKey"]) in part
        for fk in schema.get("foreignKeys", []):
            ref = fk["reference"]
            assert f"- `{fk['fields'][0]}` → `{ref['resource']}.{ref['fields'][0]}`" in part


def test_dictionary_overview_counts_rows(shipped_dist):
    descriptor, tables = load(shipped_dist)
    _, rows = table_under(readme(shipped_dist), "## Data dictionary")
    assert {unquote(r[0]): int(r[1]) for r in rows} == {
        name: table.num_rows for name, table in tables.items()}
    assert {unquote(r[0]) for r in rows} == {r["name"] for r in descriptor["resources"]
                                             if r["type"] == "table"}


def test_pipe_and_newline_in_a_description_keep_the_row_intact(small):
    descriptor, _ = load(small)
    changed = copy.deepcopy(descriptor)
    statements = next(r for r in changed["resources"] if r["name"] == "statements")
    statements["schema"]["fields"][0]["description"] = "left | right\nsecond `line`"
    text = readme(small, changed)
    _, rows = table_under(text, "### `statements` — Statements")
    assert len(rows[0]) == 4
    assert rows[0][3] == "left | right\nsecond `line`"
    assert "left \\| right<br>second \\`line\\`" in text


def test_primary_key_fields_count_as_required(small):
    descriptor, _ = load(small)
    changed = copy.deepcopy(descriptor)
    reports = next(r for r in changed["resources"] if r["name"] == "reports")
    for field in reports["schema"]["fields"]:
        field.pop("constraints", None)
    _, rows = table_under(readme(small, changed), "### `reports` — Reports")
    required = {unquote(r[0]): r[2] for r in rows}
    assert reports["schema"]["primaryKey"] == ["statement_id", "position"]
    assert required == {"statement_id": "yes", "position": "yes", "title": "no", "url": "no"}


# -- counts ------------------------------------------------------------------------------------

def test_status_counts_equal_the_parquet(small):
    descriptor, tables = load(small)
    text = readme(small)
    statements = pq.read_table(small / "data" / "statements.parquet")
    reviewed = statements.column("reviewed").to_pylist()
    # Only a reviewed status is a finding; the others are counted apart.
    codes = [c if r else None for c, r in
             zip(statements.column("status").to_pylist(), reviewed)]
    expected = Counter(codes)
    # Reviewed and not yet reviewed statements both occur, so both kinds of row are checked.
    assert None in expected and len(expected) >= 3
    statuses = {row["status"]: row for row in pq.read_table(
        small / "data" / "statuses.parquet").to_pylist()}

    header, rows = table_under(text, "## Statements by status")
    assert header == ["Status", "Code", "Statements", "Share"]
    *rows, unreviewed, total = rows
    enum = next(f for r in descriptor["resources"] if r["name"] == "statements"
                for f in r["schema"]["fields"] if f["name"] == "status")["constraints"]["enum"]
    assert [unquote(r[1]) for r in rows] == enum
    for label, code, count, share in rows:
        code = unquote(code)
        assert label == f"Reviewed: {statuses[code]['label_en']}"
        assert int(count) == expected[code]
        assert share == f"{100 * expected[code] / len(codes):.1f} %"
    assert unreviewed[:3] == ["Not yet reviewed", "", str(expected[None])]
    assert total[2] == f"**{len(codes)}**"
    assert f"{expected[None]} not yet reviewed" in text

    header, rows = table_under(text, "### By document")
    assert header == ["Document", *(statuses[c]["label_en"] for c in enum), "Not yet reviewed",
                      "Total"]
    titles = {row["document_id"]: row["title"] for row in tables["documents"].to_pylist()}
    per_doc = Counter(zip(tables["statements"].column("document_id").to_pylist(), codes))
    assert [r[0] for r in rows] == list(titles.values())
    assert "Vertrag A | B: Testland" in titles.values()
    for row in rows:
        doc = next(d for d, t in titles.items() if t == row[0])
        assert [int(n) for n in row[1:-1]] == [per_doc[(doc, c)] for c in [*enum, None]]


def test_shipped_counts_total(shipped_dist):
    text = readme(shipped_dist)
    statements = pq.read_table(shipped_dist / "data" / "statements.parquet")
    _, rows = table_under(text, "## Statements by status")
    assert sum(int(r[2]) for r in rows[:-1]) == statements.num_rows
    assert f"{statements.num_rows} statements in total" in text


# -- the rest of the README --------------------------------------------------------------------

def test_readme_head_files_and_usage(small):
    descriptor, _ = load(small)
    text = readme(small, files=[*release_files(descriptor), "notes/extra.bin"])
    assert text.startswith(f"# {descriptor['title']}\n")
    assert f"- Version: {VERSION}" in text and f"- Released: {RELEASED}" in text
    files = section(text, "## Files")
    for name in release_files(descriptor):
        line = next(ln for ln in files.splitlines() if ln.startswith(f"- `{name}`"))
        assert len(line) > len(f"- `{name}`: "), line
    assert "- `notes/extra.bin`\n" in files
    assert "Table `statements` as CSV" in files and "Table `statements` as Apache Parquet" in files
    dictionary = section(text, "## Data dictionary")
    assert "Files: `data/statements.csv` (CSV), `data/statements.parquet` (Parquet)\n" \
        in dictionary
    assert "sha256sum -c SHA256SUMS" in text
    assert "frictionless validate datapackage.json" in text
    assert "duckdb pledges.duckdb" in text and ".read views.sql" in text
    for snippet in ('pd.read_parquet("data/statements.parquet")',
                    'pl.read_parquet("data/statements.parquet")',
                    'read_parquet("data/statements.parquet")', "library(arrow)"):
        assert snippet in text
    cite = section(text, "## Licence and citation")
    assert "CITATION.cff" in cite and descriptor["licenses"][0]["path"] in cite
    authors = "; ".join(c["title"] for c in descriptor["contributors"] if "author" in c["roles"])
    assert f"> {authors} (2024). {descriptor['title']} (version {VERSION}) \\[Data set\\]." in cite


def test_chart_line_only_with_a_chart(small):
    assert CHART_LINE not in readme(small)
    assert "Statements by status over time" not in readme(small)
    with_chart = readme(small, chart="charts/status.svg")
    assert with_chart.count(CHART_LINE) == 1
    assert "- `charts/status.svg`: Chart" not in with_chart  # not in files: not listed
    listed = readme(small, chart="charts/status.svg", files=["charts/status.svg"])
    assert "- `charts/status.svg`: Chart of the number of statements" in listed


def test_remote_section_switches_on_base_url(small):
    local = readme(small)
    assert "pledgepack views --base-url URL" in local
    assert "INSTALL httpfs" in local and BASE_URL not in local
    remote = readme(small, remote_views="views-remote.sql", base_url=BASE_URL)
    part = section(remote, "## Querying without downloading the data")
    assert BASE_URL in part and ".read views-remote.sql\nSELECT count(*) FROM statements;" in part
    assert "pledgepack views --base-url" not in remote
    # a base URL without the views file to go with it is not a remote setup
    assert "pledgepack views --base-url URL" in readme(small, base_url=BASE_URL)


def test_changelog_is_linked_when_given(small):
    text = readme(small, changelog="CHANGELOG.md")
    part = section(text, "## Changes")
    assert f"version {VERSION}" in part and "[CHANGELOG.md](CHANGELOG.md)" in part
    assert "## Changes" not in readme(small)


def test_outputs_are_deterministic(small):
    descriptor, tables = load(small)
    options = {"version": VERSION, "released": RELEASED, "files": release_files(descriptor),
               "chart": "c.svg", "changelog": "CHANGELOG.md", "remote_views": "r.sql",
               "base_url": BASE_URL}
    assert data_readme(descriptor, tables, **options) == data_readme(
        copy.deepcopy(descriptor), load(small)[1], **options)
    assert citation_cff(descriptor, version=VERSION, released=RELEASED) == citation_cff(
        copy.deepcopy(descriptor), version=VERSION, released=RELEASED)
    documents = tables["documents"].to_pylist()
    assert license_text(descriptor, documents) == license_text(copy.deepcopy(descriptor),
                                                               copy.deepcopy(documents))


def test_bad_release_date_is_refused(small):
    descriptor, tables = load(small)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        citation_cff(descriptor, version=VERSION, released="01.05.2024")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        data_readme(descriptor, tables, version=VERSION, released="2024-13-01", files=[])


# -- CITATION.cff ------------------------------------------------------------------------------

def test_citation_cff_is_valid_and_round_trips(small):
    descriptor, _ = load(small)
    descriptor = copy.deepcopy(descriptor)
    descriptor["title"] = "Zusagen: Überblick – 2024 # no comment"
    text = citation_cff(descriptor, version=VERSION, released=RELEASED)
    assert "Überblick" in text and "\\u" not in text
    cff = yaml.safe_load(text)
    assert {"cff-version", "message", "title", "authors"} <= set(cff) <= CFF_KEYS
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "dataset"
    assert cff["title"] == descriptor["title"]
    assert cff["abstract"] == " ".join(descriptor["description"].split())
    assert cff["version"] == VERSION  # a string, not the float 1.0
    assert cff["date-released"] == RELEASED  # a string, not a YAML date
    assert cff["license"] == "CC-BY-4.0"
    assert cff["url"] == descriptor["homepage"] == "https://tracker.example.org/"
    assert cff["repository"] == descriptor["repository"]
    assert cff["keywords"] == descriptor["keywords"]
    authors = [c for c in descriptor["contributors"] if "author" in c["roles"]]
    assert cff["authors"] == [{"name": c["title"], **({"website": c["path"]} if "path" in c
                                                      else {})} for c in authors]


def test_citation_authors_come_from_the_contributors(shipped_dist):
    descriptor, _ = load(shipped_dist)
    descriptor["contributors"] = [
        {"title": "Redaktion A", "roles": ["publisher"]},
        {"title": "Autorin B", "path": "https://b.example.org", "roles": ["author"]}]
    cff = yaml.safe_load(citation_cff(descriptor, version="2", released=RELEASED))
    assert cff["authors"] == [{"name": "Autorin B", "website": "https://b.example.org"}]
    descriptor["contributors"][1]["roles"] = ["contributor"]
    cff = yaml.safe_load(citation_cff(descriptor, version="2", released=RELEASED))
    assert [a["name"] for a in cff["authors"]] == ["Redaktion A", "Autorin B"]


@pytest.mark.parametrize("contributors", [None, [], [{"roles": ["author"]}]])
def test_no_contributors_is_an_error(small, contributors):
    descriptor, tables = load(small)
    descriptor = copy.deepcopy(descriptor)
    if contributors is None:
        del descriptor["contributors"]
    else:
        descriptor["contributors"] = contributors
    with pytest.raises(ValueError, match="no contributors"):
        citation_cff(descriptor, version=VERSION, released=RELEASED)
    with pytest.raises(ValueError, match="no contributors"):
        data_readme(descriptor, tables, version=VERSION, released=RELEASED, files=[])


# -- LICENSE.md --------------------------------------------------------------------------------

def test_license_text_names_the_licence_and_every_source(shipped_dist):
    descriptor, tables = load(shipped_dist)
    text = license_text(descriptor, tables["documents"].to_pylist())
    licence = descriptor["licenses"][0]
    assert licence["path"] in text and licence["title"] in text and licence["name"] in text
    assert "Attribution" in text and descriptor["title"] in text
    assert len(descriptor["sources"]) >= 2
    for source in descriptor["sources"]:
        assert (f"[{source['title']}]({source['path']})" if "path" in source
                else f"- {source['title']}") in text
    for contributor in descriptor["contributors"]:
        assert contributor["title"] in text
    credit = next(line for line in text.splitlines() if line.startswith("> “"))
    assert credit.startswith(f"> “{descriptor['title']}”, by ")  # no version: none invented
    assert "{" not in text
    versioned = license_text({**descriptor, "version": "3.1"}, [])
    assert f"> “{descriptor['title']}”, version 3.1, by " in versioned


def test_license_text_for_other_licences_does_not_summarise(shipped_dist):
    descriptor, _ = load(shipped_dist)
    other = {**descriptor, "licenses": [{"name": "ODbL-1.0",
                                         "path": "https://opendatacommons.org/licenses/odbl/"}]}
    text = license_text(other, [])
    assert "https://opendatacommons.org/licenses/odbl/" in text and "`ODbL-1.0`" in text
    assert "**Attribution**" not in text
    sharealike = license_text({**descriptor, "licenses": [{"name": "CC-BY-SA-4.0"}]}, [])
    assert "**Share alike**" in sharealike and "**Attribution**" in sharealike
