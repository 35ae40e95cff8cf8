"""Shared builders for the tests: small content folders made in tmp_path, and a CLI runner."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pledgepack.cli import cli
from pledgepack.exports.files import export_names

REPO = Path(__file__).resolve().parents[1]
GIT_DATE = "2024-01-01T10:00:00+00:00"
GIT_AUTHOR = "Alex Beispiel"
SHIPPED_CONTENT = REPO / "content"

DOCUMENT_YAML = """\
title: "Koalitionsvertrag Testland 2024"
kind: coalition_agreement
jurisdiction: DE-TL
parties:
  - Partei A
  - Partei B
date: 2024-01-15
source_url: https://example.gov/koalitionsvertrag.pdf
license: CC-BY-2.0
"""

# The package's own metadata, as a tracker writes it once at the top of its content folder.
PACKAGE_YAML = """\
name: testland-pledges
title: "Testland pledge tracker"
homepage: https://tracker.example.org/
repository: https://git.example.org/testland/tracker
contributors:
  - title: Testland Tracker e.V.
    path: https://tracker.example.org/
    roles: [author, publisher]
licenses:
  - name: CC-BY-4.0
    path: https://creativecommons.org/licenses/by/4.0/
    title: Creative Commons Attribution 4.0 International
sources:
  - title: Testland pledge tracker
    path: https://git.example.org/testland/tracker
"""

CHAPTER = """\
---
title: "1.1 Digitale Verwaltung"
section: "I"
order: 1
statements:
  - id: portal
    last_update: '2024-02-01'
    status: partially_implemented
    summary: Ein Portal für alle Leistungen
    categories:
      - Verwaltung
      - Digitales
    reports:
      - title: "Portal gestartet"
        url: "https://example.gov/portal"
  - id: akte
    last_update: 2024-03-01
    status: implemented
    summary: Elektronische Akte
    deadline: 2025-12-31
    responsible: Innenministerium
    measure: law
published: true
---
Wir bauen [ein Portal für alle
Leistungen](#portal) und führen die [elektronische Akte](#akte) ein.
"""


def chapter(statements: str = "", body: str = "", title: str = "1.1 Kapitel",
            extra: str = "") -> str:
    """A chapter file: front matter with the given statements block (YAML list items,
    dedented) and body."""
    block = textwrap.indent(textwrap.dedent(statements).strip("\n"), "  ") if statements else ""
    head = f'---\ntitle: "{title}"\n{extra}'
    head += f"statements:\n{block}\n" if block else "statements: []\n"
    return head + "---\n" + textwrap.dedent(body)


def make_document(root: Path, name: str = "testland-2024", chapters: dict[str, str] | None = None,
                  document_yaml: str | None = DOCUMENT_YAML,
                  package_yaml: str | None = PACKAGE_YAML) -> Path:
    """content/<name>/ with document.yaml and chapter files, and content/package.yaml unless
    there is one or `package_yaml` is None; returns the content root."""
    folder = root / name
    if package_yaml is not None and not (root / "package.yaml").exists():
        root.mkdir(parents=True, exist_ok=True)
        (root / "package.yaml").write_text(package_yaml, encoding="utf-8")
    folder.mkdir(parents=True, exist_ok=True)
    if document_yaml is not None:
        (folder / "document.yaml").write_text(document_yaml, encoding="utf-8")
    for filename, text in (chapters if chapters is not None else {"1-1-verwaltung.md": CHAPTER}).items():
        (folder / filename).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(autouse=True, scope="session")
def _own_cache_folder(tmp_path_factory):
    """Builds of content outside a repository cache parsed chapters in the user's cache
    folder: the tests keep theirs in a folder of their own."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A small valid content folder with one document and one chapter."""
    return make_document(tmp_path / "content")


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    """A copy of the repository's content folder."""
    target = tmp_path / "content"
    shutil.copytree(SHIPPED_CONTENT, target)
    return target


@pytest.fixture
def run():
    """Run the CLI in-process; returns the click Result (exit_code, stdout, stderr)."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


class Repo:
    """A git repository in a folder, committed to with fixed names and dates."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, when: str = GIT_DATE, author: str = GIT_AUTHOR,
            authored: str | None = None) -> str:
        env = {**os.environ, "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": "author@example.org",
               "GIT_AUTHOR_DATE": authored or when, "GIT_COMMITTER_DATE": when,
               "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
        proc = subprocess.run(["git", "-c", "user.name=Redaktion", "-c", "user.email=r@example.org",
                               "-c", "commit.gpgsign=false", "-C", str(self.path), *args],
                              env=env, capture_output=True, text=True, check=True)
        return proc.stdout.strip()

    def commit(self, files: dict[str, str | None], message: str = "edit", when: str = GIT_DATE,
               author: str = GIT_AUTHOR, authored: str | None = None) -> str:
        """Write (text) or delete (None) files, commit them all; the new commit's sha."""
        for name, text in files.items():
            path = self.path / name
            if text is None:
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message, when=when, author=author,
                 authored=authored)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


def make_repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


def _csv_text(value, kind: str) -> str:
    """How the package's CSV spells a value read from its Parquet."""
    if value is None:
        return ""
    if kind == "list":
        return ";".join(value)
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "datetime":
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "number":
        return format(value, "g")
    return value.isoformat() if kind == "date" else str(value)


def assert_csv_matches_parquet(csv_path: Path, parquet_path: Path, fields: list[dict]) -> None:
    """The CSV, read with the csv module, holds the Parquet's rows cell for cell."""
    import pyarrow.parquet as pq

    rows = pq.read_table(parquet_path).to_pylist()
    with open(csv_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == [f["name"] for f in fields], csv_path
        csv_rows = list(reader)
    assert len(csv_rows) == len(rows), csv_path
    for number, (row, csv_row) in enumerate(zip(rows, csv_rows), 1):
        for f in fields:
            cell = csv_row[f["name"]]
            if f["type"] == "number" and cell:
                cell = format(float(cell), "g")
            assert cell == _csv_text(row[f["name"]], f["type"]), (csv_path.name, number, f["name"])


# A document with every optional field left out, and chapters whose values are what trips
# clients up: nulls in every nullable column, an empty list, umlauts, multi-line text, text that
# a spreadsheet would take for a formula.
EDGE_DOCUMENT_YAML = 'title: "Größere Änderungen: =SUMME(A1:A9)"\n'

EDGE_CHAPTER = """\
---
title: "=HYPERLINK(\\"http://example.org\\") Übergänge"
statements:
  - id: straße
    summary: "=1+1 Straßen für Fußgänger"
    status: broken
    last_update:
    categories: []
  - id: mehrzeilig
    summary: |-
      Erste Zeile mit „Anführungszeichen“
      zweite Zeile; mit Semikolon
    status: implemented
    last_update: 2024-05-02
    deadline: 2025-01-31
    categories: [Öffentlicher Dienst, "=A1"]
    responsible: "Ministerium für Übergänge"
    measure: law
    reports:
      - title:
        url: https://example.org/ä
    history:
      - date: 2024-01-02
        status: partially_implemented
        note: "=HEUTE()\\nzweite Zeile"
  - id: ohneanker
    summary: Nur im Kopf
    status: not_implemented
---
Die [Straßen werden =gebaut](#straße) und
[mehrzeilig
verankert](#mehrzeilig).
"""


def make_edge_content(root: Path) -> Path:
    return make_document(root, name="edge-2024", document_yaml=EDGE_DOCUMENT_YAML,
                         chapters={"ohne-nummer.md": EDGE_CHAPTER})


def to_earlier_shape(folder: Path) -> Path:
    """Rewrite a built package's descriptor into the shape packages had before the `parquet`
    property: each Parquet file a resource `<table>-parquet` of its own, after its table,
    whose foreign keys reference the other Parquet resources."""
    path = folder / "datapackage.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    resources = []
    for resource in descriptor["resources"]:
        parquet = resource.pop("parquet")
        schema = parquet["schema"]
        for key in schema.get("foreignKeys", []):
            key["reference"]["resource"] += "-parquet"
        resources += [resource, {
            "name": resource["name"] + "-parquet", "title": f"{resource['title']} (Parquet)",
            "description": f"The rows of the resource '{resource['name']}' as Apache Parquet.",
            "type": "file", "format": "parquet", "mediatype": parquet["mediatype"],
            "path": parquet["path"], "bytes": parquet["bytes"], "hash": parquet["hash"],
            "schema": schema}]
    descriptor["resources"] = resources
    path.write_text(json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def client_packages(tmp_path_factory) -> dict[str, Path]:
    """Two built packages for the client tests: the shipped content, and the edge values."""
    from pledgepack.build import build

    root = tmp_path_factory.mktemp("clients")
    shutil.copytree(SHIPPED_CONTENT, root / "shipped-content")
    make_edge_content(root / "edge-content")
    built = {}
    for name in ("shipped", "edge"):
        build(root / f"{name}-content", root / name)
        built[name] = root / name
    return built


@pytest.fixture(scope="session")
def shipped_release(tmp_path_factory) -> Path:
    """Release 1.0.0 of the shipped content, with its git history: built from a clone of this
    repository, as the release job does."""
    from pledgepack.release.cut import release

    root = tmp_path_factory.mktemp("shipped-release")
    subprocess.run(["git", "clone", "--quiet", "--no-local", str(REPO), str(root / "repo")],
                   check=True, capture_output=True)
    return release(root / "repo" / "content", root / "dist", version="1.0.0").out


def debian_install(packages: list[str]) -> str | None:
    """Install Debian packages (as root, waiting for another apt to let go of the lock);
    None when done, else why not."""
    if not shutil.which("apt-get") or os.geteuid() != 0:
        return "apt-get is not available as root here"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update"], ["apt-get", "install", "-y", *packages]):
        for _ in range(30):
            result = subprocess.run(step, capture_output=True, text=True, env=env)
            if result.returncode == 0 or "lock" not in result.stderr.lower():
                break
            time.sleep(10)
        if result.returncode != 0:
            return f"{' '.join(step)} failed: {result.stderr.strip()[-200:]}"
    return None


def debian_tool(command: str, packages: list[str]) -> str:
    """The path of `command`, installing the Debian packages that provide it when it is
    missing; skips the test, saying what to install, only where that cannot be done."""
    hint = f"{command} is missing: install it with 'apt-get install -y {' '.join(packages)}'"
    if not shutil.which(command):
        failed = debian_install(packages)
        if failed:
            pytest.skip(f"{hint} ({failed})")
    found = shutil.which(command)
    if not found:
        pytest.skip(hint)
    return found


def export_file(folder: Path, kind: str) -> Path:
    """The export of `kind` (sqlite, datasette, xlsx) beside a package: named after it."""
    name = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))["name"]
    return folder / export_names(name)[kind]


@pytest.fixture(scope="session")
def site_package(tmp_path_factory) -> Path:
    """A built package (with git history of status changes) shared by the site's tests."""
    from pledgepack.build import build
    from sitebuild import make_site_repo

    root = tmp_path_factory.mktemp("site-package")
    repo = make_site_repo(root / "repo")
    build(repo.path, root / "dist")
    return root / "dist"


@pytest.fixture(scope="session")
def built_site(site_package, tmp_path_factory) -> Path:
    """The site of `site_package`, written once per session."""
    from pledgepack.site.build import build_site

    out = tmp_path_factory.mktemp("site") / "site"
    build_site(site_package, out, base_url="https://pledges.example.org/tracker/",
               repository="https://github.com/example/tracker")
    return out
