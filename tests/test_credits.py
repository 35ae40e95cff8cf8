"""Whose package it is: metadata from package.yaml, credits in CITATION.cff, licences and
sources per document, editors' names as .mailmap spells them."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from conftest import (
    CHAPTER,
    DOCUMENT_YAML,
    PACKAGE_YAML,
    SHIPPED_CONTENT,
    chapter,
    make_document,
    make_repo,
)
from pledgepack.release.credits import citation_cff, license_text

SHIPPED_META = yaml.safe_load((SHIPPED_CONTENT / "package.yaml").read_text(encoding="utf-8"))


def shipped_credits() -> set[str]:
    """Every name and address the shipped content credits or cites."""
    found = {"okfde", "milafrerichs", "fragdenstaat", "Open Knowledge"}
    for key in ("contributors", "sources"):
        for entry in SHIPPED_META[key]:
            found |= {entry[k] for k in ("title", "path") if k in entry}
    for meta in SHIPPED_CONTENT.glob("*/document.yaml"):
        doc = yaml.safe_load(meta.read_text(encoding="utf-8"))
        found |= {doc[k] for k in ("source_url", "source_note", "license_note") if k in doc
                  and doc[k] != "The text states no licence."}
    return found


def output_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_bare_chapters_folder_credits_nobody_else(tmp_path, run):
    chapters = tmp_path / "tracker" / "_chapters"
    chapters.mkdir(parents=True)
    (chapters / "1-1-verwaltung.md").write_text(CHAPTER, encoding="utf-8")
    out = tmp_path / "dist"
    result = run("build", "--content", chapters, "--out", out, "--no-git-history")
    assert result.exit_code == 0, result.output
    assert (f"{chapters}: warning: no package.yaml: the package is built with neutral metadata, "
            "without title, contributors, licenses, sources, homepage") in result.stderr
    files = output_bytes(out)
    assert {"datapackage.json", "data/documents.csv", "data/documents.parquet",
            "views.sql"} <= set(files)
    for needle in sorted(shipped_credits()):
        for name, data in files.items():
            assert needle.encode("utf-8") not in data, f"{name} names {needle!r}"
    descriptor = json.loads(files["datapackage.json"])
    assert descriptor["contributors"] == [] and descriptor["licenses"] == []
    assert "homepage" not in descriptor and "repository" not in descriptor
    [doc] = pq.read_table(out / "data" / "documents.parquet").to_pylist()
    assert (doc["license"], doc["license_note"], doc["source_url"], doc["source_note"]) == (
        "not stated", "not stated", None, "not stated")


def test_package_yaml_is_the_package_metadata(content, tmp_path, run):
    out = tmp_path / "dist"
    result = run("build", "--content", content, "--out", out, "--no-git-history")
    assert result.exit_code == 0 and "warning" not in result.stderr, result.output
    descriptor = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    meta = yaml.safe_load(PACKAGE_YAML)
    for key in ("name", "title", "homepage", "repository", "contributors", "licenses"):
        assert descriptor[key] == meta[key]
    assert descriptor["sources"][0] == meta["sources"][0]
    # The document's own source follows, with the licence of its text.
    assert descriptor["sources"][1] == {
        "title": "Koalitionsvertrag Testland 2024 (document testland-2024; text reproduced under "
                 "licence: CC-BY-2.0)", "path": "https://example.gov/koalitionsvertrag.pdf"}


def test_a_package_yaml_that_leaves_things_out_is_named(content, tmp_path, run):
    (content / "package.yaml").write_text("title: Nur ein Titel\nsponsor: X\n", encoding="utf-8")
    result = run("build", "--content", content, "--out", tmp_path / "dist", "--no-git-history")
    assert result.exit_code == 0
    place = f"{content}/package.yaml"
    assert (f"{place}: warning: package.yaml does not say: contributors, licenses, sources, "
            "homepage") in result.stderr
    assert f"{place}:2: warning: unknown field 'sponsor' is ignored" in result.stderr


@pytest.mark.parametrize("text, line, message", [
    ("title: T\nhomepage: tracker.example.org\n", 2,
     "homepage 'tracker.example.org' is not a URL"),
    ("title: T\ncontributors:\n  - roles: [author]\n", 2, "entry 1 of 'contributors' has no title"),
    ("licenses: CC-BY-4.0\n", 1, "'licenses' must be a list"),
    ("title: [T\n", 1, None),
])
def test_a_bad_package_yaml_fails_with_its_place(content, tmp_path, run, text, line, message):
    out = tmp_path / "dist"
    assert run("build", "--content", content, "--out", out, "--no-git-history").exit_code == 0
    before = output_bytes(out)
    (content / "package.yaml").write_text(text, encoding="utf-8")
    result = run("build", "--content", content, "--out", out, "--no-git-history")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{content}/package.yaml:{line}: error: {message or ''}" in result.stderr
    assert "hint:" in result.stderr
    assert output_bytes(out) == before


def test_documents_without_licence_or_source_are_warned_and_say_not_stated(tmp_path, run):
    content = tmp_path / "content"
    bare = "title: Ein Papier\nkind: position_paper\n"
    make_document(content, name="papier", document_yaml=bare)
    make_document(content, name="vertrag")
    out = tmp_path / "dist"
    result = run("build", "--content", content, "--out", out, "--no-git-history")
    assert result.exit_code == 0
    place = f"{content}/papier/document.yaml"
    assert [line for line in result.stderr.splitlines() if "warning" in line] == [
        f"{place}: warning: the document does not say where it comes from: the package says "
        "'not stated' for its source",
        f"{place}: warning: the document states no licence: the package says 'not stated' for it"]
    rows = {r["document_id"]: r for r in pq.read_table(out / "data/documents.parquet").to_pylist()}
    assert rows["papier"]["license"] == "not stated" and rows["papier"]["source_url"] is None
    assert rows["vertrag"]["license"] == "CC-BY-2.0"
    assert (out / "data" / "documents.csv").read_text(encoding="utf-8").splitlines()[0] == (
        '"document_id","title","kind","jurisdiction","parties","date","source_url",'
        '"source_note","license","license_note"')
    descriptor = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    assert {"title": "Ein Papier (document papier; text reproduced under licence: not stated)"} \
        in descriptor["sources"]


# -- the shipped content's licences and credits ----------------------------------------------

@pytest.fixture(scope="module")
def shipped_dist(tmp_path_factory) -> Path:
    from pledgepack.build import build

    root = tmp_path_factory.mktemp("shipped")
    shutil.copytree(SHIPPED_CONTENT, root / "content")
    build(root / "content", root / "dist", git_history=False)
    return root / "dist"


def test_license_md_puts_each_text_under_its_own_licence(shipped_dist):
    descriptor = json.loads((shipped_dist / "datapackage.json").read_text(encoding="utf-8"))
    documents = pq.read_table(shipped_dist / "data" / "documents.parquet").to_pylist()
    text = license_text(descriptor, documents)
    rows = {line.split(" | ")[0].strip("| `"): line.split(" | ")
            for line in text.splitlines() if line.startswith("| `")}
    assert set(rows) == {d["document_id"] for d in documents} and len(rows) == 5
    for doc_id in ("bitkom-2020", "behoerden-digitalisieren", "ae34-verwaltung-digitalisieren"):
        assert rows[doc_id][2] == "not stated" and rows[doc_id][3] == "The text states no licence."
    assert rows["bund-2021"][2] == rows["berlin-2021"][2] == "CC-BY-2.0"
    assert "https://github.com/milafrerichs/koalitionstracker" in rows["berlin-2021"][4]
    assert "https://github.com/okfde/koalitionstracker" in rows["bund-2021"][4]
    assert rows["behoerden-digitalisieren"][4].strip(" |") == "not stated"
    assert "no licence is granted for its text by this package" in " ".join(text.split())
    # The old wording put every text under the tracker's licence.
    assert "The data in this package is licensed under" not in text
    for contributor in SHIPPED_META["contributors"]:
        assert contributor["title"] in text


# -- CITATION.cff as reference managers read it ------------------------------------------------

def cffconvert() -> Path:
    tool = os.environ.get("PLEDGEPACK_CFFCONVERT") or shutil.which("cffconvert")
    assert tool, ("set PLEDGEPACK_CFFCONVERT to cffconvert 2.0 in a venv with pybtex (it pins a "
                  "jsonschema frictionless cannot use); 'make test' does this")
    return Path(tool)


PARSE_BIBTEX = """\
import json, sys
from pybtex.database import parse_string
entry = next(iter(parse_string(sys.stdin.read(), "bibtex").entries.values()))
print(json.dumps([[" ".join(p.first_names + p.middle_names),
                   " ".join(p.prelast_names + p.last_names)] for p in entry.persons["author"]]))
"""


def test_cffconvert_names_every_author_correctly(shipped_dist, tmp_path):
    descriptor = json.loads((shipped_dist / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["homepage"] = "https://tracker.example.org/"
    descriptor["repository"] = "https://git.example.org/tracker"
    descriptor["contributors"] = descriptor["contributors"] + [
        {"title": "Erika Mustermann", "givenName": "Erika", "familyName": "Mustermann",
         "email": "erika@example.org", "roles": ["author", "contact"]}]
    path = tmp_path / "CITATION.cff"
    path.write_text(citation_cff(descriptor, version="1.0.0", released="2024-05-01"),
                    encoding="utf-8")
    tool = cffconvert()
    check = subprocess.run([tool, "-i", path, "--validate"], capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    cff = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert cff["url"] == "https://tracker.example.org/"
    assert cff["repository"] == "https://git.example.org/tracker"
    assert cff["contact"] == [{"given-names": "Erika", "family-names": "Mustermann",
                               "email": "erika@example.org"}]
    organisations = [c["title"] for c in SHIPPED_META["contributors"]]
    assert [a.get("name") for a in cff["authors"]] == organisations + [None]

    bibtex = subprocess.run([tool, "-i", path, "-f", "bibtex"], capture_output=True, text=True,
                            check=True).stdout
    parsed = subprocess.run([tool.parent / "python", "-c", PARSE_BIBTEX], input=bibtex,
                            capture_output=True, text=True, check=True).stdout
    assert "author = {" + " and ".join(organisations) + " and Mustermann, Erika}" in bibtex
    # BibTeX reads 'A, B' as family name A, given name B, and ' and ' as the gap between two
    # authors: each organisation must come back as one author, its words in their order, and
    # the person with given and family name apart.
    people = json.loads(parsed)
    assert [" ".join(filter(None, p)) for p in people[:-1]] == organisations
    assert people[-1] == ["Erika", "Mustermann"]
    apa = subprocess.run([tool, "-i", path, "-f", "apalike"], capture_output=True, text=True,
                         check=True).stdout
    assert apa.startswith(", ".join(organisations) + ", Mustermann E. (2024). ")


def test_an_organisation_name_that_citation_tools_would_split_is_warned(content, tmp_path, run):
    (content / "package.yaml").write_text(PACKAGE_YAML.replace(
        "Testland Tracker e.V.", "Tracker e.V., Redaktion Testland"), encoding="utf-8")
    result = run("build", "--content", content, "--out", tmp_path / "dist", "--no-git-history")
    assert result.exit_code == 0
    assert (f"{content}/package.yaml:5: warning: contributor 'Tracker e.V., Redaktion Testland': "
            "citation tools read a comma as 'family name, given name'") in result.stderr


# -- editors' names, as the repository's .mailmap spells them ------------------------------------

def test_status_history_authors_follow_the_mailmap(tmp_path, run):
    repo = make_repo(tmp_path)
    doc = "content/testland-2024"
    base = {"content/package.yaml": PACKAGE_YAML, f"{doc}/document.yaml": DOCUMENT_YAML}

    def version(status: str) -> str:
        return chapter(f"- id: portal\n  status: {status}\n  summary: Portal\n"
                       "  last_update: 2024-02-01\n", body="[Portal](#portal)\n")

    repo.commit({**base, f"{doc}/1-1.md": version("not_implemented")}, when="2024-01-01T10:00:00Z",
                author="a.beispiel")
    repo.commit({f"{doc}/1-1.md": version("implemented")}, when="2024-02-01T10:00:00Z",
                author="Alex Beispiel")
    out = tmp_path / "dist"
    content = repo.path / "content"

    def authors() -> list[str]:
        assert run("build", "--content", content, "--out", out).exit_code == 0
        rows = pq.read_table(out / "data" / "status_history.parquet").to_pylist()
        return [r["author"] for r in rows]

    assert authors() == ["a.beispiel", "Alex Beispiel"]
    # One editor, two spellings: .mailmap names the person once; a later build sees the change
    # although the walk of the unchanged history comes from the cache.
    repo.commit({".mailmap": "Alex Beispiel <author@example.org>\n"}, when="2024-03-01T10:00:00Z")
    assert authors() == ["Alex Beispiel", "Alex Beispiel"]


def test_the_data_readme_says_whose_texts_and_names_it_publishes(shipped_dist):
    from pledgepack.release.datareadme import data_readme

    descriptor = json.loads((shipped_dist / "datapackage.json").read_text(encoding="utf-8"))
    tables = {name: pq.read_table(shipped_dist / "data" / f"{name}.parquet")
              for name in ("documents", "statements", "statuses", "status_history")}
    text = data_readme(descriptor, tables, version="1.0.0", released="2024-05-01", files=[])
    licence = text[text.index("## Licence and citation"):text.index("Please cite")]
    rows = [line for line in licence.splitlines() if line.startswith("| `")]
    assert len(rows) == 5
    assert sum(" | not stated | The text states no licence. | " in row for row in rows) == 3
    assert "- Licence: [Creative Commons Attribution 2.0 Generic]" in text
    assert "editors' names are part of the data" in " ".join(licence.split())
    assert "`.mailmap`" in licence


def test_descriptor_metadata_is_a_default_that_package_yaml_overrides(content, tmp_path, run):
    from pledgepack.schema import default_descriptor_path

    schemas = json.loads(default_descriptor_path().read_text(encoding="utf-8"))
    schemas["contributors"] = [{"title": "Schema-Redaktion", "roles": ["author"]}]
    schemas["title"] = "Aus dem Deskriptor"
    given = tmp_path / "schemas.json"
    given.write_text(json.dumps(schemas), encoding="utf-8")

    def built(folder: Path) -> dict:
        out = tmp_path / "dist"
        result = run("build", "--content", folder, "--out", out, "--descriptor", given,
                     "--no-git-history")
        assert result.exit_code == 0, result.output
        return json.loads((out / "datapackage.json").read_text(encoding="utf-8"))

    own = built(content)
    assert own["title"] == "Testland pledge tracker"
    assert own["contributors"] == yaml.safe_load(PACKAGE_YAML)["contributors"]
    (content / "package.yaml").unlink()
    fallback = built(content)
    assert fallback["title"] == "Aus dem Deskriptor"
    assert fallback["contributors"] == schemas["contributors"]


def test_a_tracker_without_credits_is_not_released_under_invented_ones(tmp_path, run,
                                                                      monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    repo = make_repo(tmp_path)
    repo.commit({"_chapters/1-1-verwaltung.md": CHAPTER}, "chapters")
    out = tmp_path / "release"
    result = run("release", "--version", "1.0.0", "--content", repo.path / "_chapters",
                 "--out", out)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "the package names no contributors: a citation needs at least one author; write it " \
        "in package.yaml in the content folder" in result.stderr
    assert not out.exists()


def test_license_md_without_a_tracker_licence_grants_nothing(shipped_dist):
    descriptor = json.loads((shipped_dist / "datapackage.json").read_text(encoding="utf-8"))
    documents = pq.read_table(shipped_dist / "data" / "documents.parquet").to_pylist()
    text = license_text({**descriptor, "licenses": []}, documents)
    assert "The tracker states no licence for its data." in text
    assert "the tracker's licence: not stated" in " ".join(text.split())
    assert "Attribution" not in text and "CC-BY-2.0" in text  # the two texts that grant it
