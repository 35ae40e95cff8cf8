"""A package with a real git history of status changes, and its site, made once per session.

Two documents; every status occurs, one pledge is not yet reviewed, one deadline has passed by
the package's date, one id has an umlaut, and a chapter's text has words that only it holds.
"""
from __future__ import annotations

from pathlib import Path

from conftest import DOCUMENT_YAML, Repo

FIRST = """\
---
title: "1.1 Digitale Verwaltung"
section: "I"
order: 1
statements:
  - id: portal
    summary: Ein Portal für alle Leistungen
    status: not_implemented
    last_update: 2024-01-10
    categories: [Verwaltung, Digitales]
    responsible: Innenministerium
    deadline: 2023-12-31
  - id: akte
    summary: Elektronische Akte
    status: not_implemented
    last_update: 2024-01-10
    categories: [Verwaltung]
    responsible: Finanzministerium
    deadline: 2027-06-30
    reports:
      - title: "Gesetzentwurf"
        url: https://example.gov/akte
  - id: verschlüsselung
    summary: Ende-zu-Ende-Verschlüsselung
    status: not_implemented
    last_update: 2024-01-10
    categories: [Sicherheit]
  - id: register
    summary: Registermodernisierung
    status: not_implemented
    last_update: 2024-01-10
  - id: offen
    summary: Offene Daten
    status: not_implemented
    last_update:
published: true
---
## Verwaltung

Im Rathaus der Zukunft gilt: Wir bauen [ein Portal für alle
Leistungen](#portal), führen die [elektronische Akte](#akte) ein und sorgen für
[Ende-zu-Ende-Verschlüsselung](#verschlüsselung).

Die Kiezlotsen helfen bei der [Modernisierung der Register](#register) und
veröffentlichen [offene Daten](#offen). Mehr unter <https://example.gov/mehr>.
"""

SECOND = """\
---
title: "2 Bildung"
order: 2
statements:
  - id: tablets
    summary: Tablets für alle Schulen
    status: implemented
    last_update: 2024-02-01
    categories: [Bildung]
    responsible: Kultusministerium
published: true
---
Jede Schule bekommt [Tablets](#tablets).
"""


def statuses_after(text: str) -> str:
    """The first chapter after the editors' review: every status of the scale occurs."""
    return (text.replace("status: not_implemented\n    last_update: 2024-01-10\n    categories: "
                         "[Verwaltung, Digitales]",
                         "status: partially_implemented\n    last_update: 2024-03-05\n    "
                         "categories: [Verwaltung, Digitales]", 1)
                .replace("status: not_implemented\n    last_update: 2024-01-10\n    categories: "
                         "[Verwaltung]\n",
                         "status: implemented\n    last_update: 2024-04-01\n    categories: "
                         "[Verwaltung]\n", 1)
                .replace("status: not_implemented\n    last_update: 2024-01-10\n    categories: "
                         "[Sicherheit]",
                         "status: broken\n    last_update: 2024-04-02\n    categories: "
                         "[Sicherheit]", 1))


def make_site_repo(root: Path) -> Repo:
    repo = Repo(root)
    other = DOCUMENT_YAML.replace("Testland 2024", "Nachbarland 2024").replace("DE-TL", "DE-NL")
    repo.commit({"testland-2024/document.yaml": DOCUMENT_YAML,
                 "testland-2024/1-1-verwaltung.md": FIRST,
                 "nachbarland-2024/document.yaml": other,
                 "nachbarland-2024/2-bildung.md": SECOND},
                message="chapters", when="2024-01-15T09:00:00+00:00")
    repo.commit({"testland-2024/1-1-verwaltung.md": statuses_after(FIRST)},
                message="review", when="2024-04-03T12:00:00+00:00")
    return repo


def expected_statuses() -> dict[str, str]:
    return {"testland-2024/portal": "partially_implemented", "testland-2024/akte": "implemented",
            "testland-2024/verschlüsselung": "broken",
            "testland-2024/register": "not_implemented", "testland-2024/offen": "not_implemented",
            "nachbarland-2024/tablets": "implemented"}
