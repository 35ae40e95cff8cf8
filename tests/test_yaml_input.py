"""YAML the build must refuse with `path:line: message` (wrong types, explicit tags, numbers
beyond 64 bits, deep nesting, duplicate keys, merge-conflict markers) and YAML 1.1 coercions it
must not make (every text field stays as written)."""
from __future__ import annotations

import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from conftest import DOCUMENT_YAML, chapter
from test_bad_input import CHAPTER_FILE, DOC, line_of, only_error, out, write_in_document  # noqa: F401

ENTRY = "- id: x\n  summary: s\n  status: implemented\n"


def entry_with(line: str) -> str:
    """A statement whose last field is `line` (it may override a field above)."""
    fields = {"summary": "  summary: s\n", "status": "  status: implemented\n"}
    return "- id: x\n" + "".join(text for key, text in fields.items()
                                 if not line.startswith(key + ":")) + f"  {line}\n"


@pytest.mark.parametrize("line", [
    "status: [implemented]", "status: {a: b}", "status: 3", "status:\n    - implemented",
    "measure: [law]", "measure: {law: 1}", "responsible: [a, b]", "responsible: {a: b}",
    "last_update: [2021-01-01]", "deadline: {d: 2021-01-01}",
    "history:\n    - date: 2021-01-01\n      status: [implemented]",
    "history:\n    - date: 2021-01-01\n      status: {a: b}",
    "history:\n    - date: [2021-01-01]\n      status: implemented",
    "categories: {a: b}", "categories: [[a]]", "reports: {url: x}", "reports: [[x]]",
    "reports:\n    - url: [https://example.org]",
    "summary: [a]",
])
def test_a_list_or_mapping_where_text_or_a_code_belongs(run, content, out, line):
    text = chapter(entry_with(line), body="[x](#x)\n")
    path = write_in_document(content, text)
    error = only_error(run, content, out)
    key = line.split(":")[0]
    assert error.line_place == f"{path}:{line_of(text, key + ':')}", error
    assert "statement 'x'" in error.message


@pytest.mark.parametrize("line, marker", [
    ("categories:\n    - ? : :", "- ? : :"),  # yaml-rs raised TypeError: the build crashed
    ("categories:\n    - a\n  : b", "  : b"),  # yaml-rs read b under an empty key
    ("reports:\n    - url: https://example.org\n      : x", "      : x"),
])
def test_yaml_that_only_the_fast_reader_accepts_is_an_error_at_its_line(run, content, out,
                                                                          line, marker):
    """The fast path's parser (yaml-rs) reads some broken YAML as values, or fails on it in
    its own way; the build then says what the reference loader says, at the line to fix."""
    text = chapter(entry_with(line), body="[x](#x)\n")
    path = write_in_document(content, text)
    error = only_error(run, content, out)
    assert error.message.startswith("invalid YAML"), error
    assert error.line_place == f"{path}:{line_of(text, marker)}", error


@pytest.mark.parametrize("field", ["title", "section", "redirect_url", "order", "published"])
@pytest.mark.parametrize("value", ["[a, b]", "{a: b}"])
def test_a_list_or_mapping_in_a_chapter_field(run, content, out, field, value):
    text = chapter(ENTRY, body="[x](#x)\n", extra="" if field == "title" else
                   f"{field}: {value}\n")
    if field == "title":
        text = text.replace('title: "1.1 Kapitel"', f"title: {value}")
    path = write_in_document(content, text)
    error = only_error(run, content, out)
    assert error.line_place == f"{path}:{line_of(text, field + ':')}"
    assert f"'{field}'" in error.message


@pytest.mark.parametrize("line", [
    "summary: !!set {a, b}", "summary: !!binary aGVsbG8=", "summary: !!float abc",
    "summary: !!int 12", "summary: !!bool yes", "summary: !!timestamp 2021-01-01",
    "summary: !!omap [a: 1]", "summary: !!pairs [a: 1]", "summary: !custom x",
    "summary: !!python/object:os.system x", "summary: !<tag:example.org,2024:x> y",
    "status: !!str implemented\n  deadline: !!float 1e400",
])
def test_explicit_tags_are_refused_at_their_line(run, content, out, line):
    text = chapter(entry_with(line).replace("  summary: s\n", "", 1 if "summary" in line else 0),
                   body="[x](#x)\n")
    path = write_in_document(content, text)
    error = only_error(run, content, out)
    tagged = next(row for row in text.splitlines() if "!" in row and "!!str" not in row)
    assert error.line_place == f"{path}:{text.splitlines().index(tagged) + 1}"
    assert error.message.startswith("YAML tag '") and "is not allowed" in error.message


@pytest.mark.parametrize("order", ["99999999999999999999", "9223372036854775808",
                                   "-9223372036854775809", "1e3", "3.0", "0x10", "1_0", "٣"])
def test_order_beyond_64_bits_or_not_a_whole_number(run, content, out, order):
    text = chapter(ENTRY, body="[x](#x)\n", extra=f"order: {order}\n")
    path = write_in_document(content, text)
    error = only_error(run, content, out)
    assert error.line_place == f"{path}:{line_of(text, 'order:')}"
    assert error.message == f"'order' must be a whole number, not '{order}'"


@pytest.mark.parametrize("order", ["9223372036854775807", "-9223372036854775808", "+7", "007"])
def test_order_within_64_bits_builds(run, content, tmp_path, order):
    write_in_document(content, chapter(ENTRY, body="[x](#x)\n", extra=f"order: {order}\n"))
    result = run("build", "--content", content, "--out", tmp_path / "o", "--no-git-history")
    assert result.exit_code == 0, result.output
    sections = pq.read_table(tmp_path / "o" / "data" / "sections.parquet").to_pylist()
    assert sections[0]["order"] == int(order)


@pytest.mark.parametrize("nested", [
    "[" * 30000 + "]" * 30000, "{a: " * 30000 + "b" + "}" * 30000,
    "- " * 3000 + "x", "[" * 65 + "]" * 65,
])
def test_deep_nesting_is_an_error_not_a_crash(tmp_path, nested):
    content = tmp_path / "content"
    (content / DOC).mkdir(parents=True)
    (content / DOC / "document.yaml").write_text(DOCUMENT_YAML, encoding="utf-8")
    text = chapter(ENTRY, body="[x](#x)\n", extra=f"deep:\n  {nested}\n")
    (content / DOC / CHAPTER_FILE).write_text(text, encoding="utf-8")
    # A process of its own: before the guard this killed the interpreter (SIGSEGV).
    proc = subprocess.run([sys.executable, "-m", "pledgepack", "build", "--content",
                           str(content), "--out", str(tmp_path / "o"), "--no-git-history"],
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr[-500:]
    assert "Traceback" not in proc.stderr
    assert f"{content / DOC / CHAPTER_FILE}:{line_of(text, 'deep:') + 1}: error: YAML nested " \
           "more than 64 levels deep" in proc.stderr


def test_nesting_within_the_limit_is_read(run, content, tmp_path):
    write_in_document(content, chapter(ENTRY, body="[x](#x)\n",
                                       extra="deep: " + "[" * 60 + "]" * 60 + "\n"))
    result = run("build", "--content", content, "--out", tmp_path / "o", "--no-git-history")
    assert result.exit_code == 0, result.output
    assert "unknown field" not in result.output  # a chapter field outside the known is ignored


@pytest.mark.parametrize("field, written", [
    ("section", "2.10"), ("section", "1:20"), ("section", "1_000"), ("section", "0x1F"),
    ("section", "1e3"), ("section", "0o17"), ("section", "+12"), ("section", "yes"),
    ("section", "off"), ("section", ".inf"), ("section", "2021-11-30"), ("section", "012"),
])
def test_plain_scalars_stay_the_text_written(run, content, tmp_path, field, written):
    statements = (f"- id: x\n  summary: {written}\n  status: implemented\n"
                  f"  responsible: {written}\n  categories: [{written}]\n"
                  f"  reports:\n    - title: {written}\n      url: https://example.org/{written}")
    text = chapter(statements, body="[x](#x)\n", extra=f"{field}: {written}\n",
                   title=f"{written} Kapitel")
    write_in_document(content, text)
    out = tmp_path / "o"
    result = run("build", "--content", content, "--out", out, "--no-git-history")
    assert result.exit_code == 0, result.output
    section = pq.read_table(out / "data" / "sections.parquet").to_pylist()[0]
    assert section["numeral"] == written
    assert section["title"] == f"{written} Kapitel"
    statement = pq.read_table(out / "data" / "statements.parquet").to_pylist()[0]
    assert (statement["summary"], statement["responsible"], statement["categories"]) == (
        written, written, [written])
    report = pq.read_table(out / "data" / "reports.parquet").to_pylist()[0]
    assert report["title"] == written
    assert f',"{written}",' in (out / "data" / "sections.csv").read_text(encoding="utf-8")


def test_dates_booleans_and_numbers_still_parse_where_the_schema_wants_them(run, content,
                                                                            tmp_path):
    statements = ("- id: x\n  summary: s\n  status: implemented\n  last_update: 2021-11-30\n"
                  "  deadline: '2025-12-31'\n"
                  "  history:\n    - date: 2021-01-05\n      status: not_implemented")
    write_in_document(content, chapter(statements, body="[x](#x)\n",
                                       extra="order: 12\npublished: yes\n"))
    other = chapter("- id: y\n  summary: t\n  status: broken\n", body="[y](#y)\n",
                    title="2 Zwei", extra="published: off\n")
    write_in_document(content, other, "2-zwei.md")
    out = tmp_path / "o"
    result = run("build", "--content", content, "--out", out, "--no-git-history",
                 "--include-unpublished")
    assert result.exit_code == 0, result.output
    sections = {r["title"]: r for r in pq.read_table(out / "data" / "sections.parquet").to_pylist()}
    assert sections["1.1 Kapitel"]["order"] == 12 and sections["1.1 Kapitel"]["published"]
    assert sections["2 Zwei"]["published"] is False
    statement = pq.read_table(out / "data" / "statements.parquet").to_pylist()
    x = next(s for s in statement if s["id"] == "x")
    assert (x["last_update"].isoformat(), x["deadline"].isoformat()) == ("2021-11-30",
                                                                         "2025-12-31")


@pytest.mark.parametrize("statements, extra, key", [
    ("- id: x\n  summary: s\n  status: implemented\n  status: broken\n", "", "status"),
    ("- id: x\n  id: y\n  summary: s\n  status: implemented\n", "", "id"),
    ("- id: x\n  summary: s\n  status: implemented\n  reports:\n    - url: https://a.org\n"
     "      url: https://b.org\n", "", "url"),
    ("- id: x\n  summary: s\n  status: implemented\n  history:\n    - date: 2021-01-01\n"
     "      date: 2021-02-01\n      status: broken\n", "", "date"),
    (ENTRY, "title: Zweiter Titel\n", "title"),
    (ENTRY, "statements: []\n", "statements"),
])
def test_duplicate_keys_are_errors(run, content, out, statements, extra, key):
    text = chapter(statements, body="[x](#x)\n", extra=extra)
    path = write_in_document(content, text)
    error = only_error(run, content, out)
    assert error.message == f"duplicate key {key!r}"
    assert error.line_place == f"{path}:{_second(text, key)}"


def _second(text: str, key: str) -> int:
    """Line of the second `key:` of the text."""
    rows = [n for n, row in enumerate(text.splitlines(), 1)
            if row.lstrip(" -").startswith(f"{key}:")]
    return rows[1]


def test_a_duplicate_key_in_document_yaml(run, content, out):
    path = content / DOC / "document.yaml"
    path.write_text(DOCUMENT_YAML + "kind: resolution\n", encoding="utf-8")
    error = only_error(run, content, out)
    assert error.line_place == f"{path}:{len(DOCUMENT_YAML.splitlines()) + 1}"
    assert error.message == "duplicate key 'kind'"


@pytest.mark.parametrize("where", ["front matter", "body", "document.yaml"])
def test_merge_conflict_markers_are_errors(run, content, out, where):
    conflict = "<<<<<<< HEAD\n{ours}\n=======\n{theirs}\n>>>>>>> feature\n"
    if where == "document.yaml":
        path = content / DOC / "document.yaml"
        text = DOCUMENT_YAML.replace("kind: coalition_agreement\n", conflict.format(
            ours="kind: coalition_agreement", theirs="kind: resolution"))
        path.write_text(text, encoding="utf-8")
    elif where == "body":
        text = chapter(ENTRY, body=conflict.format(ours="[x](#x) alt", theirs="[x](#x) neu"))
        path = write_in_document(content, text)
    else:
        text = chapter(ENTRY, body="[x](#x)\n").replace("    status: implemented\n", conflict.format(
            ours="    status: implemented", theirs="    status: broken"))
        path = write_in_document(content, text)
    error = only_error(run, content, out)
    assert error.line_place == f"{path}:{line_of(text, '<<<<<<<')}"
    assert error.message == "unresolved merge conflict"


def test_a_setext_heading_is_no_conflict(run, content, tmp_path):
    write_in_document(content, chapter(ENTRY, body="Titel\n=======\n\n[x](#x)\n"))
    result = run("build", "--content", content, "--out", tmp_path / "o", "--no-git-history")
    assert result.exit_code == 0, result.output

