"""The words of the site in German and English; status labels come from the package."""
from __future__ import annotations

UI = {
    "site_title": ("Versprechen und ihr Stand", "Pledges and their progress"),
    "skip": ("Zum Inhalt springen", "Skip to content"),
    "nav": ("Hauptnavigation", "Main navigation"),
    "home": ("Start", "Home"),
    "data": ("Daten", "Data"),
    "search": ("Suche", "Search"),
    "feed": ("Atom-Feed", "Atom feed"),
    "documents": ("Dokumente", "Documents"),
    "document": ("Dokument", "Document"),
    "sections": ("Kapitel", "Chapters"),
    "section": ("Kapitel", "Chapter"),
    "pledges": ("Versprechen", "Pledges"),
    "pledge": ("Versprechen", "Pledge"),
    "not_reviewed": ("Noch nicht bewertet", "Not yet reviewed"),
    "not_reviewed_definition": ("Niemand hat den Stand dieses Versprechens bisher bewertet.",
                                "Nobody has assessed this pledge yet."),
    "status": ("Stand", "Status"),
    "statuses": ("Stand nach Status", "Progress by status"),
    "count": ("Anzahl", "Count"),
    "share": ("Anteil", "Share"),
    "total": ("Insgesamt", "Total"),
    "last_review": ("Zuletzt bewertet", "Last review"),
    "review_state": ("Bewertung", "Review"),
    "reviewed": ("bewertet", "reviewed"),
    "deadline": ("Frist", "Deadline"),
    "responsible": ("Zuständig", "Responsible"),
    "measure": ("Maßnahme", "Measure"),
    "categories": ("Themen", "Categories"),
    "reports": ("Belege", "Reports"),
    "no_reports": ("Keine Belege angegeben.", "No reports given."),
    "quote": ("Wortlaut", "Quote"),
    "summary": ("Zusammenfassung", "Summary"),
    "definition": ("Bedeutung", "Definition"),
    "timeline": ("Verlauf", "Timeline"),
    "effective_date": ("Gültig ab", "Effective date"),
    "date_source": ("Datum laut", "Date from"),
    "before": ("Vorher", "Before"),
    "after": ("Nachher", "After"),
    "event": ("Ereignis", "Event"),
    "commit": ("Commit", "Commit"),
    "not_stated": ("nicht angegeben", "not stated"),
    "none": ("–", "–"),
    "overdue": ("überfällig", "overdue"),
    "overdue_by": ("seit {n} Tagen überfällig", "overdue by {n} days"),
    "days_left": ("noch {n} Tage", "{n} days left"),
    "as_of": ("Stand: {date}", "As of {date}"),
    "latest_changes": ("Letzte Änderungen", "Latest status changes"),
    "no_changes": ("Noch keine Statusänderungen.", "No status changes yet."),
    "release": ("Veröffentlichung", "Release"),
    "version": ("Version", "Version"),
    "date": ("Datum", "Date"),
    "citation": ("Zitieren", "How to cite"),
    "downloads": ("Downloads", "Downloads"),
    "file": ("Datei", "File"),
    "size": ("Größe", "Size"),
    "licence": ("Lizenz", "Licence"),
    "sources": ("Quellen", "Sources"),
    "dictionary": ("Datenbeschreibung", "Data dictionary"),
    "field": ("Feld", "Field"),
    "type": ("Typ", "Type"),
    "required": ("Pflicht", "Required"),
    "yes": ("ja", "yes"),
    "no": ("nein", "no"),
    "description": ("Beschreibung", "Description"),
    "allowed": ("Erlaubte Werte", "Allowed values"),
    "how_to_use": ("Nutzung", "How to use it"),
    "changelog": ("Änderungen", "Changelog"),
    "no_changelog": ("Diese Ausgabe hat kein Änderungsprotokoll (kein Release).",
                     "This package has no changelog (not a release)."),
    "filters": ("Filter", "Filters"),
    "all": ("alle", "all"),
    "sort": ("Sortieren nach", "Sort by"),
    "order_text": ("Reihenfolge im Text", "Order in the text"),
    "showing": ("{shown} von {total} Versprechen angezeigt", "Showing {shown} of {total} pledges"),
    "only_overdue": ("nur überfällige", "overdue only"),
    "read_text": ("Text lesen", "Read the text"),
    "in_text": ("Im Text", "In the text"),
    "back_to_text": ("Zur Stelle im Text", "Back to its place in the text"),
    "search_label": ("Suchbegriff", "Search term"),
    "search_button": ("Suchen", "Search"),
    "search_needs_js": ("Die Suche braucht JavaScript; alle Versprechen stehen auf den "
                        "Dokumentseiten.", "Search needs JavaScript; every pledge is listed on "
                        "the document pages."),
    "results": ("{n} Treffer", "{n} results"),
    "source_document": ("Quelle des Dokuments", "Source of the document"),
    "text_licence": ("Text wiedergegeben unter", "Text reproduced under"),
    "pledge_page": ("Seite des Versprechens", "Page of the pledge"),
    "feed_title": ("Statusänderungen", "Status changes"),
    "status_changed": ("{label}: {summary}", "{label}: {summary}"),
    "generated": ("Erstellt mit pledgepack aus dem Datenpaket",
                  "Made with pledgepack from the data package"),
}

EVENTS = {
    "snapshot": ("Stand ohne Verlauf", "status without history"),
    "added": ("aufgenommen", "added"),
    "changed": ("geändert", "changed"),
    "removed": ("entfernt", "removed"),
    "recorded": ("eingetragen", "recorded"),
}

DATE_SOURCES = {
    "editor": ("Redaktion", "editors"),
    "commit": ("Commit", "commit"),
    "snapshot": ("Momentaufnahme", "snapshot"),
}


class Lookup(dict):
    """A table a template reads as `w.label[code]`: a plain subscript, cheaper than a call on
    a page rendered 100k times. No code (None) gives `none`; a code the table does not hold
    stands for itself, or gives None where `keep_code` is false."""

    def __init__(self, values: dict, none: str | None = None, keep_code: bool = True):
        super().__init__(values)
        self.none, self.keep_code = none, keep_code

    def __missing__(self, code):
        if code is None:
            return self.none
        return code if self.keep_code else None


class Words(dict):
    """`words["key"]` in the site's language; `words.fmt("key", n=3)` fills placeholders.

    A dict of the one language's words, so that a template's `w["key"]` is a plain lookup.
    The labels of codes are tables too: `w.label[status]` (a status, or "–" for none),
    `w.meaning[status]` (its definition, None where the package gives none), `w.events[code]`
    and `w.sources[code]` (whose date an event carries, "not stated" for none); a code the
    site does not know stands for itself."""

    def __init__(self, language: str, statuses: list[dict]):
        self.lang = language
        self.index = 0 if language == "de" else 1
        super().__init__({key: pair[self.index] for key, pair in UI.items()})
        self.label = Lookup({s["status"]: s[f"label_{language}"] or s["status"]
                             for s in statuses}, none=self["none"])
        self.meaning = Lookup({s["status"]: s[f"definition_{language}"] for s in statuses},
                              keep_code=False)
        self.events = Lookup({code: pair[self.index] for code, pair in EVENTS.items()})
        self.sources = Lookup({code: pair[self.index] for code, pair in DATE_SOURCES.items()},
                              none=self["not_stated"])

    def fmt(self, key: str, **values) -> str:
        return self[key].format(**values)
