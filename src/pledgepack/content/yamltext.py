"""Text and YAML primitives for reading content: decoding, front matter, safe YAML, values.

Front matter is split and loaded with python-frontmatter's YAML handler on a
libyaml loader that leaves dates as text (so a bad date gets a line number, not
a crash) and refuses aliases (so an alias bomb cannot explode).
"""
from __future__ import annotations

import re
import unicodedata

import frontmatter
import yaml

from ..errors import ERROR, Diagnostic

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# What frictionless accepts for format "uri": a scheme, then no white space.
URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
# An alias (*name) can only start a YAML node; used as a cheap test before the exact one.
ALIAS_HINT_RE = re.compile(r"(?:^|[\s\[{,:-])\*[^\s*]", re.MULTILINE)

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Loader(_BaseLoader):
    """Safe libyaml loader that leaves dates as text, so that we parse and report them."""


Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


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
        if ALIAS_HINT_RE.search(text):
            for event in yaml.parse(text, Loader=Loader):
                if isinstance(event, yaml.AliasEvent):
                    line = first_line + event.start_mark.line if event.start_mark else first_line
                    raise YamlProblem(line, "YAML aliases (*name) are not allowed",
                                      "write the value out instead of referring to an &anchor")
        return HANDLER.load(text)
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


def nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def parse_date(value) -> str | None:
    """A date written as YYYY-MM-DD, quoted or not, as ISO text; None or '' is no date.
    Raises ValueError for anything else, an impossible date included."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = value.strip()
        if DATE_RE.match(value):
            import datetime as dt

            return dt.date.fromisoformat(value).isoformat()
    raise ValueError(f"{value!r} is not a date")


def text_value(value) -> str | None:
    """Scalars as text; '' and None as None. Raises TypeError for lists, mappings, booleans."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (bool, list, dict)):
        raise TypeError(f"{value!r} is not text")
    return str(value)


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
