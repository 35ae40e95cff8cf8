"""Turn plain text, above all text extracted from a PDF, into Markdown for a chapter.

PDF extraction keeps the page layout as text. `clean_text` repairs what the layout makes plain
and leaves the rest to the editor:

- Double spacing (most lines followed by an empty line, most of them in mid-sentence): an
  empty line is then only spacing, and a line of spaces or two empty lines end a paragraph.
  In single-spaced text every blank line ends a paragraph. A paragraph break between a line
  that ends no sentence and a line starting in lower case is a page break inside a sentence,
  and is dropped.
- Lines are joined into paragraphs (`join_lines`): "Ver-" + "waltung" (lower-case letter,
  hyphen, lower-case letter) is one word split at the line end; before an upper-case letter
  or a digit the hyphen is real and kept, without a space ("IT-" + "Sicherheit"); before
  "und"/"oder" it stands for a left-out word ("Länder- und"); a URL broken after "-", "/",
  "_", "=", "?" or "&" goes on without a space.
- Page furniture is removed: page numbers ("Seite 3|16", "3 / 16", a bare "3"), up to three
  short lines printed just above a page number (the running header), and short lines that
  occur three or more times.
- Footnotes (a wide line of spaces, lines starting with the note's number, then the link
  targets the PDF repeats as bare URLs) become Markdown footnotes: the marker in the text
  ("darstellbar.1") turns into "[^1]", and "[^1]: ..." follows the paragraph with the marker.
- A line starting with a bullet glyph (U+F0A7, •, ▪) becomes a list item "- ...".
- Headings, only where the layout shows them: a numbered line "3. Title" starting a paragraph
  becomes "## 3. Title" ("3.1 Title": "###"), continued by a next line after a hyphen or in
  lower case; a line that starts a paragraph and ends with ":" (or a full line plus a short
  one ending so) becomes "### Title"; a short line (under 70% of the usual line length, the
  upper quartile of the line lengths) that starts a paragraph, ends without punctuation, holds
  no "label: value" and comes before a line starting in upper case becomes "### Title".
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

BULLET_RE = re.compile(r"^[\uf0a7•▪]\s*")
PAGE_RE = re.compile(r"^(?:(?:seite|page)\s*\d+(?:\s*(?:[|/]|von|of)\s*\d+)?"
                     r"|\d{1,3}(?:\s*[|/]\s*\d{1,3})?|[-–]\s*\d{1,3}\s*[-–])$", re.IGNORECASE)
NUMBERED_RE = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)(\.?)\s+(?=\w)")
FOOTNOTE_RE = re.compile(r"^(\d{1,2})\s+(\S.*)$")
URL_RE = re.compile(r"^https?://\S+$")
# A sentence ends with . ! ? or : and perhaps closing quotes or brackets.
SENTENCE_END_RE = re.compile(r"[.!?:][\"'“”»«)\]]*$")
INNER_END_RE = re.compile(r"[.!?][\"'“”»«)\]]*\s")
OPENING_RE = re.compile(r"^[\"'„“»«(\[]*")
LEFT_OUT_WORD = {"und", "oder", "bis", "sowie", "bzw."}

DOUBLE_SPACED = 0.6       # share of text lines followed by an empty line
SHORT = 0.7               # of the usual line length: a heading, not a line of a paragraph
FURNITURE_LEN = 60        # repeated lines longer than this are text, not furniture
HEADER_LEN, HEADER_LINES = 40, 3
RULE_LEN = 20             # spaces in the line that a PDF puts above the footnotes
MARKER_REACH = 120        # lines above the footnotes searched for the marker: about a page
TITLE_LEN = 100


@dataclass
class _Note:
    number: str
    text: str
    line: int             # where the note's marker is (or where the notes interrupted the text)


def join_lines(a: str, b: str) -> str:
    """Join line `b` to the text `a` that it continues."""
    if not a:
        return b
    last = a.rsplit(None, 1)[-1]
    if last.startswith(("http://", "https://")) and last[-1] in "-/_=?&":
        return a + b
    if a.endswith("-") and b:
        before = a[-2] if len(a) > 1 else " "
        if b.split()[0] in LEFT_OUT_WORD:
            return a + " " + b
        if before.isspace():
            # "Datenaustausch, -zugang und -" + "sicherheit": the hyphen belongs to the next word
            return a + b if b[0].islower() else a + " " + b
        if before.isalpha() and before.islower() and b[0].islower():
            return a[:-1] + b
        return a + b
    return a + " " + b


def clean_text(text: str) -> str:
    """Markdown for plain text or text extracted from a PDF (the rules are in the module doc)."""
    lines = text.replace("\f", "\n").split("\n")  # pdftotext separates pages with a form feed
    stripped = [line.strip() for line in lines]
    removed = _furniture(stripped)
    notes = _footnotes(lines, stripped, removed)
    double = _double_spaced([line for i, line in enumerate(lines) if i not in removed])
    rows = _rows(lines, stripped, removed, double)
    # The upper quartile: headings and list items do not shorten the usual line.
    lengths = sorted(len(row[0]) for row in rows if row is not None)
    short = SHORT * lengths[len(lengths) * 3 // 4] if lengths else 0
    return _render(_blocks(rows, short), notes)


def take_title_line(text: str) -> tuple[str | None, str]:
    """The first line of the text if it reads as a title, and the text without it."""
    lines = text.replace("\f", "\n").split("\n")
    stripped = [line.strip() for line in lines]
    furniture = _furniture(stripped)
    for i, line in enumerate(stripped):
        if line and i not in furniture:
            if (len(line) <= TITLE_LEN and line[-1] not in ".,;-" and not _numbered(line)
                    and not URL_RE.match(line) and not BULLET_RE.match(line)):
                return line, "\n".join(lines[:i] + lines[i + 1:])
            break
    return None, text


def _numbered(line: str) -> int | None:
    """The heading level of a numbered heading "2. Title" (2) or "2.1 Title" (3), else None."""
    match = NUMBERED_RE.match(line)
    if not match or not (match.group(2) or "." in match.group(1)):
        return None
    rest = line[match.end():]
    if not rest[0].isupper() or rest[-1] in ".,;" or INNER_END_RE.search(rest):
        return None
    return min(2 + match.group(1).count("."), 4)


def _furniture(stripped: list[str]) -> set[int]:
    counts = Counter(s for s in stripped if 0 < len(s) <= FURNITURE_LEN and not _numbered(s))
    found = {i for i, s in enumerate(stripped) if s and counts[s] >= 3}
    for i, s in enumerate(stripped):
        if not PAGE_RE.match(s):
            continue
        found.add(i)
        j, taken = i - 1, 0
        while j >= 0 and taken < HEADER_LINES:
            line = stripped[j]
            if line:
                if len(line) > HEADER_LEN or line[-1] in ".!?:;,-" or _numbered(line):
                    break
                found.add(j)
                taken += 1
            j -= 1
    return found


def _double_spaced(lines: list[str]) -> bool:
    texts = [line.strip() for line in lines if line.strip()]
    spaced = [line.strip() for line, after in zip(lines, lines[1:]) if line.strip() and after == ""]
    # Text with one paragraph per line looks alike, but its lines end sentences; the lines of
    # double-spaced text mostly end in mid-sentence.
    ends = sum(bool(SENTENCE_END_RE.search(line)) for line in spaced)
    return len(spaced) >= DOUBLE_SPACED * len(texts) and ends < len(spaced) / 2


def _footnotes(lines: list[str], stripped: list[str], removed: set[int]) -> list[_Note]:
    """Take the footnote blocks out of the text (into `removed`) and mark their markers."""
    notes = []
    for rule, raw in enumerate(lines):
        if len(raw) < RULE_LEN or stripped[rule] or rule in removed:
            continue
        first = next((k for k in range(rule + 1, len(lines)) if stripped[k]), None)
        if first is None or not FOOTNOTE_RE.match(stripped[first]):
            continue
        block: list[list[str]] = []
        k = first
        while k < len(lines) and stripped[k]:
            match = FOOTNOTE_RE.match(stripped[k])
            if match:
                block.append([match.group(1), match.group(2)])
            else:
                block[-1][1] = join_lines(block[-1][1], stripped[k])
            k += 1
        end = k
        while k < len(lines) and (not stripped[k] or URL_RE.match(stripped[k])):
            if stripped[k]:
                if not any(stripped[k] in text for _, text in block):
                    block[-1][1] += " " + stripped[k]
                end = k + 1
            k += 1
        removed.update(range(rule, end))
        notes.extend(_Note(number, text, _mark(stripped, removed, number, rule))
                     for number, text in block)
    return notes


def _mark(stripped: list[str], removed: set[int], number: str, rule: int) -> int:
    """Turn the last marker of note `number` above line `rule` into [^number]; its line."""
    marker = re.compile(rf"(?<=[^\s\d]) ?{number}(?=[\s.,;:)]|$)")
    for i in range(rule - 1, max(rule - MARKER_REACH, 0) - 1, -1):
        matches = [] if i in removed else list(marker.finditer(stripped[i]))
        if matches:
            m = matches[-1]
            stripped[i] = f"{stripped[i][:m.start()]}[^{number}]{stripped[i][m.end():]}"
            return i
    return rule - 1


def _rows(lines, stripped, removed, double) -> list[tuple[str, int] | None]:
    """The text lines with their line numbers, and None for each paragraph break."""
    rows: list[tuple[str, int] | None] = []
    empties = 0
    for i, raw in enumerate(lines):
        if i in removed:
            continue
        if stripped[i]:
            empties = 0
            if len(rows) >= 2 and rows[-1] is None and _continues(rows[-2][0], stripped[i]):
                rows.pop()
            rows.append((stripped[i], i))
            continue
        empties += raw == ""
        if (not double or raw or empties >= 2) and rows and rows[-1] is not None:
            rows.append(None)
    if rows and rows[-1] is None:
        rows.pop()
    return rows


def _continues(before: str, line: str) -> bool:
    return not SENTENCE_END_RE.search(before) and line[0].islower()


def _starts_upper(line: str | None) -> bool:
    rest = OPENING_RE.sub("", line or "")
    return bool(rest) and (rest[0].isupper() or rest[0].isdigit())


def _heading(rows, i: int, short: float) -> tuple[int, str, int] | None:
    """(level, text, rows used) when row `i`, which starts a paragraph, is a heading."""
    line = rows[i][0]
    following = rows[i + 1][0] if i + 1 < len(rows) and rows[i + 1] is not None else None
    level = _numbered(line)
    if level:
        if following and (line.endswith("-")
                          or (following[0].islower() and len(following) < short)):
            return level, join_lines(line, following), 2
        return level, line, 1
    after = next((row[0] for row in rows[i + 1:i + 3] if row is not None), None)
    if not _starts_upper(line) or INNER_END_RE.search(line):
        return None
    if line.endswith(":") and _starts_upper(after):
        return 3, line[:-1].rstrip(), 1
    if (following and following.endswith(":") and len(following) < short
            and not SENTENCE_END_RE.search(line) and not INNER_END_RE.search(following)):
        beyond = next((row[0] for row in rows[i + 2:i + 4] if row is not None), None)
        if _starts_upper(beyond):
            return 3, join_lines(line, following)[:-1].rstrip(), 2
    # "Status: angenommen" is a field, not a heading.
    if (len(line) < short and line[-1] not in ".,;:!-–" and ": " not in line
            and _starts_upper(after)):
        return 3, line, 1
    return None


def _blocks(rows, short: float) -> list[list]:
    """[kind, text, first line, last line] of each paragraph, heading, list item and URL."""
    blocks: list[list] = []
    current = None
    i = 0
    while i < len(rows):
        if rows[i] is None:
            current, i = None, i + 1
            continue
        line, number = rows[i]
        heading = None
        if current is None or SENTENCE_END_RE.search(current[1]):
            heading = _heading(rows, i, short)
        bullet = BULLET_RE.match(line)
        if heading:
            level, text, used = heading
            blocks.append(["#" * level, text, number, rows[i + used - 1][1]])
            current, i = None, i + used
            continue
        if bullet:
            current = ["-", line[bullet.end():], number, number]
            blocks.append(current)
        elif URL_RE.match(line):
            blocks.append(["url", line, number, number])
            current = None
        elif current is None:
            current = ["p", line, number, number]
            blocks.append(current)
        else:
            current[1], current[3] = join_lines(current[1], line), number
        i += 1
    return blocks


def _render(blocks: list[list], notes: list[_Note]) -> str:
    # A note follows the block that holds its marker (-1: before the first block).
    attached: dict[int, list[_Note]] = {}
    for note in notes:
        at = max((k for k, block in enumerate(blocks) if block[2] <= note.line), default=-1)
        attached.setdefault(at, []).append(note)
    items = [("note", f"[^{n.number}]: {n.text}") for n in attached.get(-1, [])]
    for k, (kind, text, _, _) in enumerate(blocks):
        items.append((kind, text))
        items.extend(("note", f"[^{n.number}]: {n.text}") for n in attached.get(k, []))
    out = []
    for k, (kind, text) in enumerate(items):
        text = " ".join(text.split())
        if k:
            out.append("\n" if kind == "-" and items[k - 1][0] == "-" else "\n\n")
        out.append(f"- {text}" if kind == "-" else f"{kind} {text}" if kind[0] == "#" else text)
    return "".join(out) + "\n" if out else ""
