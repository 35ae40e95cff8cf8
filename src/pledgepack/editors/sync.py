"""Add a front-matter entry for every anchor of a chapter that has none (`pledgepack sync`).

The front matter is edited as text: new lines go in and nothing else moves, so
comments, quoting, key order and line ends stay as the editors wrote them.
Dumping the parsed YAML again would lose all of that.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# Sync must see exactly the anchors and YAML the build sees.
from ..content.chapter import find_anchors
from ..content.yamltext import (
    HANDLER,
    Lines,
    Loader,
    YamlProblem,
    decode,
    load_yaml,
    nfc,
    parse_date,
    split_front_matter,
    text_value,
)
from ..errors import ERROR, Diagnostic, PledgepackError

NEW_STATUS = "not_implemented"
PLAIN_ID_RE = re.compile(r"\w[\w.-]*")
# JSON leaves these raw, but YAML rejects them in a stream or folds them as line breaks.
UNSAFE_IN_YAML_RE = re.compile("[\x7f-\x9f\u2028\u2029\ufffe\uffff]")
BLOCK_STYLE_HINT = ("write 'statements:' in block style, one '  - id: ...' item per statement, "
                    "then run sync again")


@dataclass(slots=True)
class SyncResult:
    """What sync did or would do to one chapter. `text` is the new file content, or None when
    the file stays as it is (nothing to add, or an error in `diagnostics`)."""

    path: Path
    added: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    text: str | None = None

    @property
    def changed(self) -> bool:
        return self.text is not None

    @property
    def ok(self) -> bool:
        return not any(d.severity == ERROR for d in self.diagnostics)


def sync_files(paths: Iterable[Path], date: str | None = None,
               check: bool = False) -> list[SyncResult]:
    """Sync each chapter file (folders stand for the *.md files under them); write the changed
    files unless `check`. `date` (YYYY-MM-DD, default today) becomes the new entries'
    last_update."""
    date = _valid_date(date)
    results = []
    for path in _chapter_files(paths):
        result = sync_chapter(path, date)
        if result.changed and not check:
            try:
                path.write_bytes(result.text.encode("utf-8"))
            except OSError as exc:
                result.diagnostics.append(Diagnostic(str(path), None, ERROR,
                                                     f"cannot write the file: {exc.strerror}",
                                                     "check the file's permissions"))
        results.append(result)
    return results


def sync_chapter(path: Path, date: str | None = None) -> SyncResult:
    """The chapter's text with an entry added to 'statements:' for every anchor that has none.
    Nothing is written here."""
    date = _valid_date(date)
    result = SyncResult(path)
    display, diags = str(path), result.diagnostics

    def error(line: int | None, message: str, hint: str) -> SyncResult:
        diags.append(Diagnostic(display, line, ERROR, message, hint))
        return result

    try:
        raw = path.read_bytes()
    except OSError as exc:
        return error(None, f"cannot read the file: {exc.strerror}", "check the path")
    text = decode(raw, display, diags)
    if text is None:
        return result
    parts = split_front_matter(text)
    if parts is None:
        return error(1, "no YAML front matter", "start the file with a '---' line, the front "
                     "matter (title, statements), and a closing '---' line")
    fm, fm_line, _, body_start = parts
    anchors = find_anchors(text, body_start, display, diags)
    try:
        meta = load_yaml(fm, fm_line)
    except YamlProblem as exc:
        return error(exc.line, exc.message, exc.hint)
    meta = {} if meta is None else meta
    if not isinstance(meta, dict):
        return error(fm_line, "front matter is not a mapping of keys",
                     "write the front matter as 'key: value' lines")
    existing = meta.get("statements")
    if existing is not None and not isinstance(existing, list):
        return error(Lines(fm, fm_line).key("statements"), "'statements' must be a list",
                     BLOCK_STYLE_HINT)
    known = _known_ids(existing or [])
    new: dict[str, str] = {}
    for sid, quote, _, _ in anchors:
        if sid not in known:
            # An empty anchor text would leave the statement without a summary.
            new.setdefault(sid, quote or sid)
    if not new:
        return result
    fm_start = HANDLER.FM_BOUNDARY.match(text).end()
    try:
        edits = _edits(fm, fm_line, list(new.items()), date)
    except YamlProblem as exc:
        return error(exc.line, exc.message, exc.hint)
    new_text = _apply(raw.decode("utf-8"), text,
                      [(fm_start + start, fm_start + end, lines) for start, end, lines in edits])
    entries = [{"id": sid, "last_update": date, "status": NEW_STATUS, "summary": summary}
               for sid, summary in new.items()]
    if not _reads_back(new_text, {**meta, "statements": (existing or []) + entries}):
        return error(Lines(fm, fm_line).key("statements"),
                     "cannot add the statements without changing other front matter",
                     "add them by hand: " + ", ".join(new))
    result.added, result.text = list(new), new_text
    return result


def _valid_date(date: str | None) -> str:
    if date is None:
        return dt.date.today().isoformat()
    try:
        value = parse_date(date)
    except ValueError:
        value = None
    if value is None:
        raise PledgepackError(f"date {date!r} is not a date in the form YYYY-MM-DD")
    return value


def _chapter_files(paths: Iterable[Path]) -> list[Path]:
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.md") if p.is_file() and not any(
                part.startswith(".") for part in p.relative_to(path).parts)))
        else:
            files.append(path)
    return files


def _known_ids(entries: list) -> set[str]:
    ids = set()
    for raw in entries:
        if isinstance(raw, dict):
            try:
                sid = text_value(raw.get("id"))
            except TypeError:
                continue
            if sid:
                ids.add(nfc(sid))
    return ids


def _edits(fm: str, fm_line: int, entries: list[tuple[str, str]],
           date: str) -> list[tuple[int, int, str]]:
    """(start, end, replacement) edits of the front matter text, with \\n line ends."""
    root = yaml.compose(fm, Loader=Loader)
    if root is not None and root.flow_style:
        raise YamlProblem(fm_line + root.start_mark.line, "the front matter is written in flow "
                       "style ({...}) and cannot be edited line by line",
                       "write it as 'key: value' lines")
    key = node = None
    for k, v in root.value if root is not None else ():
        if k.value == "statements":
            key, node = k, v  # the last one wins, as when loading
    if node is None:
        indent = root.start_mark.column if root is not None else 0
        end = len(fm)  # the start of the closing '---' line
        return [(end, end, " " * indent + "statements:\n"
                 + _block(entries, indent + 2, indent + 4, date))]
    if isinstance(node, yaml.SequenceNode) and node.value:
        if node.flow_style:
            raise YamlProblem(fm_line + node.start_mark.line, "'statements' is written in flow "
                           "style ([...]) and cannot be edited line by line", BLOCK_STYLE_HINT)
        item = node.value[-1]
        dash = node.start_mark.column
        fields = (item.start_mark.column if isinstance(item, yaml.MappingNode)
                  and not item.flow_style else 0)
        at = _line_end(fm, _last_leaf(item).end_mark.index)
        return [(at, at, _block(entries, dash, max(fields, dash + 2), date))]
    # `[]`, `~` or nothing: the token goes (with the spaces before it), the block follows its line.
    start, end = node.start_mark.index, node.end_mark.index
    if start < end:
        while fm[start - 1] in " \t":
            start -= 1
    indent = key.start_mark.column
    at = _line_end(fm, end)
    return [(start, end, ""), (at, at, _block(entries, indent + 2, indent + 4, date))]


def _last_leaf(node: yaml.Node) -> yaml.Node:
    """The node that ends a block item: a block collection's end mark lies on the next item."""
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.value \
            and not node.flow_style:
        node = node.value[-1][1] if isinstance(node, yaml.MappingNode) else node.value[-1]
    return node


def _line_end(text: str, index: int) -> int:
    """The start of the line after the one holding `index`; `index` itself at a line start
    (a block scalar ends after its line break)."""
    if index == 0 or text[index - 1] == "\n":
        return index
    return text.index("\n", index) + 1


def _block(entries: list[tuple[str, str]], dash: int, fields: int, date: str) -> str:
    pad, lines = " " * fields, []
    for sid, summary in entries:
        lines += [" " * dash + "-" + " " * (fields - dash - 1) + "id: " + _id_scalar(sid),
                  f"{pad}last_update: '{date}'", f"{pad}status: {NEW_STATUS}",
                  f"{pad}summary: {_quoted(summary)}"]
    return "".join(line + "\n" for line in lines)


def _id_scalar(sid: str) -> str:
    """Plain like the hand-written ids, unless YAML would read it as something else."""
    if PLAIN_ID_RE.fullmatch(sid) and yaml.safe_load(sid) == sid:
        return sid
    return _quoted(sid)


def _quoted(text: str) -> str:
    # JSON's string syntax is a subset of YAML's double-quoted scalars.
    return UNSAFE_IN_YAML_RE.sub(lambda m: f"\\u{ord(m.group()):04x}",
                                 json.dumps(text, ensure_ascii=False))


def _apply(raw: str, text: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply edits made on the LF-only text to the file's own text, keeping its BOM and CRLFs."""
    bom = "\ufeff" if raw.startswith("\ufeff") else ""
    body = raw[len(bom):]
    spans = [(_raw_offset(body, text, start), _raw_offset(body, text, end), new)
             for start, end, new in edits]
    for start, end, new in sorted(spans, reverse=True):
        eol = "\r\n" if body.endswith("\r\n", 0, start) else "\n"
        body = body[:start] + new.replace("\n", eol) + body[end:]
    return bom + body


def _raw_offset(raw: str, text: str, index: int) -> int:
    line = text.count("\n", 0, index)
    return index + sum(part.endswith("\r") for part in raw.split("\n", line)[:line])


def _reads_back(new_text: str, expected: dict) -> bool:
    """Whether the edited front matter loads as the old one plus the new entries."""
    fm, fm_line, _, _ = split_front_matter(new_text.lstrip("\ufeff").replace("\r\n", "\n"))
    try:
        return load_yaml(fm, fm_line) == expected
    except YamlProblem:
        return False
