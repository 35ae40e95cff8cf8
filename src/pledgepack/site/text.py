"""A chapter's Markdown as HTML, with every pledge marked in place.

Anchors `[text](#id)` (and the `](id)` that lacks its `#`) become the pledge's text linking to
its page, coloured by status and followed by the status in words. Other links inside the site
would point nowhere on the site and are kept as text; links to other hosts stay plain links,
and images become links to them, so that a page never loads anything from elsewhere.
"""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markupsafe import escape

EXTERNAL = ("http://", "https://", "mailto:")

# Prose that Markdown leaves as it is: no character that starts inline markup (escapes, code,
# emphasis, links, images, autolinks, HTML, entities), and pledge anchors `[text](#id)`.
_PLAIN = r"[^\\`*_<>&\[\]!\s]|[ ]"
_ANCHOR = r"\[((?:" + _PLAIN + r"|\n)+)\]\(#([^\s()<>\\\[\]\"'%&`]+)\)"
_PARAGRAPH = re.compile(r"(?:" + _PLAIN + r"|\n|" + _ANCHOR + r")*")
_ANCHORS = re.compile(_ANCHOR)
# What may begin a line of a plain paragraph: nothing that opens a block (heading, quote,
# list, rule, code, HTML, table) or continues one.
_BLOCK_START = re.compile(r"[\s#>+\-*=_~`<|!\\]|\d+[.)]")


def _pledge_id(href: str, pledges: dict) -> str | None:
    # markdown-it percent-encodes the link; the ids are NFC text
    key = unicodedata.normalize("NFC", unquote(href[1:] if href.startswith("#") else href))
    return key if key in pledges else None


def make_renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False})

    def link_open(self, tokens, idx, options, env):
        href = tokens[idx].attrGet("href") or ""
        pid = _pledge_id(href, env["pledges"])
        if pid is not None:
            status, label, url = env["pledges"][pid]
            env["stack"].append(("pledge", pid))
            first = pid not in env["seen"]
            env["seen"].add(pid)
            anchor = f' id="text-{escape(pid)}"' if first else ""
            return (f'<span class="pledge s-{status}"{anchor}>'
                    f'<a href="{escape(url)}">')
        if href.startswith(EXTERNAL):
            env["stack"].append(("link", None))
            return f'<a href="{escape(href)}">'
        env["stack"].append(("text", None))
        return ""

    def link_close(self, tokens, idx, options, env):
        kind, pid = env["stack"].pop()
        if kind == "pledge":
            status, label, _ = env["pledges"][pid]
            return f'</a> <span class="badge s-{status}">{escape(label)}</span></span>'
        return "</a>" if kind == "link" else ""

    def image(self, tokens, idx, options, env):
        token = tokens[idx]
        alt = escape(self.renderInline(token.children or [], options, env)) or "image"
        src = token.attrGet("src") or ""
        return f'<a href="{escape(src)}">{alt}</a>' if src.startswith(EXTERNAL) else alt

    def heading_open(self, tokens, idx, options, env):
        level = min(6, int(tokens[idx].tag[1]) + env.get("shift", 1))
        return f"<h{level}>"

    def heading_close(self, tokens, idx, options, env):
        level = min(6, int(tokens[idx].tag[1]) + env.get("shift", 1))
        return f"</h{level}>\n"

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("link_close", link_close)
    md.add_render_rule("image", image)
    md.add_render_rule("heading_open", heading_open)
    md.add_render_rule("heading_close", heading_close)
    return md


def _plain_html(text: str, pledges: dict[str, tuple[str, str, str]]) -> tuple[str, str] | None:
    """What markdown-it makes of a text of plain paragraphs and pledge anchors, without
    parsing it; None when the text holds anything else."""
    if "\r" in text or "\0" in text:
        return None
    html, words, seen = [], [], set()
    for block in re.split(r"\n\n+", text.strip("\n")):
        if not block:
            continue
        lines = block.split("\n")
        if any(not line or line != line.strip() or _BLOCK_START.match(line) for line in lines):
            return None
        if not _PARAGRAPH.fullmatch(block):
            return None
        out, start = ["<p>"], 0
        for anchor in _ANCHORS.finditer(block):
            label, key = anchor[1], unicodedata.normalize("NFC", anchor[2])
            if key not in pledges:
                return None
            status, badge, url = pledges[key]
            first = key not in seen
            seen.add(key)
            words += [block[start:anchor.start()], label]
            out += [block[start:anchor.start()].replace('"', "&quot;"),
                    f'<span class="pledge s-{status}"',
                    f' id="text-{escape(key)}"' if first else "",
                    f'><a href="{escape(url)}">', label.replace('"', "&quot;"),
                    f'</a> <span class="badge s-{status}">{escape(badge)}</span></span>']
            start = anchor.end()
        words.append(block[start:])
        out += [block[start:].replace('"', "&quot;"), "</p>\n"]
        html.append("".join(out))
    return "".join(html), " ".join(" ".join(words).split())


def chapter_html(md: MarkdownIt, text: str,
                 pledges: dict[str, tuple[str, str, str]]) -> tuple[str, str]:
    """The chapter as HTML, and its words without markup (for the search index), from one
    parse. `pledges` maps an id to (status class, status label, URL of its page). The text's
    highest heading becomes h2, below the page's title. Plain prose with pledge anchors, the
    bulk of most chapters, is rendered without markdown-it, to the same HTML."""
    plain = _plain_html(text or "", pledges)
    if plain is not None:
        return plain
    env = {"pledges": pledges, "stack": [], "seen": set()}
    tokens = md.parse(text or "", env)
    levels = [int(t.tag[1]) for t in tokens if t.type == "heading_open"]
    env["shift"] = 2 - min(levels) if levels else 1
    words = [c.content for t in tokens if t.type == "inline"
             for c in t.children or [] if c.type == "text"]
    return md.renderer.render(tokens, md.options, env), " ".join(" ".join(words).split())
