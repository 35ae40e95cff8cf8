"""Markdown text helpers for the documents of a release: escaping, links, tables."""
from __future__ import annotations

import re

# Characters that would start markup in titles and descriptions: <document_id> would vanish
# as an HTML tag, [text](#id) would turn into a link, | would split a table row.
MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])")


def text(value) -> str:
    return MD_SPECIAL.sub(r"\\\1", str(value))


def cell(value) -> str:
    """Text for one table cell: a raw newline would end the row, so it becomes <br>."""
    lines = re.split(r"\r\n|\r|\n", "" if value is None else str(value).strip())
    return "<br>".join(text(line) for line in lines)


def code(value) -> str:
    """A code span; GFM splits table rows at a pipe even inside one, so it is escaped."""
    value = str(value)
    return text(value) if "`" in value else "`" + value.replace("|", "\\|") + "`"


def table(header: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    """A Markdown table; `align` holds l or r per column, left by default."""
    rule = ["---:" if a == "r" else "---" for a in align.ljust(len(header), "l")]
    return ["| " + " | ".join(row) + " |" for row in [header, rule, *rows]] + [""]


def dest(url: str) -> str:
    # Angle brackets keep spaces and parentheses in a destination from ending the link early.
    return f"<{url}>" if re.search(r"[\s()<>]", url) else url


def link(title: str, url: str | None) -> str:
    return f"[{text(title)}]({dest(url)})" if url else text(title)


def first_sentence(text: str) -> str:
    text = " ".join(str(text or "").split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return match.group(1) if match else text

