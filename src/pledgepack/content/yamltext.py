"""Text and YAML primitives for reading content: decoding, front matter, safe YAML, values.

Front matter is split and loaded with python-frontmatter's YAML handler on a
libyaml loader that leaves every plain scalar as the text written (so `2.10` stays
"2.10", and a bad date gets a line number, not a crash), refuses explicit tags and
duplicate keys, and refuses aliases and deep nesting before the composer sees them
(so an alias bomb cannot explode and a deep list cannot crash the process).
"""
from __future__ import annotations

import re
import unicodedata

import frontmatter
import yaml

from ..errors import ERROR, Diagnostic

DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
INT_RE = re.compile(r"[-+]?[0-9]+")
INT64 = 2**63
TRUE, FALSE = frozenset({"true", "yes", "on"}), frozenset({"false", "no", "off"})
# What frictionless accepts for format "uri": a scheme, then no white space.
URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
# An alias (*name) can only start a YAML node; used as a cheap test before the exact one.
ALIAS_HINT_RE = re.compile(r"(?:^|[\s\[{,:-])\*[^\s*]", re.MULTILINE)

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NULL = "tag:yaml.org,2002:null"
_STR, _SEQ, _MAP = ("tag:yaml.org,2002:str", "tag:yaml.org,2002:seq",
                    "tag:yaml.org,2002:map")
# Deeper than this, libyaml's composer (which recurses in C) could crash the process; no real
# front matter comes near it.
MAX_DEPTH = 64
# Cheap signs that a text may nest deeply, before the exact test on the parser's events.
DEEP_HINT_RE = re.compile(r"(?:[-?:][ \t]+){12}|^[ \t]{48,}\S", re.MULTILINE)
CONFLICT_RE = re.compile(r"^(?:<{7}|>{7})(?: |$)", re.MULTILINE)


class Refused(yaml.MarkedYAMLError):
    """YAML that parses but that the content format does not allow (with a hint)."""

    def __init__(self, mark, problem: str, hint: str):
        super().__init__(problem=problem, problem_mark=mark)
        self.hint = hint


class Loader(_BaseLoader):
    """Safe libyaml loader for the content. YAML 1.1 would turn plain `2.10` into 2.1, `1:20`
    into 80, `1_000` into 1000, `no` into False and dates into dates; here every plain scalar
    but null stays the text as written, and the reader converts the few fields that are numbers,
    booleans or dates, with a line number when they are not. Explicit tags (`!!set`,
    `!!binary`, `!!float`) and duplicate keys are refused."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value in seen:
                        raise Refused(key_node.start_mark, f"duplicate key {key_node.value!r}",
                                      "a key can appear only once in a mapping; remove one, or "
                                      "merge them")
                    seen.add(key_node.value)
        return super().construct_mapping(node, deep)

    def refuse_tag(self, node):
        raise Refused(node.start_mark, f"YAML tag {node.tag!r} is not allowed",
                      "write the value without a '!!' tag (quote it to keep it as text)")


Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag == _NULL]
    for key, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
Loader.yaml_constructors = {tag: fn for tag, fn in _BaseLoader.yaml_constructors.items()
                            if tag in (_NULL, _STR, _SEQ, _MAP)}
Loader.yaml_constructors[None] = Loader.refuse_tag
Loader.yaml_multi_constructors = {}


class _Handler(frontmatter.YAMLHandler):
    def load(self, fm, **kwargs):
        kwargs["Loader"] = Loader
        return super().load(fm, **kwargs)


HANDLER = _Handler()


class YamlProblem(Exception):
    def __init__(self, line: int | None, message: str, hint: str):
        super().__init__(message)
        self.line, self.message, self.hint = line, message, hint


def decode(raw: bytes, display: str, diagnostics: list[Diagnostic]) -> str | None:
    """UTF-8 text of a file with \\n line ends, or None with an error naming the first bad byte."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        line = raw.count(b"\n", 0, start) + 1
        diagnostics.append(Diagnostic(
            display, line, ERROR, f"not UTF-8: byte 0x{raw[start]:02x} cannot be decoded",
            "save the file as UTF-8 (in most editors: 'Save with encoding')"))
        return None
    return text.replace("\r\n", "\n") if "\r" in text else text


def split_front_matter(text: str) -> tuple[str, int, str, int] | None:
    """(front matter, its first line, body, offset of the body), or None without front matter."""
    if not HANDLER.detect(text):
        return None
    try:
        fm, body = HANDLER.split(text)
    except ValueError:
        return None
    fm_line = text.count("\n", 0, text.index(fm)) + 1 if fm else 2
    return fm, fm_line, body, len(text) - len(body)


def load_yaml(text: str, first_line: int):
    """Parse YAML text that starts at `first_line` of its file; raise YamlProblem on bad input."""
    try:
        if ALIAS_HINT_RE.search(text) or DEEP_HINT_RE.search(text) or \
                text.count("[") + text.count("{") > MAX_DEPTH:
            _check_events(text, first_line)
        return HANDLER.load(text)
    except Refused as exc:
        line = first_line + exc.problem_mark.line if exc.problem_mark else first_line
        raise YamlProblem(line, exc.problem, exc.hint) from None
    except yaml.MarkedYAMLError as exc:
        # For an unclosed [..], {..} or quote, libyaml gives up far below; the opening is the
        # place to fix. Otherwise (indentation, a stray colon) the problem mark is the place.
        opened = exc.context and ("flow" in exc.context or "quoted" in exc.context)
        mark = (exc.context_mark if opened else exc.problem_mark) or exc.context_mark
        line = first_line + mark.line if mark else None
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise YamlProblem(line, f"invalid YAML: {message}",
                          "check indentation, the colon after each key, and quote text that "
                          "contains ': ' or starts with a special character") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(first_line, f"invalid YAML: {exc}", "fix the YAML syntax") from None
    except RecursionError:
        raise YamlProblem(first_line, "YAML nested too deeply", "flatten the structure") from None


def _check_events(text: str, first_line: int) -> None:
    """Refuse aliases and nesting deeper than MAX_DEPTH, from the parser's events (which come
    from a loop, not a recursion, so that any depth is safe to look at)."""
    depth = 0
    for event in yaml.parse(text, Loader=Loader):
        if isinstance(event, yaml.AliasEvent):
            line = first_line + event.start_mark.line if event.start_mark else first_line
            raise YamlProblem(line, "YAML aliases (*name) are not allowed",
                              "write the value out instead of referring to an &anchor")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlProblem(first_line + event.start_mark.line,
                                  f"YAML nested more than {MAX_DEPTH} levels deep",
                                  "flatten the structure: a statement needs two or three levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def conflict_line(text: str) -> int | None:
    """The line of the first unresolved merge-conflict marker (<<<<<<< or >>>>>>>), if any."""
    match = CONFLICT_RE.search(text) if "<<<<<<<" in text or ">>>>>>>" in text else None
    return text.count("\n", 0, match.start()) + 1 if match else None


def nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def parse_date(value) -> str | None:
    """A date written as YYYY-MM-DD, quoted or not, as ISO text; None or '' is no date.
    Raises ValueError for anything else, an impossible date included."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = value.strip()
        if DATE_RE.fullmatch(value):
            import datetime as dt

            return dt.date.fromisoformat(value).isoformat()
    raise ValueError(f"{value!r} is not a date")


def text_value(value) -> str | None:
    """Text as written; '' and None as None. Raises TypeError for lists and mappings."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    raise TypeError(f"{value!r} is not text")


def int_value(value) -> int | None:
    """A whole number written as digits (within 64 bits); None for none. Raises ValueError."""
    if value is None:
        return None
    if isinstance(value, str) and INT_RE.fullmatch(value.strip()):
        number = int(value)
        if -INT64 <= number < INT64:
            return number
    raise ValueError(f"{value!r} is not a whole number")


def bool_value(value, default: bool) -> bool:
    """true/false (and YAML 1.1's yes/no, on/off, as Jekyll reads them). Raises ValueError."""
    if value is None:
        return default
    if isinstance(value, str) and value.strip().lower() in TRUE | FALSE:
        return value.strip().lower() in TRUE
    raise ValueError(f"{value!r} is not true or false")


class Lines:
    """Line numbers inside the front matter, worked out only when a message needs one."""

    def __init__(self, fm: str, first_line: int):
        self.fm, self.first_line = fm, first_line
        self._entries: list[int] | None = None

    def key(self, key: str) -> int:
        match = re.search(rf"^{re.escape(key)}\s*:", self.fm, re.MULTILINE)
        return self.first_line + (self.fm.count("\n", 0, match.start()) if match else 0)

    def entry(self, index: int, key: str | None = None) -> int:
        """Line of the index-th item of 'statements:', or of its `key` field."""
        if self._entries is None:
            self._entries = self._entry_lines()
        if index >= len(self._entries):
            return self.key("statements")
        start = self._entries[index]
        if key is None:
            return start
        end = self._entries[index + 1] if index + 1 < len(self._entries) else None
        rows = self.fm.split("\n")[start - self.first_line:
                                   None if end is None else end - self.first_line]
        for offset, row in enumerate(rows):
            if re.match(rf"^\s*(-\s+)?{re.escape(key)}\s*:", row):
                return start + offset
        return start

    def id_line(self, sid: str) -> int:
        """Line of the entry whose id is `sid`, or of 'statements:' when not found."""
        pattern = rf"^\s*(-\s+)?id\s*:\s*['\"]?{re.escape(sid)}['\"]?\s*$"
        for offset, row in enumerate(self.fm.split("\n")):
            if re.match(pattern, nfc(row)):
                return self.first_line + offset
        return self.key("statements")

    def _entry_lines(self) -> list[int]:
        out, inside, indent = [], False, None
        for i, row in enumerate(self.fm.split("\n")):
            if not inside:
                inside = row.startswith("statements:")
                continue
            stripped = row.lstrip(" ")
            if not stripped or stripped.startswith("#"):
                continue
            depth = len(row) - len(stripped)
            if depth == 0 and not stripped.startswith("-"):
                break
            if stripped.startswith("-") and stripped[1:2] in ("", " ") and indent in (None, depth):
                indent = depth
                out.append(self.first_line + i)
        return out
