"""Text and YAML primitives for reading content: decoding, front matter, safe YAML, values.

Front matter is split at python-frontmatter's boundary lines and loaded with a
libyaml loader that leaves every plain scalar as the text written (so `2.10` stays
"2.10", and a bad date gets a line number, not a crash), refuses explicit tags and
duplicate keys, and refuses aliases and deep nesting before the composer sees them
(so an alias bomb cannot explode and a deep list cannot crash the process).

Chapters go first to a faster loader (yaml-rs, YAML 1.2) behind a guard: `load_front_matter`
takes its result only where it can show that the libyaml loader would give the very same
values, and hands every other text (tags, anchors, aliases, escapes, flow collections, numbers
or booleans not written the plain way, duplicate keys, deep nesting, any error) to
`load_yaml`, which words every message as before.
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
BOUNDARY_RE = frontmatter.YAMLHandler.FM_BOUNDARY
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
    """(front matter, its first line, body, offset of the body), or None without front matter.
    The same cut as python-frontmatter's `FM_BOUNDARY.split(text, 2)`, found by looking only at
    lines that start with '---' instead of running the pattern over the whole text."""
    opening = BOUNDARY_RE.match(text)
    if opening is None:
        return None
    start = opening.end()
    closing = BOUNDARY_RE.match(text, start) if text[start - 1:start] == "\n" else None
    at = start
    while closing is None:
        at = text.find("\n---", at)
        if at == -1:
            return None
        at += 1
        closing = BOUNDARY_RE.match(text, at)
    fm = text[start:closing.start()]
    fm_line = text.count("\n", 0, start) + 1 if fm else 2
    return fm, fm_line, text[closing.end():], closing.end()


def load_yaml(text: str, first_line: int):
    """Parse YAML text that starts at `first_line` of its file; raise YamlProblem on bad input."""
    try:
        if ("*" in text and ALIAS_HINT_RE.search(text)) or DEEP_HINT_RE.search(text) or \
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


# --- the fast path --------------------------------------------------------------------------

# Where yaml-rs (YAML 1.2) and the loader above could read a text differently, or where only
# the loader above refuses it with a line number: the text goes to load_yaml instead.
# Tags, anchors, aliases, directives and reserved characters where they start a token, merge
# keys, tabs, CR, BOM, escapes, characters libyaml refuses or reads as line breaks, explicit
# keys, document markers, block scalars with an indentation indicator, and flow collections
# other than [] and {}.
UNSURE_YAML_RE = re.compile(
    r"[\t\r\\\ufeff\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]|<<"
    r"|(?:^|(?<=[\s\[{,:?-]))[!&*%@`]"
    r"|^[ ]*(?:\?|---|\.\.\.)(?:[ ]|$)|[|>][-+]?[0-9]"
    r"|(?:^|(?<=[\s,:]))[\[{](?![\]}])",
    re.MULTILINE)
# A plain scalar that YAML 1.2 reads as a number or a boolean not written the one way that
# str() gives back (`03`, `+3`, `1.0`, `0x1F`, `1_000`, `.inf`, `True`): the loader above keeps
# the text as written, which cannot be told from yaml-rs's value.
_SCALAR = (
    r"(?!(?:0|[1-9][0-9]*|true|false)[ ]*(?:$|#|[,\]}]))"
    r"(?:[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?0[xXoObB][0-9a-fA-F_]+|[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)"
    r"|True|TRUE|False|FALSE)"
    r"[ ]*(?:$|#|[,\]}])")
UNSURE_SCALAR_RE = re.compile(r"(?:^|(?<=[\s\[{,:]))" + _SCALAR, re.MULTILINE)

# The same two tests, cut into pieces that each start with a character class or a literal (which
# the regular expression engine scans for quickly), each run only where a plain `in` test finds
# a character it needs. Together they say exactly what the two patterns above say (a test holds
# them to it), at a tenth of the cost: the two patterns, run as they are, took nine times as
# long as yaml-rs's parse itself.
_CHAR_RE = re.compile(
    r"[\t\r\\\ufeff\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_TOKEN_START_RE = re.compile(r"[!&*%@`](?<![^\s\[{,:?-].)")
_LINE_RE = re.compile(r"\n[ ]*(?:\?|---|\.\.\.)(?:[ ]|$)", re.MULTILINE)
_BLOCK_INDENT_RE = re.compile(r"[|>][-+]?[0-9]")
_FLOW_RE = re.compile(r"[\[{](?<![^\s,:].)(?![\]}])")
# The scalar test starts at the scalar's first character, which is rarer than the white space
# before it (the engine skips to it), then looks back at what precedes it, and what follows
# it (a sign or a T/F that cannot start a number or a boolean), and only then runs _SCALAR
# from it: half the time of the same test started at the white space.
_SCALAR_RE = re.compile(r"[-+.0-9TF](?<=[\s\[{,:].)(?:(?<=[-+])(?=[0-9.])|(?<=[.0-9])"
                        r"|(?<=T)(?=rue|RUE)|(?<=F)(?=alse|ALSE))(?<=(?=" + _SCALAR + r").)",
                        re.MULTILINE)


def unsure_text(text: str) -> bool:
    """Whether UNSURE_YAML_RE or UNSURE_SCALAR_RE finds something in `text`."""
    if "<<" in text or _CHAR_RE.search(text):
        return True
    if ("!" in text or "&" in text or "*" in text or "%" in text or "@" in text
            or "`" in text) and _TOKEN_START_RE.search(text):
        return True
    lined = "\n" + text  # a line start is then always after a line break
    if ("?" in text or "---" in text or "..." in text) and _LINE_RE.search(lined):
        return True
    if ("|" in text or ">" in text) and _BLOCK_INDENT_RE.search(text):
        return True
    if ("[" in text or "{" in text) and _FLOW_RE.search(text):
        return True
    return _SCALAR_RE.search(lined) is not None


UNSURE = object()


class _Unsure(Exception):
    """The fast loader's result cannot be shown to equal the reference loader's."""


def load_front_matter(text: str, first_line: int):
    """The front matter's value, exactly as load_yaml gives it (raising YamlProblem as it does),
    read by yaml-rs where the guard allows."""
    value = fast_load(text)
    return load_yaml(text, first_line) if value is UNSURE else value


def fast_load(text: str):
    """The value of `text` read by yaml-rs as load_yaml would read it, or UNSURE."""
    if not text.endswith("\n") or unsure_text(text):
        return UNSURE
    try:
        value = _yaml_rs().loads(text, parse_datetime=False)
        if value is None:
            return None
        # A document that is one scalar is no front matter: the reference loader words why
        # (yaml-rs also reads `|` then `""` as a text, where libyaml finds no document start).
        if type(value) not in (dict, list):
            return UNSURE
        value = _as_text(value, 1)
    except Exception:  # noqa: BLE001 - whatever yaml-rs raised, the reference loader decides
        # (it raised TypeError on `- ? : :`, a mapping as a key, which crashed the build)
        return UNSURE
    # yaml-rs gives an empty block scalar (`x: |`, `- >`) at the very end of the text a line
    # break, where libyaml gives "" (YAML's clip chomping keeps no break of empty content);
    # elsewhere the two agree. The last scalar of the text is its last value's last value.
    last = value
    while last and type(last) in (dict, list):
        last = next(reversed(last.values())) if type(last) is dict else last[-1]
    if type(last) is str and last.isspace():
        return UNSURE
    return value


_YAML_RS = None


def _yaml_rs():
    global _YAML_RS
    if _YAML_RS is None:
        import yaml_rs

        _YAML_RS = yaml_rs
    return _YAML_RS


def _scalar(value):
    """A scalar of yaml-rs as the reference loader's text: None stays None, an int or a
    boolean is the text it was written as (the guard let only that spelling through)."""
    kind = type(value)
    if kind is str or value is None:
        return value
    if kind is int:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    raise _Unsure


def _as_text(node, depth: int):
    """Turn yaml-rs's values into the reference loader's, in place; refuse what is deeper than
    MAX_DEPTH (the reference loader then words the error) and keys that become equal."""
    if depth > MAX_DEPTH:
        raise _Unsure
    if type(node) is dict:
        for key in node:  # a loop, not all(...): a third of the time on small mappings
            # A key yaml-rs typed is left to the reference loader. Unlike values, keys pass no
            # guard, so `1_0:`, `00:` or `False:` would come back as "10", "0" or "false",
            # where the reference loader keeps the text as written; and yaml-rs reads a line
            # that starts with ": " as a value under an empty key, where libyaml finds the
            # mapping's key missing (and the editor learns the line).
            if type(key) is not str:
                raise _Unsure
        for key, value in node.items():
            kind = type(value)
            if kind is str or value is None:
                continue
            node[key] = _as_text(value, depth + 1) if kind in (dict, list) else _scalar(value)
        return node
    for index, value in enumerate(node):
        kind = type(value)
        if kind is str or value is None:
            continue
        node[index] = _as_text(value, depth + 1) if kind in (dict, list) else _scalar(value)
    return node
