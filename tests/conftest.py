"""Shared builders for the tests: small content folders made in tmp_path, and a CLI runner."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from pledgepack.cli import cli

REPO = Path(__file__).resolve().parents[1]
SHIPPED_CONTENT = REPO / "content"

DOCUMENT_YAML = """\
title: "Koalitionsvertrag Testland 2024"
kind: coalition_agreement
jurisdiction: DE-TL
parties:
  - Partei A
  - Partei B
date: 2024-01-15
source_url: https://example.gov/koalitionsvertrag.pdf
license: CC-BY-2.0
"""

CHAPTER = """\
---
title: "1.1 Digitale Verwaltung"
section: "I"
order: 1
statements:
  - id: portal
    last_update: '2024-02-01'
    status: partially_implemented
    summary: Ein Portal für alle Leistungen
    categories:
      - Verwaltung
      - Digitales
    reports:
      - title: "Portal gestartet"
        url: "https://example.gov/portal"
  - id: akte
    last_update: 2024-03-01
    status: implemented
    summary: Elektronische Akte
    deadline: 2025-12-31
    responsible: Innenministerium
    measure: law
published: true
---
Wir bauen [ein Portal für alle
Leistungen](#portal) und führen die [elektronische Akte](#akte) ein.
"""


def chapter(statements: str = "", body: str = "", title: str = "1.1 Kapitel",
            extra: str = "") -> str:
    """A chapter file: front matter with the given statements block (YAML list items,
    dedented) and body."""
    block = textwrap.indent(textwrap.dedent(statements).strip("\n"), "  ") if statements else ""
    head = f'---\ntitle: "{title}"\n{extra}'
    head += f"statements:\n{block}\n" if block else "statements: []\n"
    return head + "---\n" + textwrap.dedent(body)


def make_document(root: Path, name: str = "testland-2024", chapters: dict[str, str] | None = None,
                  document_yaml: str | None = DOCUMENT_YAML) -> Path:
    """content/<name>/ with document.yaml and chapter files; returns the content root."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    if document_yaml is not None:
        (folder / "document.yaml").write_text(document_yaml, encoding="utf-8")
    for filename, text in (chapters if chapters is not None else {"1-1-verwaltung.md": CHAPTER}).items():
        (folder / filename).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A small valid content folder with one document and one chapter."""
    return make_document(tmp_path / "content")


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    """A copy of the repository's content folder."""
    target = tmp_path / "content"
    shutil.copytree(SHIPPED_CONTENT, target)
    return target


@pytest.fixture
def run():
    """Run the CLI in-process; returns the click Result (exit_code, stdout, stderr)."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke
