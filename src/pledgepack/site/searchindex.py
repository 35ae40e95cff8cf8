"""The offline search index: one entry per pledge and per chapter, loaded as a script.

A script (not JSON fetched at run time) so that search works from the file system too.
Each entry is [url, title, kind, text], pledges before chapters; the browser matches every
query word as a prefix of a word of the entry's casefolded text.

Each document's entries are written as JSON where its pages are rendered (in a worker at
100k pledges), and the pieces are joined in order: the same bytes as one `json.dumps` of the
whole index, without a serial pass over all of it at the end.
"""
from __future__ import annotations

import json
from urllib.parse import quote

from .pages import SECTIONS_DIR, Site
from .strings import Words


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def document_entries(site: Site, doc: dict, texts: dict[str, str]) -> tuple[str, str]:
    """One document's pledge entries and chapter entries, each as JSON array items joined by
    commas (without the brackets); `texts` holds each chapter's words without markup, by
    section_id."""
    w = site.words
    doc_id = doc["document_id"]
    chapters, pledges = [], []
    for sec in site.sections[doc_id]:
        stem = sec["section_id"].split("/", 1)[1]
        chapters.append([f"{quote(doc_id)}/{SECTIONS_DIR}/{quote(stem)}/",
                         f"{sec['title']} ({doc['title']})", w["section"],
                         texts[sec["section_id"]]])
    for st in site.by_document[doc_id]:
        # the title (the summary) is searched too; the quote only where it says more
        quoted = st["quote"] if st["quote"] != st["summary"] else None
        text = " ".join(filter(None, [quoted, st["responsible"], *st["categories"],
                                      st["display_label"]]))
        pledges.append([f"{quote(doc_id)}/{quote(st['id'])}/", st["summary"],
                        f"{w['pledge']} · {st['display_label']}", text])
    return _dumps(pledges)[1:-1], _dumps(chapters)[1:-1]


def index_script(parts: list[tuple[str, str]], words: Words) -> str:
    """The index of the whole site from every document's entries, in the documents' order:
    pledges first, as a reader looks for a pledge more often than for a chapter."""
    items = ",".join(p for p in [pledges for pledges, _ in parts]
                     + [chapters for _, chapters in parts] if p)
    # the same bytes as _dumps({"entries": [...], "results": ...})
    return (f'window.PLEDGEPACK_INDEX = {{"entries":[{items}],'
            f'"results":{_dumps(words["results"])}}};\n')
