"""The offline search index: one entry per pledge and per chapter, loaded as a script.

A script (not JSON fetched at run time) so that search works from the file system too.
Each entry is [url, title, kind, text], pledges before chapters; the browser matches every query word as a prefix of
a word of the entry's casefolded text.
"""
from __future__ import annotations

from urllib.parse import quote

from .pages import SECTIONS_DIR, Site


def search_index(site: Site, texts: dict[str, str]) -> dict:
    """`texts` holds each chapter's words without markup, by section_id."""
    w = site.words
    entries, chapters = [], []
    for doc in site.documents:
        doc_id = doc["document_id"]
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
            entries.append([f"{quote(doc_id)}/{quote(st['id'])}/", st["summary"],
                            f"{w['pledge']} · {st['display_label']}", text])
    # pledges first: a reader looks for a pledge more often than for a chapter
    return {"entries": entries + chapters, "results": w["results"]}
