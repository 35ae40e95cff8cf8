"""pledgepack import: cleaning PDF text, splitting parts, writing a document for the build."""
from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from conftest import PACKAGE_YAML
from pledgepack.content.folder import read_content
from pledgepack.editors.importer import (
    Part,
    import_document,
    render_chapter,
    slugify,
    split_parts,
    take_title,
)
from pledgepack.editors.textclean import clean_text, join_lines, take_title_line
from pledgepack.errors import PledgepackError
from pledgepack.schema import PackageSchema

SCHEMA = PackageSchema.load()
RULE = " " * 60  # the line a PDF puts above the footnotes


def spaced(*lines: str) -> str:
    """Lines as PDF extraction gives them: a trailing space, then an empty line."""
    return "".join(f"{line} \n\n" for line in lines)


def header(page: int) -> str:
    """Page furniture as in the seed: site, then the paper's name and page number together."""
    return f"www.example.org \n\n \n\nPositionspapier \nSeite {page}|3 \n\n \n\n"


# Three pages of a position paper: header on each page, words split at line ends, a footnote
# with its repeated link target, a sentence running over a page break, bullets, numbered parts.
PDF = (
    header(1)
    + spaced("Digitaler Staat jetzt",
             "Zusammenfassung",
             "Die öffentliche Verwaltung soll bis 2030 alle Leistungen online anbieten und Ver-",
             "waltungsverfahren vollständig digital abwickeln, damit alle viel Zeit sparen.",
             " ",
             "1. Verwaltung modernisieren",
             "Bund und Länder stärken gemeinsam mit den Kommunen die Verwaltung und die IT-",
             "Sicherheit ihrer Rechenzentren. Die Bund-Länder-",
             "Koordination erhält eine eigene Geschäftsstelle mit genug Personal.1 Die neue",
             "Verwaltung wird dadurch insgesamt deutlich schneller, einfacher und auch")
    + RULE + "\n"
    + "1 Siehe das Papier unter https://example.org/papiere/verwaltung-\nmodernisieren.pdf \n\n"
    + "https://example.org/papiere/verwaltung-modernisieren.pdf\n"
    + header(2)
    + spaced("bürgerfreundlicher für alle Menschen in allen Regionen des ganzen Landes.",
             " ",
             "Wir fordern:",
             "\uf0a7 papierlose Akten in allen Behörden des Bundes, der Länder und der Kommunen",
             "• digitale Zertifikate statt einer handschriftlichen Unterschrift auf Papier",
             "▪ ein Portal für alle Leistungen",
             " ",
             "Digitale Zertifikate einführen:",
             "Verwaltungsgänge sollen vollständig digital erfolgen können und keine Unterschrift",
             "mehr voraussetzen.")
    + header(3)
    + spaced("2. Daten nutzen und",
             "teilen",
             "Offene Daten",
             "Der Staat veröffentlicht seine Daten offen, maschinenlesbar und kostenlos für alle.",
             "Sicherung eines fairen und transparenten Wettbewerbs um öffentliche Aufträge unter",
             "Beachtung der Flexibilität:",
             "Die Lockerungen des Vergaberechts haben eine schnelle Beschaffung ermöglicht.",
             " ",
             "Digitale Abstimmungen könnten dabei nicht nur in den hohen Häusern der Demokratie",
             "Einzug finden, sondern auch zum Vorbild in der Unternehmenswelt werden, etwa so:",
             "Vorstandssitzungen finden künftig digital statt.")
)

PDF_MARKDOWN = """\
### Zusammenfassung

Die öffentliche Verwaltung soll bis 2030 alle Leistungen online anbieten und \
Verwaltungsverfahren vollständig digital abwickeln, damit alle viel Zeit sparen.

## 1. Verwaltung modernisieren

Bund und Länder stärken gemeinsam mit den Kommunen die Verwaltung und die IT-Sicherheit ihrer \
Rechenzentren. Die Bund-Länder-Koordination erhält eine eigene Geschäftsstelle mit genug \
Personal.[^1] Die neue Verwaltung wird dadurch insgesamt deutlich schneller, einfacher und auch \
bürgerfreundlicher für alle Menschen in allen Regionen des ganzen Landes.

[^1]: Siehe das Papier unter https://example.org/papiere/verwaltung-modernisieren.pdf

Wir fordern:

- papierlose Akten in allen Behörden des Bundes, der Länder und der Kommunen
- digitale Zertifikate statt einer handschriftlichen Unterschrift auf Papier
- ein Portal für alle Leistungen

### Digitale Zertifikate einführen

Verwaltungsgänge sollen vollständig digital erfolgen können und keine Unterschrift mehr \
voraussetzen.

## 2. Daten nutzen und teilen

### Offene Daten

Der Staat veröffentlicht seine Daten offen, maschinenlesbar und kostenlos für alle.

### Sicherung eines fairen und transparenten Wettbewerbs um öffentliche Aufträge unter \
Beachtung der Flexibilität

Die Lockerungen des Vergaberechts haben eine schnelle Beschaffung ermöglicht.

Digitale Abstimmungen könnten dabei nicht nur in den hohen Häusern der Demokratie Einzug \
finden, sondern auch zum Vorbild in der Unternehmenswelt werden, etwa so: Vorstandssitzungen \
finden künftig digital statt.
"""

RESOLUTION = """\
Beschluss: Alle Ämter digital bis 2030!

(vorbehaltlich der Prüfung des Wortprotokolls)

Die Krise hat gezeigt, wie dringlich die Digitalisierung der deutschen Verwaltung ist. Daher
wollen wir alle Behörden bis 2030 vollständig digitalisieren. Insbesondere fordern wir:

Eine papierlose Verwaltung. Faxgeräte werden durch eine sichere Kommunikation ersetzt.

Ein Online-Portal für alle Verwaltungsgänge.
"""

AMENDMENT = """\

## Ä12 (Projekt) Verwaltung digitalisieren: E-Government und IT-Sicherheit

Antragsteller\\*in: Erika Muster (KV Testland)

### Änderungsantrag zu 3.1

Von Zeile 4 bis 5:

Wir wollen das \\*Once-Only-Prinzip\\* für Bürger\\*innen erproben.



Kommunikation ~~intern~~ wird Ende-zu-Ende verschlüsselt.

### Begründung

Es gibt nichts Gutes, außer man tut es.
"""


def source(tmp_path: Path, text: str, name: str = "source.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def front_matter(path: Path) -> tuple[dict, str]:
    _, fm, body = path.read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(fm), body


# --- joining lines -------------------------------------------------------------------------

@pytest.mark.parametrize("a, b, joined", [
    ("die Ver-", "waltung", "die Verwaltung"),                     # a word split at the line end
    ("die IT-", "Sicherheit", "die IT-Sicherheit"),                # a real hyphen: kept, no space
    ("die Bund-Länder-", "Koordination", "die Bund-Länder-Koordination"),
    ("das E-", "Government", "das E-Government"),
    ("die Jahre 2020-", "2025", "die Jahre 2020-2025"),
    ("Finanzierungs-", "und Fördermittel", "Finanzierungs- und Fördermittel"),  # a left-out word
    ("Datenaustausch, -zugang und -", "sicherheit", "Datenaustausch, -zugang und -sicherheit"),
    ("siehe https://example.org/a-", "b.pdf", "siehe https://example.org/a-b.pdf"),
    ("siehe https://example.org/", "papier.pdf", "siehe https://example.org/papier.pdf"),
    ("Wir handeln –", "jetzt", "Wir handeln – jetzt"),
    ("zwei", "Zeilen", "zwei Zeilen"),
])
def test_join_lines(a, b, joined):
    assert join_lines(a, b) == joined


# --- clean_text, one rule at a time --------------------------------------------------------

def test_double_spaced_lines_join_and_a_line_of_spaces_ends_the_paragraph():
    text = spaced("Der erste Absatz beginnt auf dieser Zeile und er geht auf",
                  "der nächsten Zeile weiter und endet hier.",
                  " ",
                  "Der zweite Absatz steht für sich allein auf einer Zeile.")
    assert clean_text(text) == ("Der erste Absatz beginnt auf dieser Zeile und er geht auf der "
                                "nächsten Zeile weiter und endet hier.\n\n"
                                "Der zweite Absatz steht für sich allein auf einer Zeile.\n")


def test_single_spaced_lines_join_and_blank_line_runs_collapse():
    text = "Ein Absatz über\nzwei Zeilen.\n\n\n\n\nNoch ein Absatz.\n"
    assert clean_text(text) == "Ein Absatz über zwei Zeilen.\n\nNoch ein Absatz.\n"


def test_words_split_at_line_ends_are_joined_in_paragraphs():
    text = "Die Ver-\nwaltung stärkt die IT-\nSicherheit.\n"
    assert clean_text(text) == "Die Verwaltung stärkt die IT-Sicherheit.\n"


def test_page_numbers_and_repeated_short_lines_are_removed():
    pages = [f"Kopfzeile des Papiers\nText auf Seite {n} endet hier.\n{n} / 3\n" for n in (1, 2, 3)]
    assert clean_text("\n".join(pages)) == ("Text auf Seite 1 endet hier.\n\n"
                                            "Text auf Seite 2 endet hier.\n\n"
                                            "Text auf Seite 3 endet hier.\n")


def test_the_running_header_above_a_single_page_number_is_removed():
    text = spaced("Ein Satz läuft über das Ende der Seite hinaus und zwar bis") + (
        "\n\nwww.example.org \n\n \n\nPositionspapier \nSeite 7|9 \n\n \n\n"
    ) + spaced("zur nächsten Seite, wo er endet.")
    assert clean_text(text) == ("Ein Satz läuft über das Ende der Seite hinaus und zwar bis zur "
                                "nächsten Seite, wo er endet.\n")


def test_a_paragraph_break_inside_a_sentence_is_dropped():
    text = "Dieser Satz hört nicht auf\n\nsondern geht weiter.\n\nNeuer Absatz.\n"
    assert clean_text(text) == ("Dieser Satz hört nicht auf sondern geht weiter.\n\n"
                                "Neuer Absatz.\n")


def test_bullet_glyphs_become_list_items():
    text = ("Wir fordern vier Dinge von der Politik:\n\uf0a7 eine Sache\n• noch eine\n"
            "▪ die dritte,\ndie weitergeht\n\nDanach ein Absatz.\n")
    assert clean_text(text) == ("Wir fordern vier Dinge von der Politik:\n\n"
                                "- eine Sache\n- noch eine\n- die dritte, die weitergeht\n\n"
                                "Danach ein Absatz.\n")


def test_numbered_lines_become_part_headings():
    text = ("Ein einleitender Satz, der lang genug ist, um eine Zeile zu füllen.\n\n"
            "1. Konzertierte Aktion\nWir handeln gemeinsam und sofort in allen Bereichen.\n\n"
            "1.1 Einzelheiten\nDie Einzelheiten folgen hier in einem ganzen Satz.\n\n"
            "2. IT-Sicherheit als Grundlage vo-\nrantreiben\nSicherheit zuerst, auch in Zukunft.\n")
    assert clean_text(text) == (
        "Ein einleitender Satz, der lang genug ist, um eine Zeile zu füllen.\n\n"
        "## 1. Konzertierte Aktion\n\nWir handeln gemeinsam und sofort in allen Bereichen.\n\n"
        "### 1.1 Einzelheiten\n\nDie Einzelheiten folgen hier in einem ganzen Satz.\n\n"
        "## 2. IT-Sicherheit als Grundlage vorantreiben\n\nSicherheit zuerst, auch in Zukunft.\n")


def test_a_numbered_sentence_is_not_a_heading():
    text = "1. Eine papierlose Verwaltung.\n2. Digitale Zertifikate.\n"
    assert "#" not in clean_text(text)


def test_short_lines_and_lines_ending_with_a_colon_become_subheadings():
    long = "Dieser Absatz ist eine ganz gewöhnliche und ziemlich lange Zeile Text."
    text = spaced(long, " ", "Offene Daten", long, " ",
                  "Verwaltung nutzerorientiert digitalisieren:", long)
    assert clean_text(text) == (f"{long}\n\n### Offene Daten\n\n{long}\n\n"
                                f"### Verwaltung nutzerorientiert digitalisieren\n\n{long}\n")


def test_a_colon_inside_a_paragraph_or_after_a_sentence_makes_no_heading():
    text = ("Daher wollen wir die Verwaltung bis 2030 digitalisieren. Insbesondere fordern wir:\n"
            "Eine papierlose Verwaltung und sichere Kommunikation mit allen Bürgern.\n\n"
            "Status: angenommen\n\nDie Versammlung hat den Antrag ohne Gegenstimme beschlossen.\n")
    assert "#" not in clean_text(text)


def test_footnotes_become_markdown_footnotes_after_their_paragraph():
    text = (spaced("Der Satz mit Fußnote.1 Er geht weiter und endet erst auf der",
                   "nächsten Zeile. Ein zweiter Satz nennt die Kerntechnologien 2. Dann",
                   "ist Schluss, aber die Seite endet mitten im")
            + RULE + "\n1 Siehe https://example.org/a-\nb.pdf \n2 Vgl. das Papier \n\n"
            + "https://example.org/a-b.pdf\nhttps://example.org/a-b.pdf\n"
            + spaced(" Satz, der auf der nächsten Seite weitergeht."))
    assert clean_text(text) == (
        "Der Satz mit Fußnote.[^1] Er geht weiter und endet erst auf der nächsten Zeile. Ein "
        "zweiter Satz nennt die Kerntechnologien[^2]. Dann ist Schluss, aber die Seite endet "
        "mitten im Satz, der auf der nächsten Seite weitergeht.\n\n"
        "[^1]: Siehe https://example.org/a-b.pdf\n\n[^2]: Vgl. das Papier\n")


def test_a_pdf_over_three_pages():
    title, rest = take_title_line(PDF)
    assert title == "Digitaler Staat jetzt"
    assert clean_text(rest) == PDF_MARKDOWN


def test_take_title_line_needs_a_title_like_first_line():
    assert take_title_line("Titel\n\nText.\n") == ("Titel", "\nText.\n")
    assert take_title_line("1. Erster Teil\nText.\n")[0] is None
    assert take_title_line("Ein Satz, der nicht endet,\nText.\n")[0] is None


# --- Markdown: title and parts -------------------------------------------------------------

def test_take_title_is_a_first_heading_whose_level_occurs_once():
    title, rest = take_title(AMENDMENT)
    assert title == "Ä12 (Projekt) Verwaltung digitalisieren: E-Government und IT-Sicherheit"
    assert "## Ä12" not in rest
    assert take_title("## Teil A\n\n## Teil B\n") == (None, "## Teil A\n\n## Teil B\n")
    assert take_title("Text zuerst.\n\n# Titel\n")[0] is None


def test_split_parts_at_the_top_repeated_level():
    parts = split_parts(take_title(AMENDMENT)[1])
    assert parts == [
        Part(None, "Antragsteller\\*in: Erika Muster (KV Testland)\n"),
        Part("Änderungsantrag zu 3.1",
             "Von Zeile 4 bis 5:\n\nWir wollen das \\*Once-Only-Prinzip\\* für Bürger\\*innen "
             "erproben.\n\nKommunikation ~~intern~~ wird Ende-zu-Ende verschlüsselt.\n"),
        Part("Begründung", "Es gibt nichts Gutes, außer man tut es.\n"),
    ]


def test_split_parts_keeps_lower_headings_and_ignores_code():
    markdown = ("## Eins\n\n### Unterpunkt\n\nText.\n\n```sh\n## kein Teil\n```\n\n"
                "## Zwei \\*neu\\* ##\n\nMehr.\n")
    parts = split_parts(markdown)
    assert [p.title for p in parts] == ["Eins", "Zwei *neu*"]
    assert parts[0].body == "### Unterpunkt\n\nText.\n\n```sh\n## kein Teil\n```\n"


def test_split_parts_without_a_repeated_level_is_one_part():
    assert split_parts("Text.\n\n### Einmal\n\nMehr.\n") == [
        Part(None, "Text.\n\n### Einmal\n\nMehr.\n")]


def test_slugify():
    assert slugify("1. Konzertierte Aktion Verwaltungsmodernisierung forcieren") == \
        "konzertierte-aktion-verwaltungsmodernisierung-forcieren"
    assert slugify("8. Ebenenübergreifende Zusammenarbeit stärken") == \
        "ebenenuebergreifende-zusammenarbeit-staerken"
    assert slugify("Änderungsantrag zu 3.6-A") == "aenderungsantrag-zu-3-6-a"
    assert slugify("2025 wird alles gut") == "2025-wird-alles-gut"
    assert slugify("Straße, Café & Co.") == "strasse-cafe-co"
    assert slugify("§§") == "teil"
    assert len(slugify("Wort " * 40)) <= 80


def test_render_chapter_quotes_the_title():
    text = render_chapter('Ein "Titel": mit # Zeichen', 3, "Text.\n")
    meta, body = text.split("---\n")[1:]
    assert yaml.safe_load(meta) == {"title": 'Ein "Titel": mit # Zeichen', "order": 3,
                                    "published": True, "statements": []}
    assert body == "Text.\n"


# --- import_document -------------------------------------------------------------------------

def test_import_pdf_text_writes_one_chapter_per_part(tmp_path):
    result = import_document(source(tmp_path, PDF), tmp_path / "content", "papier-2020")
    folder = tmp_path / "content" / "papier-2020"
    assert result.folder == folder and result.title == "Digitaler Staat jetzt"
    assert [p.name for p in result.chapters] == [
        "0-einleitung.md", "1-verwaltung-modernisieren.md", "2-daten-nutzen-und-teilen.md"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [p.name for p in result.chapters] + ["document.yaml"])
    meta, body = front_matter(folder / "1-verwaltung-modernisieren.md")
    assert meta == {"title": "1. Verwaltung modernisieren", "order": 1, "published": True,
                    "statements": []}
    assert body.startswith("Bund und Länder stärken")
    assert "### Digitale Zertifikate einführen" in body and "\n## " not in body
    meta, body = front_matter(folder / "0-einleitung.md")
    assert meta["title"] == "Einleitung" and meta["order"] == 0
    assert body.startswith("### Zusammenfassung\n\nDie öffentliche Verwaltung")


def test_document_yaml_has_the_title_and_commented_placeholders(tmp_path):
    import_document(source(tmp_path, PDF), tmp_path / "content", "papier-2020")
    text = (tmp_path / "content" / "papier-2020" / "document.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text) == {"title": "Digitaler Staat jetzt"}
    assert ("# kind: coalition_agreement  # coalition_agreement, resolution, position_paper, "
            "amendment, other") in text
    for key in ("jurisdiction", "parties", "date", "source_url", "source_note", "license",
                "license_note"):
        assert f"\n# {key}:" in text


def test_kind_and_title_options(tmp_path):
    import_document(source(tmp_path, RESOLUTION), tmp_path / "content", "beschluss",
                    title="  Ein anderer\nTitel ", kind="resolution")
    text = (tmp_path / "content" / "beschluss" / "document.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text) == {"title": "Ein anderer Titel", "kind": "resolution"}
    with pytest.raises(PledgepackError, match="unknown kind 'flyer'"):
        import_document(source(tmp_path, RESOLUTION), tmp_path / "other", "b", kind="flyer")


def test_import_plain_resolution_is_one_chapter_named_after_it(tmp_path):
    result = import_document(source(tmp_path, RESOLUTION), tmp_path / "content", "beschluss")
    assert result.title == "Beschluss: Alle Ämter digital bis 2030!"
    assert [p.name for p in result.chapters] == ["1-beschluss-alle-aemter-digital-bis-2030.md"]
    meta, body = front_matter(result.chapters[0])
    assert meta["title"] == result.title and meta["order"] == 1
    assert body == ("(vorbehaltlich der Prüfung des Wortprotokolls)\n\n"
                    "Die Krise hat gezeigt, wie dringlich die Digitalisierung der deutschen "
                    "Verwaltung ist. Daher wollen wir alle Behörden bis 2030 vollständig "
                    "digitalisieren. Insbesondere fordern wir:\n\n"
                    "Eine papierlose Verwaltung. Faxgeräte werden durch eine sichere "
                    "Kommunikation ersetzt.\n\nEin Online-Portal für alle Verwaltungsgänge.\n")


def test_import_markdown_keeps_the_markdown(tmp_path):
    result = import_document(source(tmp_path, AMENDMENT, "antrag.md"), tmp_path / "content",
                             "antrag-a12")
    assert result.title.startswith("Ä12 (Projekt)")
    assert [p.name for p in result.chapters] == [
        "0-einleitung.md", "1-aenderungsantrag-zu-3-1.md", "2-begruendung.md"]
    meta, body = front_matter(result.chapters[1])
    assert meta["title"] == "Änderungsantrag zu 3.1"
    assert "das \\*Once-Only-Prinzip\\* für Bürger\\*innen" in body
    assert "\n\n\n" not in body


def test_refuses_to_overwrite_unless_forced(tmp_path):
    content = tmp_path / "content"
    import_document(source(tmp_path, PDF), content, "papier")
    (content / "papier" / "9-alt.md").write_text("---\ntitle: alt\n---\n", encoding="utf-8")
    with pytest.raises(PledgepackError) as info:
        import_document(source(tmp_path, RESOLUTION), content, "papier")
    assert str(content / "papier") in str(info.value) and "--force" in str(info.value)
    assert (content / "papier" / "9-alt.md").exists()
    result = import_document(source(tmp_path, RESOLUTION), content, "papier", force=True)
    assert sorted(p.name for p in (content / "papier").iterdir()) == [
        "1-beschluss-alle-aemter-digital-bis-2030.md", "document.yaml"]
    assert result.title.startswith("Beschluss")


@pytest.mark.parametrize("document_id", ["Papier", "-papier", "pa/pier", ".papier", ""])
def test_the_document_id_must_be_usable(tmp_path, document_id):
    with pytest.raises(PledgepackError, match="document id .* is not usable"):
        import_document(source(tmp_path, PDF), tmp_path / "content", document_id)
    assert not (tmp_path / "content").exists()


def test_bad_sources_are_reported(tmp_path):
    content = tmp_path / "content"
    with pytest.raises(PledgepackError, match="cannot read"):
        import_document(tmp_path / "missing.txt", content, "x")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Größe".encode("latin-1"))
    with pytest.raises(PledgepackError, match="not UTF-8"):
        import_document(latin1, content, "x")
    with pytest.raises(PledgepackError, match="holds no text"):
        import_document(source(tmp_path, " \n\n"), content, "x")
    with pytest.raises(PledgepackError, match="--title"):
        import_document(source(tmp_path, "Ein Satz, der nicht endet,\nText.\n"), content, "x")
    assert not content.exists()


def test_import_is_deterministic(tmp_path):
    for text, name in ((PDF, "a.txt"), (RESOLUTION, "b.txt"), (AMENDMENT, "c.md")):
        path = source(tmp_path, text, name)
        first = import_document(path, tmp_path / "one", "doc").folder
        second = import_document(path, tmp_path / "two", "doc", force=True).folder
        assert {p.name: p.read_bytes() for p in first.iterdir()} == \
            {p.name: p.read_bytes() for p in second.iterdir()}
        import_document(path, tmp_path / "one", "doc", force=True)
        assert {p.name: p.read_bytes() for p in first.iterdir()} == \
            {p.name: p.read_bytes() for p in second.iterdir()}
        for folder in (first, second):
            for p in folder.iterdir():
                p.unlink()
            folder.rmdir()


def test_round_trip_through_the_content_reader(tmp_path):
    content = tmp_path / "content"
    import_document(source(tmp_path, PDF), content, "papier")
    import_document(source(tmp_path, RESOLUTION), content, "beschluss")
    import_document(source(tmp_path, AMENDMENT, "antrag.md"), content, "antrag")
    chapter = content / "papier" / "1-verwaltung-modernisieren.md"
    text = chapter.read_text(encoding="utf-8")
    chapter.write_text(text.replace("eigene Geschäftsstelle", "[eigene Geschäftsstelle](#stelle)"),
                       encoding="utf-8")
    result = read_content(content, SCHEMA)
    assert {d.document_id for d in result.documents} == {"papier", "beschluss", "antrag"}
    assert len(result.sections) == 3 + 1 + 3
    [statement] = result.statements
    assert (statement.statement_id, statement.quote, statement.status) == (
        "papier/stelle", "eigene Geschäftsstelle", "not_implemented")
    assert [d.message for d in result.diagnostics if "package.yaml" not in d.message
            and "not stated" not in d.message] == [
        "anchor #stelle has no front-matter entry; published as not_implemented with the "
        "anchor text as summary"]
    # An imported document says neither licence nor source until its editors fill them in.
    for name in ("papier", "beschluss", "antrag"):
        assert sum(d.path.endswith(f"{name}/document.yaml") and "'not stated'" in d.message
                   for d in result.diagnostics) == 2


def test_cli_round_trip_import_mark_sync_build(tmp_path, run):
    content = tmp_path / "content"
    result = run("import", source(tmp_path, PDF), "--document", "papier", "--content", content,
                 "--kind", "position_paper")
    assert result.exit_code == 0 and "imported" in result.stdout
    chapter = content / "papier" / "1-verwaltung-modernisieren.md"
    text = chapter.read_text(encoding="utf-8")
    chapter.write_text(text.replace("eigene Geschäftsstelle", "[eigene Geschäftsstelle](#stelle)"),
                       encoding="utf-8")
    assert run("sync", "--content", content, "--date", "2024-03-01").exit_code == 0
    (content / "package.yaml").write_text(PACKAGE_YAML, encoding="utf-8")
    meta = content / "papier" / "document.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace(
        "# source_url: https://example.org/document.pdf", "source_url: https://example.org/p.pdf")
        .replace("# license_note:", "license_note:").replace("# license:", "license:"),
        encoding="utf-8")
    built = run("build", "--content", content, "--out", tmp_path / "dist")
    assert built.exit_code == 0 and "warning" not in built.stderr
    rows = pq.read_table(tmp_path / "dist" / "data" / "statements.parquet").to_pylist()
    assert [(r["statement_id"], r["summary"], r["status"], r["last_update"].isoformat())
            for r in rows] == [("papier/stelle", "eigene Geschäftsstelle", "not_implemented",
                                "2024-03-01")]
    again = run("import", source(tmp_path, PDF), "--document", "papier", "--content", content)
    assert again.exit_code == 1 and "--force" in again.stderr and "Traceback" not in again.output
    assert "[eigene Geschäftsstelle](#stelle)" in chapter.read_text(encoding="utf-8")
