"""Import a plain-text or Markdown document as a new document folder of the content.

`import_document` writes `<content>/<id>/document.yaml` (the title, and the other fields as
commented-out placeholders for the editor) and one chapter per top-level part, named
`<order>-<slug>.md`, with the front matter the build reads (title, order, published, an empty
statements list) and the part's Markdown. The text before the first part, when there is any,
is chapter `0-einleitung.md`; a document without parts is one chapter named after the document.
The editor then marks the pledges in the chapters as [text](#id).

A source with a Markdown heading ("# ..." to "###### ...") is Markdown and kept as written;
its own heading (`take_title`) is the title. Any other source is plain text, often extracted
from a PDF: its first line is the title (`textclean.take_title_line`) and the rest is cleaned
into Markdown (`textclean.clean_text`). Either way the title line leaves the text, also when
`title` replaces it, and the Markdown is split into parts by `split_parts`.
"""
from __future__ import annotations

import json
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..content.folder import DOCUMENT_FILE, ID_RE
from ..content.yamltext import nfc
from ..errors import PledgepackError
from ..schema import PackageSchema
from .textclean import clean_text, take_title_line

MARKDOWN_RE = re.compile(r"^#{1,6}[ \t]+\S", re.MULTILINE)
HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
FENCE_RE = re.compile(r"^ {0,3}(?:```|~~~)")
ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~<>])")
# "3. Title", "3.1 Title": the number is the chapter's order already, not part of its file name.
SECTION_NUMBER_RE = re.compile(r"^\d+(?:\.\d+)*\.\s+|^\d+(?:\.\d+)+\s+")
FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
INTRO_TITLE = "Einleitung"
SLUG_LEN = 80


@dataclass(frozen=True)
class Part:
    """A top-level part: its heading text (None for the text before the first part heading)
    and its Markdown body without that heading."""

    title: str | None
    body: str


@dataclass(frozen=True)
class ImportResult:
    """The document folder written, its title, and its files (chapters in order)."""

    folder: Path
    title: str
    document_file: Path
    chapters: tuple[Path, ...]


def import_document(source: Path | str, content_root: Path | str, document_id: str, *,
                    title: str | None = None, force: bool = False,
                    kind: str | None = None) -> ImportResult:
    """Write `source` as the document `document_id` into `content_root`.

    `title` replaces the title found in the source; `kind` fills in document.yaml's kind.
    Raises PledgepackError for an unusable id or kind, an unreadable source, a source without a
    title (and no `title`), and an existing document folder unless `force`.
    """
    source, content_root = Path(source), Path(content_root)
    if not ID_RE.fullmatch(document_id):
        raise PledgepackError(
            f"document id {document_id!r} is not usable: use lower-case letters, digits, '.', "
            "'_' and '-', starting with a letter or digit")
    kinds = PackageSchema.load().kinds
    if kind is not None and kind not in kinds:
        raise PledgepackError(f"unknown kind {kind!r}: use one of {', '.join(kinds)}")
    text = _read_source(source)
    if MARKDOWN_RE.search(text):
        found, body = take_title(text)
    else:
        found, rest = take_title_line(text)
        body = clean_text(rest)
    title = _one_line(title or "") or _one_line(found or "")
    if not title:
        raise PledgepackError(f"{source}: no title found (the first line is not a heading or a "
                              "title line); give one with --title")
    files = {DOCUMENT_FILE: render_document_yaml(title, kind, kinds, source.name)}
    files.update(_chapters(split_parts(body), title))
    # Everything is rendered before the old folder goes, so a bad source leaves it as it was.
    folder = content_root / document_id
    if (folder.exists() or folder.is_symlink()) and not force:
        raise PledgepackError(f"{folder} already exists; pass --force to replace it")
    try:
        _write(folder, files)
    except OSError as exc:
        raise PledgepackError(f"{folder}: cannot write the document: {exc.strerror}") from None
    return ImportResult(folder=folder, title=title, document_file=folder / DOCUMENT_FILE,
                        chapters=tuple(folder / name for name in files if name != DOCUMENT_FILE))


def take_title(markdown: str) -> tuple[str | None, str]:
    """The document's own heading, and the Markdown without it.

    That is the first non-blank line when it is a heading whose level occurs nowhere else
    (a "## Ä34 ..." over "###" parts); otherwise (None, markdown).
    """
    lines = markdown.split("\n")
    headings = _headings(lines)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if not headings or headings[0][0] != first:
        return None, markdown
    level = headings[0][1]
    if sum(h[1] == level for h in headings) > 1:
        return None, markdown
    return headings[0][2], "\n".join(lines[:first] + lines[first + 1:])


def split_parts(markdown: str) -> list[Part]:
    """Split Markdown into its top-level parts.

    The split level is the highest heading level (fewest "#") that occurs more than once;
    every heading of that level or higher starts a part and becomes its title. Text before the
    first such heading is a part without title, left out when blank. Without a repeated level
    the whole text is one part without title. Headings inside ``` or ~~~ fences are code.
    Each body has its runs of blank lines collapsed into one and ends with a newline.
    """
    lines = markdown.split("\n")
    headings = _headings(lines)
    levels = [level for _, level, _ in headings]
    repeated = [level for level in set(levels) if levels.count(level) > 1]
    starts = [(i, text) for i, level, text in headings if repeated and level <= min(repeated)]
    parts = [Part(None, _body(lines[:starts[0][0] if starts else len(lines)]))]
    for k, (i, text) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        parts.append(Part(text, _body(lines[i + 1:end])))
    return parts if parts[0].body or len(parts) == 1 else parts[1:]


def slugify(title: str) -> str:
    """ASCII file-name part for a title: "4. Öffentliche Beschaffung" gives
    "oeffentliche-beschaffung"."""
    text = unicodedata.normalize("NFKD", SECTION_NUMBER_RE.sub("", title).lower().translate(FOLD))
    slug = re.sub(r"[^a-z0-9]+", "-", text.encode("ascii", "ignore").decode()).strip("-")
    if len(slug) > SLUG_LEN:
        slug = slug[:SLUG_LEN].rsplit("-", 1)[0] if "-" in slug[:SLUG_LEN] else slug[:SLUG_LEN]
    return slug or "teil"


def render_chapter(title: str, order: int, body: str) -> str:
    return (f"---\ntitle: {_quote(title)}\norder: {order}\npublished: true\nstatements: []\n"
            f"---\n{body}")


def render_document_yaml(title: str, kind: str | None, kinds: list[str], source_name: str) -> str:
    kind_line = f"kind: {kind}" if kind else f"# kind: {kinds[0]}"
    return "\n".join([
        f"# Imported by pledgepack from {_one_line(source_name)}.",
        "# Fill in the fields below and remove the '# ' in front of them.",
        f"title: {_quote(title)}",
        f"{kind_line}  # {', '.join(kinds)}",
        "# jurisdiction: DE  # ISO 3166 code, e.g. DE or DE-BE",
        "# parties:",
        "#   - Name of a party",
        "# date: 2024-01-31  # date of the document, YYYY-MM-DD",
        "# source_url: https://example.org/document.pdf  # where the full text is published",
        "# source_note: Where this text was taken from, if not from source_url",
        "# license: CC-BY-4.0  # only a licence the source grants (SPDX id)",
        "# license_note: Where the licence is granted, or that the text states none",
        "",
    ])


def _write(folder: Path, files: dict[str, str]) -> None:
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder)
    elif folder.exists() or folder.is_symlink():
        folder.unlink()
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).write_bytes(content.encode("utf-8"))


def _chapters(parts: list[Part], title: str) -> dict[str, str]:
    if len(parts) == 1 and parts[0].title is None:
        # No parts: the whole document is one chapter, named after it.
        parts = [Part(title, parts[0].body)]
    files = {}
    for order, part in enumerate(parts, 0 if parts[0].title is None else 1):
        name = part.title or INTRO_TITLE
        files[f"{order}-{slugify(name)}.md"] = render_chapter(name, order, part.body)
    return files


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, text) of each ATX heading outside fenced code."""
    found, fenced = [], False
    for i, line in enumerate(lines):
        if FENCE_RE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else HEADING_RE.match(line)
        if match and match.group(2).strip():
            found.append((i, len(match.group(1)), _one_line(ESCAPE_RE.sub(r"\1", match.group(2)))))
    return found


def _body(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1].strip()):
            out.append("" if not line.strip() else line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n" if out else ""


def _one_line(text: str) -> str:
    # Titles are one line of YAML, which refuses control characters.
    text = " ".join(text.split())
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))


def _quote(text: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(text, ensure_ascii=False)


def _read_source(source: Path) -> str:
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise PledgepackError(f"{source}: cannot read the file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PledgepackError(f"{source}: not UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
                              f"{exc.start}); save it as UTF-8 first") from None
    if not text.strip():
        raise PledgepackError(f"{source}: the file holds no text")
    return nfc(text.replace("\r\n", "\n").replace("\r", "\n"))
