"""Files, folders and settings that are not what they should be: every one ends in one clear
message and exit code 1, never a traceback."""
from __future__ import annotations

import json
import shutil
import unicodedata
import zipfile

import pyarrow.parquet as pq
import pytest

from conftest import CHAPTER, chapter
from test_bad_input import CHAPTER_FILE, DOC, bad_build, only_error, out, write_in_document  # noqa: F401

ENTRY = "- id: x\n  summary: s\n  status: implemented\n"


@pytest.mark.parametrize("target", ["missing.md", "../elsewhere/missing.md"])
def test_a_dangling_symlink_chapter_is_reported(run, content, out, target):
    link = content / DOC / "2-weg.md"
    link.symlink_to(target)
    error = only_error(run, content, out)
    assert error.place == str(link)
    assert error.message == f"symbolic link to {target}, which does not exist"


def test_document_yaml_that_is_a_folder(run, content, out):
    meta = content / DOC / "document.yaml"
    meta.unlink()
    meta.mkdir()
    error = only_error(run, content, out)
    assert error.place == str(meta) and error.message == "document.yaml is not a file"


def test_a_folder_named_like_a_chapter_is_a_warning(run, content, tmp_path):
    (content / DOC / "anhang.md").mkdir()
    result = run("build", "--content", content, "--out", tmp_path / "o", "--no-git-history")
    assert result.exit_code == 0
    assert f"{content / DOC / 'anhang.md'}: warning: not a file, so not a chapter" in result.output


@pytest.mark.parametrize("name", ["ü-kapitel", "Å-teil", "ñ", "ﬁnanzen", "é-ö"])
def test_file_names_that_differ_only_in_normalisation(run, content, out, name):
    nfc, nfd = unicodedata.normalize("NFC", name), unicodedata.normalize("NFD", name)
    if nfc == nfd:
        nfd = unicodedata.normalize("NFKC", name)  # a compatibility form: ﬁ and fi
    write_in_document(content, chapter(ENTRY, body="[x](#x)\n"), f"{nfc}.md")
    if unicodedata.normalize("NFC", nfd) != nfc:
        # NFKC folds the ligature: a different file name and section id, which is fine.
        result = run("build", "--content", content, "--out", out.parent / "o2")
        assert result.exit_code == 0
        return
    write_in_document(content, chapter("- id: y\n  summary: t\n  status: broken\n",
                                       body="[y](#y)\n"), f"{nfd}.md")
    found = bad_build(run, content, out)
    assert "in another Unicode normalisation" in found[0].message


@pytest.mark.parametrize("title, number", [("١.٢ Kapitel", None), ("２ Kapitel", None),
                                           ("३.१ भाग", None), ("2.10 Kapitel", "2.10"),
                                           ("10Kapitel", None)])
def test_titles_numbered_in_other_digits_build_without_a_number(run, content, tmp_path, title,
                                                                 number):
    write_in_document(content, chapter(ENTRY, body="[x](#x)\n", title=title))
    out = tmp_path / "o"
    result = run("build", "--content", content, "--out", out, "--no-git-history")
    assert result.exit_code == 0, result.output
    assert pq.read_table(out / "data" / "sections.parquet").to_pylist()[0]["number"] == number
    warned = "numbered in digits other than 0-9" in result.output
    assert warned is (number is None and not title[0].isascii())


@pytest.mark.parametrize("epoch", ["abc", "-5", "1e9", "99999999999999999999", " 12", "",
                                   "١٢٣", "253402300800"])
@pytest.mark.parametrize("command", ["build", "release"])
def test_a_malformed_source_date_epoch(run, content, out, monkeypatch, epoch, command):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    args = ["--version", "1.0.0"] if command == "release" else []
    before = sorted(p.name for p in out.iterdir())
    result = run(command, "--content", content, "--out", out, *args)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds since 1970 (0 to "
        "253402300799); set it to one, such as $(git log -1 --format=%ct), or unset it")
    assert sorted(p.name for p in out.iterdir()) == before


@pytest.mark.parametrize("descriptor", ["{", "[1, 2]", '"text"', '{"resources": 5}',
                                        '{"resources": [5, {"path": 7}]}',
                                        '{"resources": [{"name": "x", "path": "../../etc/passwd"}]}',
                                        "\xff\xfe"])
def test_validate_a_malformed_descriptor(run, tmp_path, descriptor):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "datapackage.json").write_bytes(descriptor.encode("latin-1"))
    result = run("validate", folder)
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "INVALID" in result.output
    as_json = run("validate", folder, "--json")
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["valid"] is False


def test_validate_a_file(run, out, tmp_path):
    assert run("validate", out / "datapackage.json").exit_code == 0
    other = tmp_path / "notes.txt"
    other.write_text("x", encoding="utf-8")
    result = run("validate", other)
    assert result.exit_code == 1 and "is a file, not a package folder" in result.output


def _previous_variants(out, tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    bad_json = tmp_path / "bad-json.zip"
    with zipfile.ZipFile(bad_json, "w") as archive:
        archive.writestr("datapackage.json", "{bad")
    truncated = tmp_path / "truncated.zip"
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as archive:
        for path in sorted(out.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(out).as_posix())
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    broken = tmp_path / "broken-parquet"
    shutil.copytree(out, broken)
    (broken / "data" / "statements.parquet").write_bytes(b"PAR1 broken")
    broken_zip = tmp_path / "broken-parquet.zip"
    with zipfile.ZipFile(broken_zip, "w") as archive:
        for path in sorted(broken.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(broken).as_posix())
    listed = tmp_path / "list-json"
    listed.mkdir()
    (listed / "datapackage.json").write_text("[]", encoding="utf-8")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("datapackage.json", json.dumps(
            {"resources": [{"name": "s", "path": "data/statements.csv"}]}))
        archive.writestr("data/statements.csv", b"0" * (300 << 20))
    undeclared = tmp_path / "undeclared.zip"
    with zipfile.ZipFile(undeclared, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(out.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(out).as_posix())
        archive.writestr("filler.bin", b"0" * (300 << 20))
    return {"junk": junk, "bad-json": bad_json, "truncated": truncated,
            "broken-parquet": broken, "broken-parquet-zip": broken_zip, "list-json": listed, "bomb": bomb,
            "undeclared": undeclared}


@pytest.mark.parametrize("kind, message", [
    ("junk", "neither a folder nor a zip file"), ("bad-json", "is not valid JSON"),
    ("truncated", ""), ("broken-parquet", ""), ("broken-parquet-zip", "not a valid package"),
    ("list-json", "is not a JSON object"),
    ("bomb", "unpacks to more than 256 MiB"), ("undeclared", None)])
def test_release_previous_that_is_broken(run, content, out, tmp_path, monkeypatch, kind,
                                         message):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    previous = _previous_variants(out, tmp_path)[kind]
    target = tmp_path / "release"
    result = run("release", "--version", "1.1.0", "--content", content, "--out", target,
                 "--previous", previous)
    assert "Traceback" not in result.output
    if message is None:
        # Files the package does not declare are not even extracted.
        assert result.exit_code == 0, result.output
        assert not (target / "filler.bin").exists()
        return
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"Error: {previous}: ")
    assert message in result.stderr
    # The scratch folder a zip is unpacked into is never what a message names.
    assert ".pledgepack-" not in result.stderr
    assert not target.exists()


@pytest.mark.parametrize("url", ["http://[::1", "https://[zz::]/x", "http://[::1]:99999/"])
def test_lint_on_an_unparsable_url(run, content, url):
    text = CHAPTER.replace('url: "https://example.gov/portal"', f'url: "{url}"')
    write_in_document(content, text)
    result = run("lint", "--content", content)
    assert "Traceback" not in result.output
    if "99999" not in url:
        assert f"url {url!r} is not a valid address" in result.output


@pytest.mark.parametrize("module", ["json", "threading", "pledgepack"])
def test_a_build_started_among_files_named_like_modules(content, tmp_path, module):
    """An editor's folder may hold a json.py of their own. The build's helper processes
    (the database's child, the parse's fork server and workers) import nothing from the
    folder the command was started in: they used to import such a file instead of the
    standard library's, and the build died in a traceback. Enough chapters that the parse
    runs in workers (content/folder.py's PARALLEL_MIN_FILES)."""
    import subprocess
    import sys
    from pathlib import Path

    from pledgepack.content.folder import PARALLEL_MIN_FILES

    for n in range(PARALLEL_MIN_FILES):
        write_in_document(content, chapter(f"- id: w{n}\n  summary: s\n  status: broken\n",
                                           body=f"[w{n}](#w{n})\n"), f"w{n:03d}.md")
    here = tmp_path / "editor"
    here.mkdir()
    (here / f"{module}.py").write_text(
        f"raise ImportError('the {module}.py in the folder the build started in')\n")
    command = Path(sys.executable).parent / "pledgepack"
    result = subprocess.run([str(command), "build", "--content", str(content), "--out",
                             str(tmp_path / "o"), "--no-git-history", "--jobs", "2"],
                            cwd=here, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "package valid" in result.stdout + result.stderr
    assert (tmp_path / "o" / "pledges.duckdb").is_file()
    statements = pq.read_table(tmp_path / "o" / "data" / "statements.parquet")
    assert {f"w{n}" for n in range(PARALLEL_MIN_FILES)} <= set(statements["id"].to_pylist())
