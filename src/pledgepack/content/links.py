"""The pledges marked in a chapter's body: every link to a fragment, `[text](#id)`.

Most chapters hold only plain links, which one regular expression reads exactly. Where a body
holds anything that expression cannot decide (brackets or markup in a link text, escapes, a
link title, an angle-bracket destination, reference-style links, HTML, code), the body is read
by a CommonMark parser (markdown-it-py) instead, so that no link to a fragment is lost: each
is a pledge, or a warning saying why it cannot be one.
"""
from __future__ import annotations

import re

# [text](#id): a text without brackets; an id without whitespace or parentheses.
ANCHOR_RE = re.compile(r"\[([^\[\]]*)\]\(#([^()\s]+)\)")
# What an id may hold to be an anchor in a page's address, and to sit in a code span of the
# changelog: the rule of the build and of lint alike.
ANCHOR_ID_RE = re.compile(r"[^\s()\[\]#/?\"'<>\\`]+")
# Anywhere in a body, these may change what is a link: escapes, HTML, code, images,
# reference definitions and uses, indented code.
UNSURE_RE = re.compile(r"[\\<`]|~~~|!\[|\]:|\]\[|^(?: {4}|\t)", re.MULTILINE)
# In a link's text or id, these would be read otherwise by CommonMark (emphasis, entities).
UNSURE_ANCHOR_RE = re.compile(r"\[[^\[\]]*[*_&][^\[\]]*\]\(#[^()\s]+\)"
                              r"|\[[^\[\]]*\]\(#[^()\s]*[*_&\[\]#/?\"'<>\\`][^()\s]*\)")
SPACE_RE = re.compile(r"\s+")
# An HTML link to a fragment, which CommonMark passes through as raw HTML.
HTML_LINK_RE = re.compile(r"""<a\s[^>]*?href\s*=\s*["']?#([^"'\s>]*)""", re.IGNORECASE)

Anchor = tuple[str, str, int, int | None]   # id, quote, line, column
Problem = tuple[int, int | None, str, str]  # line, column, message, hint


def unsure_body(body: str) -> bool:
    """Whether UNSURE_RE finds something in `body`, told by substring tests alone: a line that
    starts with four spaces or a tab follows a line break (or the start, hence the one added)."""
    return ("\\" in body or "<" in body or "`" in body or "~~~" in body or "![" in body
            or "]:" in body or "][" in body or "\n    " in "\n" + body or "\n\t" in "\n" + body)


def plain(body: str) -> bool:
    """Whether the regular expression alone reads every link to a fragment in `body` as
    CommonMark would."""
    return plain_anchors(body) is not None


# What UNSURE_ANCHOR_RE looks for inside one ANCHOR_RE match's id.
_UNSURE_ID_RE = re.compile(r"[*_&\[\]#/?\"'<>\\`]")


def plain_anchors(body: str) -> list[re.Match] | None:
    """Every ANCHOR_RE match in `body`, in order, where they are all its links to a fragment as
    CommonMark reads them (plain); None where only CommonMark can tell."""
    if "](" not in body and "]:" not in body and "<" not in body:
        return []  # no link at all: nothing to decide
    if unsure_body(body):
        return None
    found = list(ANCHOR_RE.finditer(body))
    if body.count("](#") != len(found) or "](<" in body:
        return None
    if found:
        # UNSURE_ANCHOR_RE, told from the matches: a link text holds no bracket, so every
        # place that pattern matches at is a match of ANCHOR_RE with an unsure text or id.
        texts = "\0".join([m.group(1) for m in found])
        if "*" in texts or "_" in texts or "&" in texts:
            return None
        if _UNSURE_ID_RE.search("\0".join([m.group(2) for m in found])):
            return None
    return found


def fragment_links(body: str, first_line: int) -> tuple[list[Anchor], list[Problem]]:
    """(anchors, problems) of a body that starts at `first_line` of its file, read with
    CommonMark."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")
    md.normalizeLink = lambda url: url  # keep the id as written, not percent-encoded
    md.validateLink = lambda url: True
    anchors: list[Anchor] = []
    problems: list[Problem] = []
    for token in md.parse(body):
        if token.type == "html_block":
            _html_links(token.content, first_line + token.map[0], problems)
        if token.type != "inline" or not token.children:
            continue
        line = start = first_line + token.map[0]
        inside: list | None = None
        href = ""
        for child in token.children:
            if child.type in ("softbreak", "hardbreak"):
                line += 1
            if inside is not None:
                if child.type == "link_close":
                    _fragment(href, SPACE_RE.sub(" ", "".join(inside)).strip(), start, anchors,
                              problems)
                    inside = None
                else:
                    inside.append(_source(child))
            elif child.type == "link_open":
                href = str(child.attrs.get("href", ""))
                inside = [] if href.startswith("#") else None
                start = line
            elif child.type == "html_inline":
                _html_links(child.content, line, problems)
    return anchors, problems


def _source(token) -> str:
    """A token of a link's text as written: emphasis and code keep their marks, so that the
    quote is the text the editors wrote (escapes are resolved: `\\[1\\]` reads `[1]`)."""
    if token.type in ("softbreak", "hardbreak"):
        return " "
    if token.type.endswith(("_open", "_close")):
        return token.markup
    if token.type == "code_inline":
        return token.markup + token.content + token.markup
    if token.type == "image":
        return f"![{token.content}]({token.attrs.get('src', '')})"
    return token.content


def _fragment(href: str, quote: str, line: int, anchors: list[Anchor],
              problems: list[Problem]) -> None:
    sid = href[1:]
    if ANCHOR_ID_RE.fullmatch(sid):
        # The column is left out: after escapes and nested brackets it is not worth guessing.
        anchors.append((sid, quote, line, None))
    else:
        problems.append((line, None, f"link to {href!r} cannot mark a pledge: its id is empty "
                                     "or holds white space or one of ()[]#/?\"'<>\\`",
                         "give the pledge an id of letters, digits, '-' and '_'"))


def _html_links(html: str, line: int, problems: list[Problem]) -> None:
    for match in HTML_LINK_RE.finditer(html):
        sid = match.group(1)
        problems.append((line + html.count("\n", 0, match.start()), None,
                         f"HTML link to #{sid} is not read as a pledge",
                         f"write the pledge as [text](#{sid}) in Markdown"))
