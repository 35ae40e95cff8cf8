"""Releases: reproducible zips, what a consumer checks after downloading one, the changelog
between releases, and the versions a release refuses."""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import duckdb
import pytest
import yaml

from conftest import (
    CHAPTER,
    DOCUMENT_YAML,
    PACKAGE_YAML,
    REPO,
    Repo,
    assert_csv_matches_parquet,
    chapter,
    make_repo,
    to_earlier_shape,
)
from pledgepack.release.cut import data_hashes, release

BIN = Path(sys.executable).parent
DOC = "content/testland-2024"
FIRST = "2024-01-01T10:00:00+00:00"


@pytest.fixture(autouse=True)
def no_source_date_epoch(monkeypatch):
    """Releases here take their time from the release commit, unless a test says otherwise."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def tracker(tmp_path: Path) -> Repo:
    """A tracker repository with one document and one chapter (portal, akte), one commit."""
    repo = make_repo(tmp_path)
    repo.commit({"content/package.yaml": PACKAGE_YAML, f"{DOC}/document.yaml": DOCUMENT_YAML,
                 f"{DOC}/1-1-verwaltung.md": CHAPTER},
                "first chapter", when=FIRST)
    return repo


def statement(id_: str, status: str, summary: str, last_update: str = "2024-02-01") -> str:
    return f"- id: {id_}\n  summary: {summary}\n  status: {status}\n  last_update: {last_update}\n"


def verwaltung(*entries: tuple[str, str, str]) -> str:
    """The chapter with the given (id, status, summary) statements, each anchored."""
    return chapter("".join(statement(*e) for e in entries), title="1.1 Digitale Verwaltung",
                   body=" ".join(f"[{summary}](#{id_})" for id_, _, summary in entries) + "\n")


def cli(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """pledgepack in a new process, as a user or a CI job runs it."""
    return subprocess.run([sys.executable, "-m", "pledgepack", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=env)


def sha256sum_check(folder: Path) -> subprocess.CompletedProcess:
    tool = shutil.which("sha256sum")
    command = [tool, "-c", "SHA256SUMS"] if tool else [shutil.which("shasum"), "-a", "256", "-c",
                                                        "SHA256SUMS"]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True)


# --- reproducible --------------------------------------------------------------------------

def test_two_releases_of_one_commit_give_byte_identical_zips(tmp_path):
    repo = tracker(tmp_path)
    zips = []
    for n, tz in enumerate(["UTC", "America/Los_Angeles"]):
        clone = tmp_path / f"clone-{n}"
        subprocess.run(["git", "clone", "-q", str(repo.path), str(clone)], check=True)
        # Other file times, another time zone and a later clock must change nothing.
        stamp = time.time() - 86400 * (n + 1) * 40
        for path in (clone / DOC).iterdir():
            os.utime(path, (stamp, stamp))
        env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
        result = cli("release", "--version", "1.0.0", cwd=clone, env={**env, "TZ": tz})
        assert result.returncode == 0, result.stderr
        zips.append(clone / "dist" / "testland-pledges-1.0.0.zip")
        time.sleep(2.1 * (1 - n))  # zip times have a 2-second resolution
    assert zips[0].read_bytes() == zips[1].read_bytes()
    sums = [(z.parent / "SHA256SUMS").read_text() for z in zips]
    assert sums[0] == sums[1]
    with zipfile.ZipFile(zips[0]) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names) and "datapackage.json" in names
    # Every entry carries the release commit's time and rw-r--r--.
    assert {i.date_time for i in infos} == {(2024, 1, 1, 10, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_source_date_epoch_sets_the_release_time(tmp_path, monkeypatch):
    repo = tracker(tmp_path)
    epoch = int(dt.datetime(2025, 6, 30, 12, 0, 2, tzinfo=dt.timezone.utc).timestamp())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    result = release(repo.path / "content", tmp_path / "dist", version="2.0.0")
    with zipfile.ZipFile(result.zip) as archive:
        assert {i.date_time for i in archive.infolist()} == {(2025, 6, 30, 12, 0, 2)}
        cff = yaml.safe_load(archive.read("CITATION.cff"))
    assert cff["date-released"] == "2025-06-30" and cff["version"] == "2.0.0"


def released_on(result) -> set:
    with zipfile.ZipFile(result.zip) as archive:
        cff = yaml.safe_load(archive.read("CITATION.cff"))
        readme = archive.read("README.md").decode("utf-8")
        stamps = {i.date_time[:3] for i in archive.infolist()}
    [line] = [line for line in readme.splitlines() if line.startswith("- Released: ")]
    return {cff["date-released"], line.removeprefix("- Released: "),
            "-".join(f"{n:02d}" for n in stamps.pop())} if len(stamps) == 1 else stamps


def test_released_is_the_date_of_the_release_tag(tmp_path):
    repo = tracker(tmp_path)  # committed on 2024-01-01
    content = repo.path / "content"
    assert released_on(release(content, tmp_path / "untagged", version="1.0.0")) == {
        "2024-01-01"}
    # An annotated tag made later carries its own date: the day the editors released it.
    repo.git("tag", "-a", "v1.0.0", "-m", "Release 1.0.0", when="2024-03-15T09:30:00+00:00")
    first = release(content, tmp_path / "annotated", version="1.0.0")
    assert released_on(first) == {"2024-03-15"}
    again = release(content, tmp_path / "again", version="1.0.0")
    assert again.zip.read_bytes() == first.zip.read_bytes()
    # A lightweight tag has no date of its own: the tagged commit's date is the release date.
    repo.commit({f"{DOC}/1-1-verwaltung.md": verwaltung(("portal", "implemented", "Portal"))},
                when="2024-05-02T08:00:00+00:00")
    repo.git("tag", "v1.1.0", when="2024-06-30T08:00:00+00:00")
    assert released_on(release(content, tmp_path / "light", version="1.1.0")) == {"2024-05-02"}


# --- what a consumer does with a download --------------------------------------------------

def test_a_consumer_verifies_and_uses_a_downloaded_release(tmp_path, run, monkeypatch):
    repo = tracker(tmp_path)
    out = tmp_path / "dist"
    result = run("release", "--version", "1.0.0", "--content", repo.path / "content",
                 "--out", out, "--base-url", "https://data.example.org/pledges/1.0.0/")
    assert result.exit_code == 0, result.output
    assert "released" in result.stdout and "first release" in result.stdout

    download = tmp_path / "download"
    download.mkdir()
    shutil.copy(out / "testland-pledges-1.0.0.zip", download)
    shutil.copy(out / "SHA256SUMS", download)
    with zipfile.ZipFile(download / "testland-pledges-1.0.0.zip") as archive:
        archive.extractall(download)
        inside = sorted(archive.namelist())
    assert set(inside) >= {"datapackage.json", "views.sql", "pledges.duckdb", "README.md",
                           "CHANGELOG.md", "CITATION.cff", "LICENSE.md", "status-over-time.svg",
                           "views-remote.sql"}
    assert {f"data/{t}.{ext}" for t in ("documents", "sections", "statements", "reports",
                                       "status_history", "statuses")
            for ext in ("csv", "parquet")} <= set(inside)

    checked = sha256sum_check(download)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": OK") == len(inside) + 1  # every file, and the zip

    validated = subprocess.run([str(BIN / "frictionless"), "validate", "--json",
                                "datapackage.json"], cwd=download, capture_output=True, text=True)
    assert validated.returncode == 0 and json.loads(validated.stdout)["valid"] is True

    descriptor = json.loads((download / "datapackage.json").read_text(encoding="utf-8"))
    assert descriptor["version"] == "1.0.0"

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    con = duckdb.connect(str(download / "pledges.duckdb"), read_only=True)
    assert con.execute("select count(*) from statements").fetchone() == (2,)
    assert con.execute("select status::varchar from statements order by id").fetchall() == [
        ("implemented",), ("partially_implemented",)]
    con.close()

    for resource in descriptor["resources"]:
        if resource["format"] == "csv":
            csv_path = download / resource["path"]
            assert_csv_matches_parquet(csv_path, csv_path.with_suffix(".parquet"),
                                       resource["schema"]["fields"])


def test_the_data_readme_lists_every_file_and_every_field(tmp_path):
    repo = tracker(tmp_path)
    result = release(repo.path / "content", tmp_path / "dist", version="1.0.0")
    readme = (result.out / "README.md").read_text(encoding="utf-8")
    for name in result.files:
        assert f"`{name}`" in readme, name
    descriptor = json.loads((result.out / "datapackage.json").read_text(encoding="utf-8"))
    for resource in descriptor["resources"]:
        if resource["format"] == "csv":
            for field in resource["schema"]["fields"]:
                assert f"| `{field['name']}` |" in readme, (resource["name"], field["name"])
    assert "![Statements by status over time](status-over-time.svg)" in readme
    svg = (result.out / "status-over-time.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "Partially implemented" in svg


# --- the changelog between releases --------------------------------------------------------

def two_releases(tmp_path: Path) -> tuple[Repo, Path, dict[str, str]]:
    """v1.0.0 at the first commit, released into dist-1.0.0; then three more commits."""
    repo = tracker(tmp_path)
    repo.git("tag", "v1.0.0")
    first = release(repo.path / "content", tmp_path / "dist-1.0.0", version="1.0.0")
    assert first.previous is None
    commits = {"implemented": repo.commit({f"{DOC}/1-1-verwaltung.md": verwaltung(
        ("portal", "implemented", "Ein Portal für alle Leistungen"),
        ("register", "not_implemented", "Registermodernisierung"))},
        "portal live, register added, akte dropped", when="2024-02-01T09:00:00+00:00")}
    commits["broken"] = repo.commit({f"{DOC}/1-1-verwaltung.md": verwaltung(
        ("portal", "broken", "Ein Portal für alle Leistungen"),
        ("register", "not_implemented", "Registermodernisierung"))},
        "portal switched off", when="2024-03-01T09:00:00+00:00")
    return repo, first.out, commits


def test_the_changelog_since_the_last_tag(tmp_path, run):
    repo, _, commits = two_releases(tmp_path)
    out = tmp_path / "dist"
    result = run("release", "--version", "1.1.0", "--content", repo.path / "content", "--out", out)
    assert result.exit_code == 0, result.output
    assert "since v1.0.0" in result.stdout
    changelog = (out / "CHANGELOG.md").read_text(encoding="utf-8")
    assert changelog.startswith("# Changelog\n\n## 1.1.0 (2024-03-01)\n")
    assert "since 1.0.0" in changelog
    added, removed, portal = (changelog.index("register"), changelog.index("akte"),
                              changelog.index("portal"))
    assert changelog.index("### Koalitionsvertrag Testland 2024") < min(added, removed, portal)
    lines = changelog.splitlines()
    portal_lines = [line for line in lines if "portal" in line and "→" in line
                    and "categories" not in line]
    # The chapter of both commits dropped portal's categories: an edit, listed as such.
    assert "- `portal`: categories Verwaltung; Digitales → none" in lines
    # Both changes, in the order they were made, each with its day and commit.
    assert len(portal_lines) == 2
    assert "Partially implemented → Implemented".lower() in portal_lines[0].lower()
    assert "2024-02-01" in portal_lines[0] and commits["implemented"][:7] in portal_lines[0]
    assert "Implemented → Broken".lower() in portal_lines[1].lower()
    assert "2024-03-01" in portal_lines[1] and commits["broken"][:7] in portal_lines[1]
    summary = "\n".join(lines[:next(n for n, line in enumerate(lines) if line.startswith("### "))])
    for count in ("Statements added: 1", "Statements removed: 1", "Status changes: 2"):
        assert count in summary.replace("**", ""), summary


@pytest.mark.parametrize("given", ["zip", "folder"])
def test_the_previous_release_given_as_zip_or_folder(tmp_path, given):
    repo, first, _ = two_releases(tmp_path)
    repo.git("tag", "-d", "v1.0.0")  # only the download is left
    previous = first / "testland-pledges-1.0.0.zip" if given == "zip" else first
    from_file = release(repo.path / "content", tmp_path / "dist-a", version="1.1.0",
                        previous=str(previous))
    repo.git("tag", "v1.0.0", repo.git("rev-list", "--max-parents=0", "HEAD"))
    from_tag = release(repo.path / "content", tmp_path / "dist-b", version="1.1.0")
    assert from_file.previous.version == from_tag.previous.version == "1.0.0"
    # The same entry on top; only the tagged repository has the entry of 1.0.0 below it.
    assert from_tag.changelog.startswith(from_file.changelog)
    assert "## 1.0.0 (" in from_tag.changelog and "## 1.0.0 (" not in from_file.changelog


@pytest.mark.parametrize("given", ["zip", "folder"])
def test_a_previous_release_in_the_earlier_shape_is_read(tmp_path, given):
    # Releases before the `parquet` property declared each Parquet file as a resource.
    repo, first, _ = two_releases(tmp_path)
    repo.git("tag", "-d", "v1.0.0")
    old = to_earlier_shape(shutil.copytree(first, tmp_path / "old"))
    assert data_hashes(json.loads((old / "datapackage.json").read_text(encoding="utf-8"))) \
        == data_hashes(json.loads((first / "datapackage.json").read_text(encoding="utf-8")))
    previous = old
    if given == "zip":
        previous = tmp_path / "old.zip"
        with zipfile.ZipFile(previous, "w") as archive:
            for path in [old / "datapackage.json", *sorted((old / "data").iterdir())]:
                archive.write(path, path.relative_to(old).as_posix())
    from_new = release(repo.path / "content", tmp_path / "dist-a", version="1.1.0",
                       previous=str(first))
    from_old = release(repo.path / "content", tmp_path / "dist-b", version="1.1.0",
                       previous=str(previous))
    assert from_old.previous.version == "1.0.0"
    assert "since 1.0.0" in from_old.changelog and "register" in from_old.changelog
    assert from_old.changelog == from_new.changelog


def test_a_release_job_on_its_own_tag_compares_with_the_tag_before(tmp_path):
    repo, _, _ = two_releases(tmp_path)
    repo.git("tag", "v1.1.0")
    result = release(repo.path / "content", tmp_path / "dist", version="1.1.0")
    assert result.previous.label == "v1.0.0"


# --- refused -------------------------------------------------------------------------------

def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_same_version_from_other_content_is_refused(tmp_path, run):
    repo, _, _ = two_releases(tmp_path)  # v1.0.0 tags the first commit
    out = tmp_path / "dist"
    assert run("release", "--version", "1.1.0", "--content", repo.path / "content",
               "--out", out).exit_code == 0
    before = files_of(out)
    result = run("release", "--version", "1.0.0", "--content", repo.path / "content",
                 "--out", out)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith("Error: version 1.0.0 was released before (tag v1.0.0) "
                                    "with other data")
    assert "as a new version (such as 1.0.1)" in result.stderr
    assert files_of(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".dist")] == []


def test_a_zip_of_the_same_version_with_other_data_is_refused(tmp_path, run):
    repo = tracker(tmp_path)
    out = tmp_path / "dist"
    assert run("release", "--version", "1.0.0", "--content", repo.path / "content",
               "--out", out).exit_code == 0
    repo.commit({f"{DOC}/1-1-verwaltung.md": verwaltung(
        ("portal", "implemented", "Ein Portal für alle Leistungen"))},
        when="2024-02-01T09:00:00+00:00")
    result = run("release", "--version", "1.0.0", "--content", repo.path / "content",
                 "--out", out)
    assert result.exit_code == 1
    assert f"was released before ({out / 'testland-pledges-1.0.0.zip'})" in result.stderr
    assert "statements" in result.stderr


def test_the_same_version_from_the_same_content_is_made_again(tmp_path):
    repo = tracker(tmp_path)
    repo.git("tag", "v1.0.0")
    first = release(repo.path / "content", tmp_path / "dist", version="1.0.0")
    zipped = first.zip.read_bytes()
    again = release(repo.path / "content", tmp_path / "dist", version="v1.0.0")
    assert again.zip.read_bytes() == zipped


@pytest.mark.parametrize("version", ["1.0", "1.0.0.0", "01.0.0", "latest"])
def test_a_version_that_is_not_x_y_z_is_refused(tmp_path, run, version):
    repo = tracker(tmp_path)
    result = run("release", "--version", version, "--content", repo.path / "content",
                 "--out", tmp_path / "dist")
    assert result.exit_code == 1
    assert result.stderr == (f"Error: version {version!r} is not of the form X.Y.Z "
                             "(such as 1.2.0)\n")
    assert not (tmp_path / "dist").exists()


def test_a_release_outside_git_needs_a_date(tmp_path, run, content, monkeypatch):
    result = run("release", "--version", "1.0.0", "--content", content, "--out",
                 tmp_path / "dist")
    assert result.exit_code == 1
    assert "set SOURCE_DATE_EPOCH" in result.stderr and "Traceback" not in result.output
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert run("release", "--version", "1.0.0", "--content", content, "--out",
               tmp_path / "dist").exit_code == 0


def test_an_unknown_previous_release_is_refused(tmp_path, run):
    repo = tracker(tmp_path)
    result = run("release", "--version", "1.0.0", "--content", repo.path / "content",
                 "--out", tmp_path / "dist", "--previous", "v0.9.0")
    assert result.exit_code == 1
    assert result.stderr == "Error: --previous v0.9.0: no such file, folder or git tag\n"


# --- remote querying -----------------------------------------------------------------------

class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """A static file server that answers byte ranges, as web hosts and GitHub's asset storage
    do: DuckDB's httpfs reads Parquet files piece by piece. It says when each file was last
    modified, as they do, unless last_modified is False."""

    last_modified = True

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        start, end = 0, size - 1
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if wanted:
            start = int(wanted[1])
            end = min(int(wanted[2]), size - 1) if wanted[2] else size - 1
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        if self.last_modified:
            self.send_header("Last-Modified", self.date_time_string(int(path.stat().st_mtime)))
        self.end_headers()
        handle = open(path, "rb")
        handle.seek(start)
        self.remaining = end - start + 1
        return handle

    def copyfile(self, source, target):
        target.write(source.read(self.remaining))

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """Serve a folder over HTTP on a free local port; yields a function folder -> base URL."""
    servers = []

    def start(folder: Path, last_modified: bool = True) -> str:
        kind = type("Handler", (RangeHandler,), {"last_modified": last_modified})
        handler = functools.partial(kind, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


REMOTE_QUERY = """\
import duckdb, pathlib, sys, duckdb_ext
con = duckdb.connect()
# httpfs from its PyPI package rather than DuckDB's extension server.
con.execute("SET extension_directory = ?",
            [str(pathlib.Path(list(duckdb_ext.__path__)[0]) / "extensions")])
con.execute(pathlib.Path(sys.argv[1]).read_text())
print(con.execute("select count(*) from statements").fetchone()[0],
      con.execute("select count(*) from status_history").fetchone()[0],
      con.execute("select string_agg(id || '=' || status, ',' order by id) from statements").fetchone()[0],
      con.execute("select count(*) from statement_details").fetchone()[0])
"""


@pytest.mark.parametrize("flat, last_modified", [(False, True), (True, True), (False, False)],
                         ids=["folders", "flat", "no-last-modified"])
def test_remote_views_query_a_published_release_over_http(tmp_path, run, serve, flat,
                                                          last_modified):
    python = os.environ.get("PLEDGEPACK_DUCKDB14_PYTHON")
    assert python, ("set PLEDGEPACK_DUCKDB14_PYTHON to a Python with duckdb 1.4 and "
                    "duckdb-ext-httpfs installed; 'make test' does this")
    repo = tracker(tmp_path)
    published = release(repo.path / "content", tmp_path / "dist", version="1.0.0").out
    if flat:  # as on a GitHub release: every file side by side
        site = tmp_path / "assets"
        site.mkdir()
        for parquet in (published / "data").glob("*.parquet"):
            shutil.copy(parquet, site)
    else:
        site = published
    base_url = serve(site, last_modified)
    views = tmp_path / "views-remote.sql"
    args = ["views", "--base-url", base_url, "-o", views] + (["--flat"] if flat else [])
    assert run(*args).exit_code == 0
    text = views.read_text(encoding="utf-8")
    assert text.startswith("-- DuckDB views over the data package 'pledges', published at ")
    assert f"read_parquet('{base_url}{'' if flat else 'data/'}statements.parquet')" in text
    script = views
    if not last_modified:  # the remedy the file's header gives, run before the file
        remedy = re.search(r"^--   (SET .*;)$", text, re.M)
        assert remedy, "the header says what to run where the host sends no Last-Modified"
        script = tmp_path / "with-remedy.sql"
        script.write_text(remedy[1] + "\n" + text, encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"  # nothing on disk next to the analyst
    elsewhere.mkdir()
    result = subprocess.run([python, "-c", REMOTE_QUERY, str(script)], cwd=elsewhere,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    local = duckdb.connect(str(published / "pledges.duckdb"), read_only=True)
    expected = local.execute(
        "select (select count(*) from statements), (select count(*) from status_history), "
        "(select string_agg(id || '=' || status, ',' order by id) from statements), "
        "(select count(*) from statement_details)").fetchone()
    local.close()
    assert result.stdout.split() == [str(value) for value in expected]


@pytest.mark.parametrize("url", ["data.example.org/pledges/", "file:///tmp/x/", "https://a b/"])
def test_views_refuse_a_base_url_that_is_not_one(run, url):
    result = run("views", "--base-url", url)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: --base-url {url!r}: not an absolute URL")


# --- the CI jobs call the Makefile ---------------------------------------------------------

def workflow(name: str) -> dict:
    return yaml.safe_load((REPO / ".github" / "workflows" / name).read_text(encoding="utf-8"))


def run_steps(job: dict) -> list[str]:
    return [" ".join(step["run"].split()) for step in job["steps"] if "run" in step]


def test_the_release_workflow_runs_on_tags_with_full_history_through_make():
    flow = workflow("release.yml")
    assert flow[True]["push"] == {"tags": ["v*"]}  # YAML reads the key `on` as True
    assert flow["permissions"] == {"contents": "write"}
    (job,) = flow["jobs"].values()
    checkout = next(step for step in job["steps"] if step.get("uses", "").startswith(
        "actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    steps = run_steps(job)
    assert steps[0] == "make test"
    assert steps[1].startswith('make release VERSION="${GITHUB_REF_NAME#v}"')
    assert "dist/*.zip dist/SHA256SUMS pledges-site-*.zip" in steps[2]
    assert "dist/*.sqlite dist/*.datasette.json dist/*.xlsx" in steps[2]
    assert 'REPOSITORY_URL="https://github.com/${GITHUB_REPOSITORY}"' in steps[1]


def test_the_test_workflow_runs_make_test_on_pushes_and_pull_requests():
    flow = workflow("test.yml")
    assert set(flow[True]) == {"push", "pull_request"}
    (job,) = flow["jobs"].values()
    assert run_steps(job) == ["make test"]


def test_make_release_passes_its_variables_to_the_command():
    shown = subprocess.run(["make", "-n", "-s", "release", "VERSION=1.2.0", "PREVIOUS=v1.1.0",
                            "BASE_URL=https://example.org/r/", "FLAT=1"], cwd=REPO,
                           capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    command = " ".join(word for word in shown.stdout.split() if word != "\\")
    assert ("/pledgepack release --version 1.2.0 --content content --out dist "
            "--previous v1.1.0 --base-url https://example.org/r/ --flat .venv/bin/pledgepack "
            "site dist --out site --zip pledges-site-1.2.0.zip") in command
    assert command.endswith("--zip pledges-site-1.2.0.zip")
    with_site = subprocess.run(["make", "-n", "-s", "release", "VERSION=1.2.0",
                                "SITE_URL=https://example.org/site/",
                                "REPOSITORY_URL=https://github.com/o/r"], cwd=REPO,
                               capture_output=True, text=True)
    command = " ".join(word for word in with_site.stdout.split() if word != "\\")
    assert command.endswith("site dist --out site --zip pledges-site-1.2.0.zip --base-url "
                            "https://example.org/site/ --repository-url https://github.com/o/r")
    usage = subprocess.run(["make", "-s", "release"], cwd=REPO, capture_output=True, text=True)
    assert usage.returncode == 2 and "usage: make release VERSION=X.Y.Z" in usage.stderr


def test_make_release_writes_the_release_and_its_site(tmp_path):
    """The real `make release`, its folders pointed into tmp_path: the site lists the
    release's own files, and its zip holds the site byte for byte."""
    repo = tracker(tmp_path)
    out, site, site_zip = tmp_path / "dist", tmp_path / "site", tmp_path / "site-1.0.0.zip"
    venv = Path(sys.prefix)
    assert (venv / "bin" / "pledgepack").is_file(), "run the tests from the project's venv"
    made = subprocess.run(["make", "-s", "-o", f"{venv}/bin/pledgepack", "release",
                           "VERSION=1.0.0", f"VENV={venv}", f"CONTENT={repo.path / 'content'}",
                           f"OUT={out}", f"SITE={site}", f"SITE_ZIP={site_zip}"],
                          cwd=REPO, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    assert (out / "testland-pledges-1.0.0.zip").is_file() and (site / "index.html").is_file()
    files = {p.relative_to(site).as_posix(): p.read_bytes()
             for p in sorted(site.rglob("*")) if p.is_file()}
    with zipfile.ZipFile(site_zip) as archive:
        assert {name: archive.read(name) for name in archive.namelist()} == files
    data_page = (site / "data" / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r'<tr><td><a href="../download/([^"]+)">[^<]+</a></td><td>[^<]+ '
                      r'\((\d+) B\)</td><td><code class="hash">([0-9a-f]{64})</code></td></tr>',
                      data_page)
    released = {p.relative_to(out).as_posix(): p for p in out.rglob("*") if p.is_file()}
    assert {"testland-pledges-1.0.0.zip", "SHA256SUMS", "datapackage.json"} <= released.keys()
    assert {html.unescape(path): (int(size), digest) for path, size, digest in rows} == {
        name: (path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())
        for name, path in released.items()}
