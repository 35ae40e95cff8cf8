"""A chapter's Markdown as HTML, with every pledge marked in place.

Anchors `[text](#id)` (and the `](id)` that lacks its `#`) become the pledge's text linking to
its page, coloured by status and followed by the status in words. Other links inside the site
would point nowhere on the site and are kept as text; links to other hosts stay plain links,
and images become links to them, so that a page never loads anything from elsewhere.
"""
from __future__ import annotations

import unicodedata
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markupsafe import escape

EXTERNAL = ("http://", "https://", "mailto:")


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


def chapter_html(md: MarkdownIt, text: str,
                 pledges: dict[str, tuple[str, str, str]]) -> tuple[str, str]:
    """The chapter as HTML, and its words without markup (for the search index), from one
    parse. `pledges` maps an id to (status class, status label, URL of its page). The text's
    highest heading becomes h2, below the page's title."""
    env = {"pledges": pledges, "stack": [], "seen": set()}
    tokens = md.parse(text or "", env)
    levels = [int(t.tag[1]) for t in tokens if t.type == "heading_open"]
    env["shift"] = 2 - min(levels) if levels else 1
    words = [c.content for t in tokens if t.type == "inline"
             for c in t.children or [] if c.type == "text"]
    return md.renderer.render(tokens, md.options, env), " ".join(" ".join(words).split())
