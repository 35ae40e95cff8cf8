"""Write the site: every page, the feeds, the search index, the assets and the downloads.

Pages link to each other by relative URLs, so the site works under any base path; the
base URL is used only where a reader needs an absolute one (the feeds, canonical links).
The site is written into a temporary folder beside the target and swapped in at the end.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import tempfile
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from .data import SiteError, load, unpack
from .feed import atom_feed
from .pages import (
    SECTIONS_DIR,
    UNREVIEWED,
    Site,
    assemble,
    bar,
    commit_url,
    filter_values,
    human_size,
)
from .searchindex import search_index
from .text import chapter_html, make_renderer

MARKER = ".pledgepack-site"
ASSETS = ("site.css", "site.js", "search.js")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# Below this many pledges, starting worker processes costs more than it saves.
PARALLEL_FROM = 5000


@dataclass
class SiteResult:
    out: Path
    pages: int
    files: int
    bytes: int


class Loose(dict):
    """Metadata as templates read it: a field the package does not have is None."""

    def __missing__(self, key):
        return None


def loose(value):
    if isinstance(value, dict):
        return Loose({k: loose(v) for k, v in value.items()})
    if isinstance(value, list):
        return [loose(v) for v in value]
    return value


def _env() -> Environment:
    env = Environment(loader=PackageLoader("pledgepack.site", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["seg"] = lambda text: quote(str(text), safe="")
    env.filters["iso"] = lambda d: d.isoformat() if d is not None else ""
    return env


class Writer:
    def __init__(self, root: Path, site: Site, env: Environment, base_url: str | None,
                 repository: str | None):
        self.root, self.site, self.env = root, site, env
        self.base_url = base_url.rstrip("/") + "/" if base_url else None
        self.repository = repository
        self.pages = 0
        self.meta = loose(site.data.descriptor)
        self._common: dict[int, dict] = {}

    def common(self, depth: int) -> dict:
        """What every page at this depth shares, the header and footer rendered once."""
        if depth not in self._common:
            context = {"root": "../" * depth, "w": self.site.words, "lang": self.site.words.lang,
                       "site": self.site, "meta": self.meta, "unreviewed": UNREVIEWED,
                       "commit_url": lambda c: commit_url(self.repository, c)}
            context["header"] = Markup(self.env.get_template("header.html").render(context))
            context["footer"] = Markup(self.env.get_template("footer.html").render(context))
            self._common[depth] = context
        return self._common[depth]

    def page(self, path: str, template: str, **context) -> None:
        """Render `template` to `path` (posix, relative to the site root)."""
        html = self.env.get_template(template).render(
            self.common(path.count("/")), canonical=self.absolute(path), **context)
        self.write(path, html)
        self.pages += 1

    def absolute(self, path: str) -> str | None:
        if not self.base_url:
            return None
        return self.base_url + quote(path.removesuffix("index.html"))

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        os.makedirs(target.parent, exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)


# What a worker renders from: the package read again in each worker process (started by a
# forkserver: forking a process that holds Arrow's threads is not safe).
_STATE: dict = {}


def _worker_init(folder: Path, out: Path, base_url: str | None,
                 repository: str | None) -> None:
    _STATE.update(site=assemble(load(folder)), out=out, base=base_url, repo=repository)


def _render_document(doc_id: str) -> tuple[int, dict[str, str]]:
    """Every page of one document; the number of pages and each chapter's plain text."""
    site, out, base_url, repository = (_STATE[k] for k in ("site", "out", "base", "repo"))
    writer = Writer(out, site, _env(), base_url, repository)
    w, order = site.words, site.order
    md = make_renderer()
    doc = next(d for d in site.documents if d["document_id"] == doc_id)
    statements = site.by_document[doc_id]
    section_bars = {sec["section_id"]: bar(site.statements[sec["section_id"]], order, w)
                    for sec in site.sections[doc_id]}
    writer.page(f"{doc_id}/index.html", "document.html", doc=doc,
                bar=bar(statements, order, w), section_bars=section_bars,
                statements=statements, choices=filter_values(statements))
    texts = {}
    for sec in site.sections[doc_id]:
        stem = sec["section_id"].split("/", 1)[1]
        marks = {s["id"]: (s["display"], s["display_label"], f"../../{quote(s['id'])}/")
                 for s in site.statements[sec["section_id"]]}
        body, texts[sec["section_id"]] = chapter_html(md, sec["text"], marks)
        writer.page(f"{doc_id}/{SECTIONS_DIR}/{stem}/index.html", "chapter.html", doc=doc,
                    section=sec, body=body, bar=section_bars[sec["section_id"]],
                    statements=site.statements[sec["section_id"]])
    sections = {sec["section_id"]: sec for sec in site.sections[doc_id]}
    statuses = {s["status"]: s for s in site.data.tables["statuses"]}
    for st in statements:
        writer.page(f"{doc_id}/{st['id']}/index.html", "pledge.html", doc=doc, st=st,
                    section=sections.get(st["section_id"]),
                    reports=site.reports[st["statement_id"]],
                    history=site.history[st["statement_id"]],
                    status_row=statuses.get(st["status"], Loose()))
    writer.write(f"{doc_id}/feed.xml", atom_feed(
        site, [c for c in site.changes if c["statement"]["document_id"] == doc_id],
        path=f"{doc_id}/feed.xml", title=doc["title"], base_url=writer.base_url, depth=1))
    return writer.pages, texts


def _documents(site: Site, jobs: int) -> tuple[int, dict[str, str]]:
    """Render the documents, in `jobs` worker processes when there is enough to share."""
    ids = [d["document_id"] for d in site.documents]
    if jobs > 1 and len(ids) > 1:
        args = (site.data.folder, _STATE["out"], _STATE["base"], _STATE["repo"])
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(min(jobs, len(ids)), mp_context=context,
                                 initializer=_worker_init, initargs=args) as pool:
            results = list(pool.map(_render_document, ids))
    else:
        results = [_render_document(doc_id) for doc_id in ids]
    texts = {}
    for _, part in results:
        texts.update(part)
    return sum(pages for pages, _ in results), texts


def _render(site: Site, out: Path, base_url: str | None, repository: str | None,
            jobs: int) -> Writer:
    writer = Writer(out, site, _env(), base_url, repository)
    _STATE.update(site=site, out=out, base=base_url, repo=repository)
    try:
        pages, texts = _documents(site, jobs)
    finally:
        _STATE.clear()
    writer.pages += pages
    w, order = site.words, site.order
    statements_all = [s for d in site.documents for s in site.by_document[d["document_id"]]]
    bars = {d["document_id"]: bar(site.by_document[d["document_id"]], order, w)
            for d in site.documents}
    sizes = {d.path: human_size(d.bytes) for d in site.data.downloads}
    writer.page("index.html", "home.html", bars=bars, total=bar(statements_all, order, w),
                changes=site.changes[:20], downloads=site.data.downloads, sizes=sizes,
                citation=_citation(site))
    writer.page("data/index.html", "data.html", downloads=site.data.downloads, sizes=sizes,
                resources=loose(_dictionary(site)), citation=_citation(site),
                changelog=_changelog(site))
    writer.page("search/index.html", "search.html")
    writer.write("feed.xml", atom_feed(site, site.changes, path="feed.xml", title=None,
                                       base_url=writer.base_url, depth=0))
    writer.write("assets/search-index.js", "window.PLEDGEPACK_INDEX = " + json.dumps(
        search_index(site, texts), ensure_ascii=False, separators=(",", ":")) + ";\n")
    assets = resources.files("pledgepack.site") / "static"
    for name in ASSETS:
        writer.write(f"assets/{name}", (assets / name).read_text(encoding="utf-8"))
    for download in site.data.downloads:
        target = out / "download" / download.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(site.data.folder / download.path, target)
    writer.write(MARKER, "A site written by pledgepack; `pledgepack site` may replace it.\n")
    writer.write(".nojekyll", "")
    return writer


def _citation(site: Site) -> str:
    meta = site.data.descriptor
    who = "; ".join(c.get("title", "") for c in meta.get("contributors", [])
                    if "author" in c.get("roles", [])) or site.words["not_stated"]
    version = meta.get("version")
    date = site.today.isoformat() if site.today else site.words["not_stated"]
    parts = [who, f"({date[:4] if site.today else date})", meta.get("title", meta.get("name"))]
    if version:
        parts.append(f"Version {version}")
    return ". ".join(p.rstrip(".") for p in parts if p) + "."


def _dictionary(site: Site) -> list[dict]:
    return [r for r in site.data.descriptor.get("resources", [])
            if r.get("type") == "table" and r.get("schema")]


def _changelog(site: Site) -> str | None:
    path = site.data.folder / "CHANGELOG.md"
    if not path.is_file():
        return None
    return chapter_html(make_renderer(), path.read_text(encoding="utf-8"), {})[0]


def _check_target(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir())
                                              and not (out / MARKER).is_file())):
        raise SiteError(f"{out}: exists and is not a site written by pledgepack (no {MARKER}); "
                        "refusing to replace it. Choose another --out, or remove it yourself.")


def _swap(tmp: Path, out: Path) -> None:
    if out.exists():
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
        os.rename(out, old / out.name)
        os.rename(tmp, out)
        shutil.rmtree(old)
    else:
        os.rename(tmp, out)


def write_zip(folder: Path, target: Path) -> Path:
    """The site as a zip whose bytes depend only on its files: sorted, one fixed time."""
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return target


def build_site(package: Path | str, out: Path | str = "site", *, base_url: str | None = None,
               repository: str | None = None, zip_path: Path | str | None = None,
               jobs: int | None = None) -> SiteResult:
    """Render the site of the package at `package` (folder or zip) into `out`."""
    package, out = Path(package), Path(out)
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pledgepack-site-") as scratch:
        folder = unpack(package, Path(scratch))
        site = assemble(load(folder))
        repository = repository or _repository(site)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.site-"))
        try:
            if jobs is None:
                jobs = (1 if len(site.data.tables["statements"]) < PARALLEL_FROM
                        else max(1, min(2, os.cpu_count() or 1)))
            writer = _render(site, tmp, base_url, repository, jobs)
            if zip_path:
                write_zip(tmp, Path(zip_path))
            files = [p for p in tmp.rglob("*") if p.is_file()]
            size = sum(p.stat().st_size for p in files)
            _swap(tmp, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return SiteResult(out, writer.pages, len(files), size)


def _repository(site: Site) -> str | None:
    """The content's repository, where the package names one (for links to commits)."""
    meta = site.data.descriptor
    repo = meta.get("repository")
    if isinstance(repo, dict):
        repo = repo.get("url") or repo.get("path")
    return repo if isinstance(repo, str) and repo.startswith("https://") else None
