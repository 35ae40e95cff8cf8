"""Bad input: every problem is reported as `path:line: error: ...` with a hint, the build exits
with 1, and the previous output folder is left exactly as it was."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import NamedTuple

import pytest

from conftest import CHAPTER, DOCUMENT_YAML, chapter, make_document
from pledgepack.content.folder import read_content
from pledgepack.errors import ERROR, ContentError
from pledgepack.schema import PackageSchema

DOC = "testland-2024"
CHAPTER_FILE = "1-1-verwaltung.md"
HEAD_RE = re.compile(r"(?P<place>.+?): (?P<severity>error|warning): (?P<message>.+)")


class Reported(NamedTuple):
    place: str
    severity: str
    message: str
    hint: str

    @property
    def line_place(self) -> str:
        """`path:line`, without the column some diagnostics add."""
        return re.sub(r"(:\d+):\d+$", r"\1", self.place)


def files(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return {path.name: path.read_bytes()}
    return {p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file()}


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}"))


def lines_of(text: str, needle: str) -> list[int]:
    """1-based numbers of the lines of `text` that contain `needle`."""
    return [n for n, row in enumerate(text.splitlines(), 1) if needle in row]


def line_of(text: str, needle: str) -> int:
    return lines_of(text, needle)[0]


def write_in_document(content: Path, text: str | bytes, name: str = CHAPTER_FILE) -> Path:
    path = content / DOC / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def reported(stderr: str) -> list[Reported]:
    """The diagnostics on stderr; each must be one `place: severity: message` line and a hint."""
    lines = [line for line in stderr.splitlines() if not line.startswith(("Error: ", "note: "))]
    assert len(lines) % 2 == 0, stderr
    found = []
    for head, hint in zip(lines[::2], lines[1::2]):
        match = HEAD_RE.fullmatch(head)
        assert match, f"not a diagnostic: {head!r}\n{stderr}"
        assert hint.startswith("  hint: "), f"no hint after {head!r}\n{stderr}"
        found.append(Reported(*match.groups(), hint.removeprefix("  hint: ")))
    return found


def failed_build(run, content: Path, out: Path, *args: str):
    """Run a build that must fail with exit code 1 and leave `out` and its parent as they were."""
    before = files(out) if out.exists() else None
    result = run("build", "--content", content, "--out", out, *args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert (files(out) if out.exists() else None) == before
    assert leftovers(out) == []
    return result


def bad_build(run, content: Path, out: Path, *args: str, errors: int = 1,
              warnings: int = 0) -> list[Reported]:
    """A build that fails on the content; returns the diagnostics it reported."""
    result = failed_build(run, content, out, *args)
    assert result.stderr.splitlines()[-1] == (
        f"Error: build failed: {errors} error(s), {warnings} warning(s); {out} left unchanged")
    found = reported(result.stderr)
    assert len(found) == errors + warnings, result.stderr
    return found


def only_error(run, content: Path, out: Path, *args: str, warnings: int = 0) -> Reported:
    [found] = [d for d in bad_build(run, content, out, *args, warnings=warnings)
               if d.severity == ERROR]
    return found


@pytest.fixture
def out(tmp_path: Path, content: Path, run) -> Path:
    """An output folder holding a good build of `content`."""
    out = tmp_path / "dist"
    result = run("build", "--content", content, "--out", out)
    assert result.exit_code == 0, result.output
    assert (out / "datapackage.json").is_file()
    return out


@pytest.mark.parametrize("statements, needle", [
    ("- id: x\n  status: [unclosed\n", "[unclosed"),
    ('- id: x\n  summary: "open\n  status: implemented\n', '"open'),
    ("- id: x\n  status: implemented\n summary: s\n", " summary: s"),
    ("- id: x\n  summary: a: b\n  status: implemented\n", "a: b"),
], ids=["unclosed-list", "unclosed-quote", "bad-indent", "colon-in-text"])
def test_broken_yaml(run, content, out, statements, needle):
    text = chapter(statements)
    path = write_in_document(content, text)
    error = only_error(run, content, out)
    assert error.message.startswith("invalid YAML")
    assert error.place == f"{path}:{line_of(text, needle)}"


def test_unknown_status(run, content, out):
    text = chapter("- id: x\n  summary: s\n  status: done\n", body="[x](#x)\n")
    path = write_in_document(content, text)
    error = only_error(run, content, out)
    assert error.place == f"{path}:{line_of(text, 'status: done')}"
    assert "unknown status 'done'" in error.message
    for status in PackageSchema.load().statuses:
        assert status in error.hint


@pytest.mark.parametrize("key, value, shown", [
    ("last_update", "2021-13-45", "'2021-13-45'"),
    ("last_update", "'2021-02-30'", "'2021-02-30'"),
    ("deadline", "2025", "'2025'"),
], ids=["month-13", "february-30", "bare-year"])
def test_bad_date(run, content, out, key, value, shown):
    text = chapter(f"- id: x\n  summary: s\n  status: implemented\n  {key}: {value}\n",
                   body="[x](#x)\n")
    path = write_in_document(content, text)
    error = only_error(run, content, out)
    assert error.place == f"{path}:{line_of(text, f'{key}: {value}')}"
    assert f"{key} {shown} is not a valid date" in error.message


def test_duplicate_id_in_one_chapter(run, content, out):
    text = chapter("- id: x\n  summary: s\n  status: implemented\n"
                   "- id: x\n  summary: t\n  status: implemented\n", body="[x](#x)\n")
    path = write_in_document(content, text)
    first, second = lines_of(text, "- id: x")
    error = only_error(run, content, out)
    assert error.place == f"{path}:{second}"
    assert "duplicate id 'x'" in error.message
    assert f"also used at {path}:{first}" in error.message


def test_duplicate_id_across_chapters(run, content, out):
    first = content / DOC / CHAPTER_FILE
    text = chapter("- id: portal\n  summary: s\n  status: implemented\n", title="1.2 Mehr",
                   body="Noch ein [Portal](#portal).\n")
    path = write_in_document(content, text, "1-2-mehr.md")
    error = only_error(run, content, out)
    assert error.place == f"{path}:{line_of(text, '](#portal)')}"
    assert "duplicate id 'portal'" in error.message
    assert f"also used at {first}:{line_of(CHAPTER, '[ein Portal')}" in error.message


def test_same_id_in_two_documents_is_fine(run, content, out):
    make_document(content, "andere-2025")
    result = run("build", "--content", content, "--out", out)
    assert result.exit_code == 0, result.output
    assert "2 documents, 2 sections, 4 statements" in result.stdout


def test_statement_without_id(run, content, out):
    text = chapter("- id: x\n  summary: s\n  status: implemented\n"
                   "- summary: t\n  status: implemented\n", body="[x](#x)\n")
    path = write_in_document(content, text)
    error = only_error(run, content, out)
    assert error.place == f"{path}:{line_of(text, '- summary: t')}"
    assert error.message == "statement 2 has no id"


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "with-bom"])
def test_not_utf8(run, content, out, bom):
    text = chapter(body="Erste Zeile.\nZweite Zeile.\nändern wir das.\n")
    assert line_of(text, "ändern") == 7
    path = write_in_document(content, bom + text.encode("latin-1"))
    error = only_error(run, content, out)
    assert error.place == f"{path}:7"
    assert error.message.startswith("not UTF-8: byte 0xe4")


def link_chapter(content: Path, outside: Path):
    target = outside / "1-2-fremd.md"
    target.write_text(chapter(title="1.2 Fremd"), encoding="utf-8")
    link = content / DOC / target.name
    link.symlink_to(target)
    return content, link, ()


def link_document(content: Path, outside: Path):
    make_document(outside, "fremd-2024")
    link = content / "fremd-2024"
    link.symlink_to(outside / "fremd-2024")
    return content, link, ()


def link_document_yaml(content: Path, outside: Path):
    target = outside / "document.yaml"
    target.write_text(DOCUMENT_YAML, encoding="utf-8")
    link = content / DOC / "document.yaml"
    link.unlink()
    link.symlink_to(target)
    return content, link, ()


def link_chapter_of_bare_folder(content: Path, outside: Path):
    (content / DOC / "document.yaml").unlink()
    (content / "package.yaml").rename(content / DOC / "package.yaml")
    _, link, _ = link_chapter(content, outside)
    return content / DOC, link, ("--document-title", "Testland")


@pytest.mark.parametrize("make_link", [link_chapter, link_document, link_document_yaml,
                                       link_chapter_of_bare_folder],
                         ids=["chapter", "document-folder", "document-yaml",
                              "chapter-of-bare-folder"])
def test_symlink_out_of_content(run, content, out, tmp_path, make_link):
    outside = tmp_path / "outside"
    outside.mkdir()
    root, link, args = make_link(content, outside)
    # A bare folder of chapters states neither licence nor source of its text: two warnings.
    error = only_error(run, root, out, *args,
                       warnings=2 if make_link is link_chapter_of_bare_folder else 0)
    assert error.place == str(link)
    assert error.message.startswith("symbolic link leads out of the content folder")


def test_symlink_inside_content_is_allowed(run, content, out):
    shared = content / ".shared" / "1-2-geteilt.md"
    shared.parent.mkdir()
    shared.write_text(chapter(title="1.2 Geteilt", body="Geteilter Text.\n"), encoding="utf-8")
    (content / DOC / shared.name).symlink_to(Path("..") / ".shared" / shared.name)
    make_document(content / ".store", "andere-2025")
    (content / "andere-2025").symlink_to(Path(".store") / "andere-2025")
    result = run("build", "--content", content, "--out", out)
    assert result.exit_code == 0, result.output
    assert "2 documents, 3 sections, 4 statements" in result.stdout


def test_chapter_without_body_text_builds(run, content, out):
    write_in_document(content, chapter(title="1.2 Leer"), "1-2-leer.md")
    result = run("build", "--content", content, "--out", out)
    assert result.exit_code == 0, result.output
    assert "1 documents, 2 sections" in result.stdout


def alias_bomb(levels: int = 9) -> str:
    """A front-matter key whose value would expand to 9**levels strings if aliases were
    followed."""
    names = "abcdefghijklmnop"[:levels]
    rows = ["a: &a [" + ", ".join(['"lol"'] * 9) + "]"]
    rows += [f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]"
             for prev, name in zip(names, names[1:])]
    return "lols:\n" + "".join(f"  {row}\n" for row in rows)


@pytest.mark.parametrize("name, text", [
    (CHAPTER_FILE, chapter(extra=alias_bomb())),
    ("document.yaml", DOCUMENT_YAML + alias_bomb()),
], ids=["chapter", "document-yaml"])
def test_alias_bomb(run, content, out, name, text):
    path = write_in_document(content, text, name)
    error = only_error(run, content, out)
    assert error.place == f"{path}:{line_of(text, 'b: &b')}"
    assert "alias" in error.message.lower()


SEVERAL_A = """\
---
title: "1.1 A"
statements:
  - id: x
    summary: s
    status: done
  - id: y
    summary: s
    status: implemented
    deadline: 2025
published: maybe
---
[x](#x) [y](#y)
"""


def test_several_errors_in_several_files(run, content, out):
    write_in_document(content, SEVERAL_A, CHAPTER_FILE)
    b_text = chapter("- summary: t\n  status: implemented\n", title="1.2 B",
                     body="Siehe [p](nohash).\n")
    write_in_document(content, b_text, "1-2-b.md")
    doc_text = DOCUMENT_YAML.replace("kind: coalition_agreement", "kind: treaty")
    write_in_document(content, doc_text, "document.yaml")
    folder = content / DOC
    found = bad_build(run, content, out, errors=5, warnings=1)
    assert [(d.line_place, d.severity) for d in found] == [
        (f"{folder / CHAPTER_FILE}:{line_of(SEVERAL_A, 'status: done')}", "error"),
        (f"{folder / CHAPTER_FILE}:{line_of(SEVERAL_A, 'deadline: 2025')}", "error"),
        (f"{folder / CHAPTER_FILE}:{line_of(SEVERAL_A, 'published: maybe')}", "error"),
        (f"{folder / '1-2-b.md'}:{line_of(b_text, '- summary: t')}", "error"),
        (f"{folder / '1-2-b.md'}:{line_of(b_text, '](nohash)')}", "warning"),
        (f"{folder / 'document.yaml'}:{line_of(doc_text, 'kind: treaty')}", "error"),
    ]
    messages = " | ".join(d.message for d in found)
    for part in ("unknown status 'done'", "deadline '2025' is not a valid date",
                 "'published' must be true or false", "statement 1 has no id", "lacks \"#\"",
                 "unknown kind 'treaty'"):
        assert part in messages


WARNINGS_ONLY = CHAPTER + "Und [Neues](#orphan) sowie [Link](some-id).\n"


def assert_warning_places(found: list[Reported], path: Path, severity: str) -> None:
    line = line_of(WARNINGS_ONLY, "#orphan")
    assert [d.severity for d in found] == [severity, severity]
    assert [d.line_place for d in found] == [f"{path}:{line}"] * 2
    assert "anchor #orphan has no front-matter entry" in found[0].message
    assert found[1].message == 'anchor "(some-id)" lacks "#"'


def test_warnings_only_build(run, content, out):
    path = write_in_document(content, WARNINGS_ONLY)
    before = files(out)
    result = run("build", "--content", content, "--out", out)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "(2 warning(s)); package valid" in result.stdout
    assert_warning_places(reported(result.stderr), path, "warning")
    assert files(out) != before
    assert "orphan" in (out / "data" / "statements.csv").read_text(encoding="utf-8")
    assert leftovers(out) == []


def test_warnings_with_strict_fail(run, content, out):
    path = write_in_document(content, WARNINGS_ONLY)
    found = bad_build(run, content, out, "--strict", errors=2)
    assert_warning_places(found, path, "error")


def test_missing_content_folder(run, out, tmp_path):
    missing = tmp_path / "missing"
    error = only_error(run, missing, out)
    assert error.place == str(missing)
    assert error.message == "content folder not found"


def test_read_content_raises_content_error(content):
    text = chapter("- id: x\n  summary: s\n  status: done\n", body="[x](#x)\n")
    path = write_in_document(content, text)
    with pytest.raises(ContentError) as caught:
        read_content(content, PackageSchema.load())
    assert [(d.path, d.line, d.severity, d.message) for d in caught.value.diagnostics] == [
        (str(path), line_of(text, "status: done"), ERROR, "statement 'x': unknown status 'done'")]


def stricter_descriptor(tmp_path: Path, pattern: str) -> Path:
    """The shipped descriptor with a pattern on statements.id that the content can break."""
    from pledgepack.schema import default_descriptor_path

    descriptor = json.loads(default_descriptor_path().read_text(encoding="utf-8"))
    statements = next(r for r in descriptor["resources"] if r["name"] == "statements")
    field = next(f for f in statements["schema"]["fields"] if f["name"] == "id")
    field.setdefault("constraints", {})["pattern"] = pattern
    path = tmp_path / "stricter.json"
    path.write_text(json.dumps(descriptor), encoding="utf-8")
    return path


@pytest.mark.parametrize("full", [False, True], ids=["gate", "full-validation"])
def test_a_package_that_breaks_the_schema_is_not_swapped_in(run, content, out, tmp_path, full):
    # The CONTENT fixture has ids 'portal' and 'akte'; the pattern only lets 'portal' through.
    descriptor = stricter_descriptor(tmp_path, "p[a-z]*")
    args = ["--descriptor", descriptor] + (["--full-validation"] if full else [])
    result = failed_build(run, content, out, *args)
    assert result.stderr.splitlines()[-1] == (
        f"Error: build failed: the new package is invalid; {out} left unchanged")
    problems = [line for line in result.stderr.splitlines() if ": pattern" in line
                or "constraint-error" in line]
    # The build's own gate finds it in the Parquet; with --full-validation frictionless
    # finds it in the CSV as well.
    assert any(line.startswith("data/statements.parquet") and "'akte'" in line for line in problems)
    assert any(line.startswith("statements, row 2, field id: constraint-error")
               for line in problems) == full


def test_the_build_gate_and_full_validation_report_their_checks(content, tmp_path):
    from pledgepack.build import build

    gate = build(content, tmp_path / "a").report
    full = build(content, tmp_path / "b", full_validation=True).report
    assert gate.valid and full.valid
    assert gate.checks == ["descriptor", "files", "parquet", "csv-parquet"]
    assert full.checks == gate.checks + ["frictionless rows"]
    assert "frictionless rows" in full.timings and "frictionless rows" not in gate.timings


@pytest.mark.parametrize("full", [False, True], ids=["gate", "full-validation"])
def test_a_csv_file_that_lost_a_value_is_not_swapped_in(run, content, tmp_path, monkeypatch,
                                                        full):
    """The build's gate reads each CSV file back as soon as it is written and holds it against
    the rows its Parquet file was written from (with --full-validation, against the Parquet
    file itself): a CSV writer that turns one value into another fails the build. (A folder
    never built into: a rebuild would take the files of unchanged tables as they are.)"""
    import pyarrow as pa

    from pledgepack.package import writers

    csv_columns = writers.csv_columns

    def losing(table):
        table = csv_columns(table)
        if "summary" not in table.column_names:
            return table
        index = table.schema.get_field_index("summary")
        values = table.column(index).to_pylist()
        values[1] = None  # a text becomes a missing value
        return table.set_column(index, "summary", pa.array(values, pa.string()))

    monkeypatch.setattr(writers, "csv_columns", losing)
    out = tmp_path / "new"
    result = failed_build(run, content, out, *(["--full-validation"] if full else []))
    assert not out.exists()
    assert result.stderr.splitlines()[-1] == (
        f"Error: build failed: the new package is invalid; {out} left unchanged")
    [problem] = [line for line in result.stderr.splitlines() if "csv-parquet" in line]
    assert problem.startswith("statements: csv-parquet: differs from data/statements.parquet: "
                              "row 2, column summary: None in CSV, "), problem


def test_a_descriptor_frictionless_refuses_stops_the_build_with_its_problem_alone(
        run, content, out, tmp_path):
    # A licence with neither name nor path: the schema loader takes it, the Data Package
    # profile does not. The content also breaks a pattern; with the descriptor unsound, the
    # data checks that ran beside its check must not be reported.
    descriptor = stricter_descriptor(tmp_path, "p[a-z]*")
    document = json.loads(descriptor.read_text(encoding="utf-8"))
    document["licenses"] = [{"title": "a licence without name or path"}]
    descriptor.write_text(json.dumps(document), encoding="utf-8")
    (content / "package.yaml").unlink(missing_ok=True)
    result = failed_build(run, content, out, "--descriptor", descriptor)
    lines = result.stderr.splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith('datapackage.json: package-error: The data package has an error: '
                               'license requires "path" or "name"')
    assert "INVALID: 1 problem(s) (0 files, 0 tables, 0 rows" in lines[1]
    assert lines[2] == f"Error: build failed: the new package is invalid; {out} left unchanged"
