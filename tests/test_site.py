"""`pledgepack site`: the pages, feeds and index written from a built package, read back."""
from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pledgepack.site.build import build_site
from sitebuild import expected_statuses

ATOM = "{http://www.w3.org/2005/Atom}"
LABELS_DE = {"implemented": "Umgesetzt", "partially_implemented": "Teilweise umgesetzt",
             "not_implemented": "Nicht umgesetzt", "broken": "Gebrochen"}


class Page(HTMLParser):
    """Links, asset references, ids and the text of elements with a class, from one page."""

    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []     # (tag, attribute, value)
        self.ids: set[str] = set()
        self.badges: list[str] = []
        self._badge = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name) is not None:
                self.refs.append((tag, name, attrs[name]))
        self._badge = "badge" in (attrs.get("class") or "").split()

    def handle_data(self, data):
        if self._badge:
            self.badges.append(data.strip())
            self._badge = False


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_package_gives_a_byte_identical_site(site_package, built_site, tmp_path):
    again = build_site(site_package, tmp_path / "again",
                       base_url="https://pledges.example.org/tracker/",
                       repository="https://github.com/example/tracker")
    assert tree(again.out) == tree(built_site)
    # ... and so do two worker processes sharing the documents
    parallel = build_site(site_package, tmp_path / "parallel",
                          base_url="https://pledges.example.org/tracker/",
                          repository="https://github.com/example/tracker", jobs=2)
    assert tree(parallel.out) == tree(built_site)
    # ... and so does the same package given as a zip
    archive = tmp_path / "package.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(site_package.rglob("*")):
            if path.is_file():
                handle.write(path, path.relative_to(site_package).as_posix())
    from_zip = build_site(archive, tmp_path / "from-zip",
                          base_url="https://pledges.example.org/tracker/",
                          repository="https://github.com/example/tracker")
    assert tree(from_zip.out) == tree(built_site)


def test_every_kind_of_page_is_written_at_its_stable_url(built_site):
    for path in ["index.html", "data/index.html", "search/index.html", "feed.xml",
                 "testland-2024/index.html", "testland-2024/feed.xml",
                 "testland-2024/text/1-1-verwaltung/index.html",
                 "testland-2024/portal/index.html", "testland-2024/verschlüsselung/index.html",
                 "nachbarland-2024/tablets/index.html", "download/datapackage.json",
                 "download/data/statements.parquet"]:
        assert (built_site / path).is_file(), path


def test_no_internal_link_is_broken(built_site):
    pages = {p.relative_to(built_site).as_posix(): parse(p) for p in built_site.rglob("*.html")}
    base = "http://site.invalid/"
    checked = 0
    for name, page in pages.items():
        for tag, _, ref in page.refs:
            url = urljoin(base + name, ref)
            if not url.startswith(base):
                continue
            parts = urlsplit(url)
            target = unquote(parts.path[len("/"):])
            if target == "" or target.endswith("/"):
                target += "index.html"
            assert (built_site / target).is_file(), f"{name}: {ref} -> {target} missing"
            if parts.fragment:
                assert parts.fragment in pages[target].ids, f"{name}: {ref}: no such id"
            checked += 1
    assert checked > 100


def test_the_site_asks_no_other_host_for_anything(built_site):
    """Stylesheets, scripts, images and frames come from the site; only plain links leave it."""
    for path in built_site.rglob("*"):
        if path.suffix == ".html":
            for tag, attr, ref in parse(path).refs:
                if tag == "a" or (tag == "link" and attr == "href" and ref.startswith(
                        "https://pledges.example.org/")):
                    continue
                assert not re.match(r"(https?:)?//", ref), f"{path}: <{tag} {attr}={ref}>"
        elif path.suffix in (".css", ".js") and path.name != "search-index.js":
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import", text), path


def test_every_status_shows_its_own_label(built_site, site_package):
    """The Jekyll trackers gave implemented, partially implemented and broken one icon."""
    page = parse(built_site / "testland-2024" / "index.html")
    text = (built_site / "testland-2024" / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r'<tr data-pos="\d+" data-status="([a-z_]+)".*?<td><span class="badge '
                      r's-\1">([^<]+)</span>', text, re.S)
    labels = {code: label for code, label in rows}
    assert labels == {**{k: v for k, v in LABELS_DE.items()}, "unreviewed": "Noch nicht bewertet"}
    assert len(set(labels.values())) == len(labels)
    assert set(LABELS_DE.values()) <= set(page.badges)


def test_pledge_page_states_status_deadline_reports_and_timeline(built_site, site_package):
    text = (built_site / "testland-2024" / "portal" / "index.html").read_text(encoding="utf-8")
    statuses = {r["status"]: r for r in
                pq.read_table(site_package / "data" / "statuses.parquet").to_pylist()}
    # the German definition on a German page, from the package
    definition = statuses["partially_implemented"]["definition_de"]
    assert definition == ("Ein Teil des Versprechens ist erfüllt, oder die Arbeit daran hat "
                          "sichtbar begonnen.")
    assert f"<dt>Bedeutung</dt><dd>{definition}</dd>" in text
    assert statuses["partially_implemented"]["definition"] not in text
    assert "<dt>Stand</dt><dd>Teilweise umgesetzt</dd>" in text
    # the deadline passed before the package's date (2024-04-03), not the clock's
    assert "2023-12-31 (<strong class=\"overdue\">seit 94 Tagen überfällig</strong>)" in text
    assert "Innenministerium" in text and "Verwaltung, Digitales" in text
    timeline = re.search(r"<tbody>(.*?)</tbody>", text.split('id="h-timeline"')[1], re.S)[1]
    rows = re.findall(r"<tr id=\"change-(\d)\">\n<td>([0-9-]+)</td>\n<td>(\w+)</td>", timeline)
    # the editors' review dates, not the days of the commits (2024-01-15, 2024-04-03)
    assert rows == [("1", "2024-01-10", "Redaktion"), ("2", "2024-03-05", "Redaktion")]
    assert "https://github.com/example/tracker/commit/" in timeline
    assert '<span class="badge s-not_implemented">Nicht umgesetzt</span>' in timeline
    assert 'href="../text/1-1-verwaltung/#text-portal"' in text
    akte = (built_site / "testland-2024" / "akte" / "index.html").read_text(encoding="utf-8")
    assert '<a href="https://example.gov/akte">Gesetzentwurf</a>' in akte
    offen = (built_site / "testland-2024" / "offen" / "index.html").read_text(encoding="utf-8")
    assert "Noch nicht bewertet" in offen and "Niemand hat den Stand" in offen


def test_chapter_marks_every_pledge_in_place_with_its_label(built_site):
    text = (built_site / "testland-2024" / "text" / "1-1-verwaltung" / "index.html").read_text(
        encoding="utf-8")
    marks = re.findall(r'<span class="pledge s-([a-z_]+)" id="text-([^"]+)"><a href="([^"]+)">'
                       r'.*?</a> <span class="badge s-\1">([^<]+)</span>', text, re.S)
    got = {pid: (cls, href, label) for cls, pid, href, label in marks}
    assert got == {
        "portal": ("partially_implemented", "../../portal/", "Teilweise umgesetzt"),
        "akte": ("implemented", "../../akte/", "Umgesetzt"),
        "verschlüsselung": ("broken", "../../verschl%C3%BCsselung/", "Gebrochen"),
        "register": ("not_implemented", "../../register/", "Nicht umgesetzt"),
        "offen": ("unreviewed", "../../offen/", "Noch nicht bewertet"),
    }
    assert "<h2>Verwaltung</h2>" in text  # the chapter's own headings sit below its title


def _feed(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{name}").text, name
    assert root.find(f"{ATOM}author/{ATOM}name").text
    for entry in root.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            assert entry.find(f"{ATOM}{name}").text, name
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry.find(f"{ATOM}updated").text)
        assert entry.find(f"{ATOM}link[@rel='alternate']").get("href").startswith(
            "https://pledges.example.org/tracker/")
    ids = [e.find(f"{ATOM}id").text for e in root.findall(f"{ATOM}entry")]
    assert len(ids) == len(set(ids))
    return root


def test_feeds_are_atom_with_every_status_change(built_site):
    site_feed = _feed(built_site / "feed.xml")
    titles = sorted(e.find(f"{ATOM}title").text for e in site_feed.findall(f"{ATOM}entry"))
    assert titles == ["Gebrochen: Ende-zu-Ende-Verschlüsselung",
                      "Teilweise umgesetzt: Ein Portal für alle Leistungen",
                      "Umgesetzt: Elektronische Akte"]
    assert site_feed.find(f"{ATOM}updated").text == "2024-04-03T12:00:00Z"
    assert site_feed.find(f"{ATOM}link[@rel='self']").get("href") == \
        "https://pledges.example.org/tracker/feed.xml"
    assert len(_feed(built_site / "testland-2024" / "feed.xml").findall(f"{ATOM}entry")) == 3
    assert _feed(built_site / "nachbarland-2024" / "feed.xml").findall(f"{ATOM}entry") == []


def test_data_page_lists_every_download_with_size_and_sha256(built_site, site_package):
    import hashlib

    text = (built_site / "data" / "index.html").read_text(encoding="utf-8")
    files = [p for p in sorted(site_package.rglob("*")) if p.is_file()]
    for path in files:
        rel = path.relative_to(site_package).as_posix()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert re.search(rf'href="../download/{re.escape(rel)}">.*?\({path.stat().st_size} B\)'
                         rf'.*?{digest}', text, re.S), rel
        assert (built_site / "download" / rel).read_bytes() == path.read_bytes()
    descriptor = json.loads((site_package / "datapackage.json").read_text(encoding="utf-8"))
    for resource in descriptor["resources"]:
        for field in resource["schema"]["fields"]:
            assert f"<td><code>{field['name']}</code></td>" in text


def test_search_index_holds_pledges_and_chapter_text(built_site):
    script = (built_site / "assets" / "search-index.js").read_text(encoding="utf-8")
    index = json.loads(script.removeprefix("window.PLEDGEPACK_INDEX = ").removesuffix(";\n"))
    urls = {entry[0] for entry in index["entries"]}
    assert {f"{sid.split('/')[0]}/{sid.split('/')[1]}/".replace("ü", "%C3%BC")
            for sid in expected_statuses()} <= urls
    chapter = next(e for e in index["entries"] if e[0] == "testland-2024/text/1-1-verwaltung/")
    assert "Kiezlotsen" in chapter[3]


def test_labels_follow_the_package_language(site_package, tmp_path):
    package = tmp_path / "package"
    shutil.copytree(site_package, package)
    descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["languages"] = ["en"]
    (package / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    out = build_site(package, tmp_path / "site").out
    text = (out / "testland-2024" / "portal" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in text and "Partially implemented" in text
    assert "overdue by 94 days" in text and "Teilweise" not in text
    assert ("<dt>Definition</dt><dd>Part of the pledge has been fulfilled, or work on it has "
            "visibly begun.</dd>") in text
    assert "Arbeit daran" not in text


def test_dates_say_whose_they_are_and_review_state_shows(built_site):
    """A review date after its commit falls back to the commit's day, and the page says so; a
    statement nobody reviewed says it, whatever its default status."""
    tablets = (built_site / "nachbarland-2024" / "tablets" / "index.html").read_text(
        encoding="utf-8")
    assert "<td>2024-01-15</td>\n<td>Commit</td>" in tablets
    offen = (built_site / "testland-2024" / "offen" / "index.html").read_text(encoding="utf-8")
    assert "Noch nicht bewertet" in offen
    portal = (built_site / "testland-2024" / "portal" / "index.html").read_text(encoding="utf-8")
    assert "Noch nicht bewertet" not in portal


def test_cli_writes_the_site_and_refuses_bad_input(run, site_package, tmp_path):
    result = run("site", site_package, "--out", tmp_path / "site", "--zip", tmp_path / "s.zip")
    assert result.exit_code == 0, result.output
    assert re.match(r"wrote .*site: 1\d pages, \d+ files", result.stdout)
    with zipfile.ZipFile(tmp_path / "s.zip") as archive:
        assert "index.html" in archive.namelist()
    # a folder that is not an earlier site is never replaced
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    result = run("site", site_package, "--out", keep)
    assert result.exit_code == 1
    assert "is not a site written by pledgepack" in result.stderr
    assert (keep / "notes.txt").read_text() == "mine"
    # a damaged package: message with the place, exit 1, previous site untouched
    broken = tmp_path / "broken"
    shutil.copytree(site_package, broken)
    (broken / "data" / "statements.parquet").write_bytes(b"not parquet")
    before = tree(tmp_path / "site")
    result = run("site", broken, "--out", tmp_path / "site")
    assert result.exit_code == 1
    assert "statements.parquet: not a readable Parquet file" in result.stderr
    assert "Traceback" not in result.output
    assert tree(tmp_path / "site") == before
    result = run("site", tmp_path / "nothing", "--out", tmp_path / "site")
    assert result.exit_code == 1 and "no such file or folder" in result.stderr


@pytest.mark.parametrize("bad, message", [
    ("..", "cannot be a folder of the site"), ("a/b", "cannot be a folder of the site"),
    ("text", "is a name the site uses itself"), ("feed.xml", "is a name the site uses itself"),
    ("index.html", "is a name the site uses itself")])
def test_an_id_that_cannot_be_a_folder_stops_the_site(run, site_package, tmp_path, bad, message):
    package = tmp_path / "package"
    shutil.copytree(site_package, package)
    path = package / "data" / "statements.parquet"
    table = pq.read_table(path)
    ids = table["id"].to_pylist()
    ids[ids.index("portal")] = bad
    pq.write_table(table.set_column(table.schema.get_field_index("id"), "id", pa.array(ids)),
                   path)
    result = run("site", package, "--out", tmp_path / "site")
    assert result.exit_code == 1
    assert f"statements: testland-2024/portal: id: {bad!r} {message}" in result.stderr
    assert not (tmp_path / "site").exists() and not (tmp_path / "index.html").exists()


def test_a_zip_bomb_is_refused_within_the_size_limits(run, site_package, tmp_path):
    """A release zip is read within the same limits as `release --previous`: a file that
    unpacks to more than 256 MiB stops the site with a message, and nothing is written."""
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(site_package.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(site_package).as_posix())
        archive.writestr("README.md", b"0" * (300 << 20))
    assert bomb.stat().st_size < 5 << 20
    out = tmp_path / "site"
    result = run("site", bomb, "--out", out)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "README.md unpacks to more than 256 MiB" in result.stderr
    assert not out.exists()


def test_a_package_without_german_definitions_shows_the_english_one(site_package, tmp_path):
    """Packages made before `definition_de` have one definition, in English: the German page
    shows it rather than none."""
    package = tmp_path / "package"
    shutil.copytree(site_package, package)
    path = package / "data" / "statuses.parquet"
    table = pq.read_table(path)
    pq.write_table(table.drop_columns(["definition_de"]), path)
    text = (build_site(package, tmp_path / "site").out / "testland-2024" / "portal" /
            "index.html").read_text(encoding="utf-8")
    english = dict(zip(table.column("status").to_pylist(),
                       table.column("definition").to_pylist()))["partially_implemented"]
    assert f"<dt>Bedeutung</dt><dd>{english}</dd>" in text


PLEDGES = {"a": ("implemented", "Umgesetzt", "../../a/"),
           "prüf-2": ("broken", "Gebrochen & <mehr>", "../../pr%C3%BCf-2/")}
PLAIN_WORD = st.text(st.sampled_from(list("abzÄöß019.,;:?-+=#%$~()/|'\"“„")), min_size=1,
                     max_size=8)
# and now and then a character that is markup, or whitespace that Markdown treats apart
WORD = st.one_of(*[PLAIN_WORD] * 15, st.text(
    st.sampled_from(list("ab \t\\*_`<>&[]!\u00a0")), min_size=1, max_size=3))
ANCHOR = st.builds(lambda text, pid: f"[{text}](#{pid})", WORD, st.sampled_from(
    ["a", "prüf-2", "pru\u0308f-2", "a", "prüf-2", "nix", "a b", "a)"]))
LINE = st.builds(lambda first, rest: first + "".join(rest), st.sampled_from(["Wir ", "[x](#a)",
                                                                            " ", "2. "]),
                 st.lists(st.one_of(WORD, ANCHOR), max_size=5).map(" ".join))
CHAPTER = st.lists(st.one_of(*[LINE] * 8, st.just(""), st.just(""), st.sampled_from(
    [" ", "## Titel", "1. eins", "- x", "==", "> zitat", "[r]: /ziel"])), max_size=8).map(
    "\n".join)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(CHAPTER)
def test_plain_prose_is_rendered_as_markdown_it_renders_it(text):
    """Plain paragraphs with pledge anchors skip markdown-it; what they give must not differ."""
    from pledgepack.site import text as chapter

    fast = chapter._plain_html(text, PLEDGES)
    if fast is not None:
        assert fast == by_markdown_it(text)


def by_markdown_it(text: str) -> tuple[str, str]:
    from pledgepack.site import text as chapter

    md = chapter.make_renderer()
    env = {"pledges": PLEDGES, "stack": [], "seen": set(), "shift": 1}
    tokens = md.parse(text, env)
    words = [c.content for t in tokens if t.type == "inline"
             for c in t.children or [] if c.type == "text"]
    return md.renderer.render(tokens, md.options, env), " ".join(" ".join(words).split())


def test_plain_prose_takes_the_short_way_and_markup_the_long_one():
    from pledgepack.site import text as chapter

    text = 'Wir "so" [bauen "es"](#a).\nUnd\n[noch](#a)\n\n\nDann.'
    assert chapter._plain_html(text, PLEDGES) == by_markdown_it(text) == (
        '<p>Wir &quot;so&quot; <span class="pledge s-implemented" id="text-a"><a '
        'href="../../a/">bauen '
        '&quot;es&quot;</a> <span class="badge s-implemented">Umgesetzt</span></span>.\nUnd\n'
        '<span class="pledge s-implemented"><a href="../../a/">noch</a> <span class="badge '
        's-implemented">Umgesetzt</span></span></p>\n<p>Dann.</p>\n',
        'Wir "so" bauen "es" . Und noch Dann.')
    for text in ["## Titel\n\nText", "Text *betont*", "[x](#nix)", "a  \nb", "1. eins"]:
        assert chapter._plain_html(text, PLEDGES) is None, text


def test_search_index_pieces_give_the_bytes_of_one_dump():
    """Each document's entries are written where its pages are; joined, they must read as one
    `json.dumps` of the whole index, documents without pledges or chapters included."""
    from pledgepack.site.searchindex import index_script
    from pledgepack.site.strings import Words

    words = Words("de", [])
    docs = [([["a/p/", "P \"1\"", "Versprechen · x", "ü"]], [["a/text/1/", "K", "Kapitel", ""]]),
            ([], []),
            ([], [["c/text/2/", "</script>", "Kapitel", "t"]]),
            ([["d/q/", "Q", "Versprechen · y", "z"], ["d/r/", "R", "Versprechen · y", ""]], [])]
    parts = [(json.dumps(p, ensure_ascii=False, separators=(",", ":"))[1:-1],
              json.dumps(c, ensure_ascii=False, separators=(",", ":"))[1:-1]) for p, c in docs]
    whole = {"entries": [e for p, _ in docs for e in p] + [e for _, c in docs for e in c],
             "results": words["results"]}
    assert index_script(parts, words) == ("window.PLEDGEPACK_INDEX = " + json.dumps(
        whole, ensure_ascii=False, separators=(",", ":")) + ";\n")
    assert index_script([("", ""), ("", "")], words) == (
        'window.PLEDGEPACK_INDEX = {"entries":[],"results":"{n} Treffer"};\n')


def test_code_labels_fall_back_to_the_code_or_not_stated():
    from pledgepack.site.strings import Words

    words = Words("en", [{"status": "done", "label_en": "Done", "definition_en": "It is done."},
                         {"status": "open", "label_en": None, "definition_en": None}])
    assert [words.label[c] for c in ("done", "open", "new", None)] == ["Done", "open", "new", "–"]
    assert [words.meaning[c] for c in ("done", "open", "new", None)] == [
        "It is done.", None, None, None]
    assert words.events["changed"] == "changed" and words.events["odd"] == "odd"
    assert [words.sources[c] for c in ("editor", "odd", None)] == ["editors", "odd",
                                                                   "not stated"]
    # a worker gets the words by pickle
    import pickle

    again = pickle.loads(pickle.dumps(words))
    assert again.label["new"] == "new" and again.sources[None] == "not stated"


def test_the_site_leaves_nothing_frozen_in_the_caller(site_package, tmp_path, monkeypatch):
    """The rows are kept from the garbage collector while pages render, and given back after,
    also when the site fails half way."""
    import gc

    import pledgepack.site.build as site_build

    build_site(site_package, tmp_path / "site")
    assert gc.get_freeze_count() == 0

    def fail(*args, **kwargs):
        assert gc.get_freeze_count() > 0  # rendering runs frozen
        raise OSError("disk full")

    monkeypatch.setattr(site_build, "atom_feed", fail)
    with pytest.raises(OSError, match="disk full"):
        build_site(site_package, tmp_path / "other")
    assert gc.get_freeze_count() == 0 and not (tmp_path / "other").exists()
