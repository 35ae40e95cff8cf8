"""Atom feeds (RFC 4287) of status changes: one for the site, one per document."""
from __future__ import annotations

import datetime as dt
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from .pages import Site

ATOM = "http://www.w3.org/2005/Atom"


def _stamp(event: dict) -> str:
    """When the change happened, as RFC 3339: the commit time if known, else its day."""
    when = event.get("recorded_at")
    if isinstance(when, dt.datetime):
        return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    day = event.get("effective_date")
    return f"{day.isoformat()}T00:00:00Z" if day else "1970-01-01T00:00:00Z"


def atom_feed(site: Site, changes: list[dict], *, path: str, title: str | None,
              base_url: str | None, depth: int) -> str:
    w = site.words
    meta = site.data.descriptor
    name = meta.get("name", "package")
    prefix = base_url or "../" * depth
    feed_title = f"{w['feed_title']}: {title or meta.get('title', name)}"
    updated = max((_stamp(c) for c in changes), default=None)
    if updated is None:
        updated = (f"{site.today.isoformat()}T00:00:00Z" if site.today
                   else "1970-01-01T00:00:00Z")
    authors = [c.get("title") for c in meta.get("contributors", [])
               if "publisher" in c.get("roles", []) and c.get("title")] or [w["not_stated"]]
    feed_id = ((base_url + quote(path)) if base_url
               else f"urn:pledgepack:{quote(name)}:{quote(path)}")
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           f'<feed xmlns="{ATOM}" xml:lang="{w.lang}">',
           f"  <id>{escape(feed_id)}</id>",
           f"  <title>{escape(feed_title)}</title>",
           f"  <updated>{updated}</updated>"]
    out += [f"  <author><name>{escape(a)}</name></author>" for a in authors]
    if base_url:
        out.append(f"  <link rel=\"self\" href={quoteattr(base_url + quote(path))}/>")
    home = prefix + (quote(path.rsplit("/", 1)[0]) + "/" if "/" in path else "")
    out.append(f"  <link rel=\"alternate\" type=\"text/html\" href={quoteattr(home)}/>")
    for change in changes:
        st = change["statement"]
        url = f"{prefix}{quote(st['document_id'])}/{quote(st['id'])}/"
        entry_id = (f"{url}#change-{change['seq']}" if base_url else
                    f"urn:pledgepack:{quote(name)}:{quote(st['statement_id'])}:{change['seq']}")
        label = w.label[change["status"]]
        before = w.label[change["previous_status"]]
        day = change["effective_date"].isoformat() if change["effective_date"] else w["not_stated"]
        text = f"{before} → {label} ({w['effective_date']}: {day}). {st['summary']}"
        out += ["  <entry>",
                f"    <id>{escape(entry_id)}</id>",
                f"    <title>{escape(w.fmt('status_changed', label=label, summary=st['summary']))}"
                "</title>",
                f"    <updated>{_stamp(change)}</updated>",
                f"    <link rel=\"alternate\" type=\"text/html\" href={quoteattr(url)}/>",
                f"    <summary>{escape(text)}</summary>",
                "  </entry>"]
    out.append("</feed>")
    return "\n".join(out) + "\n"
