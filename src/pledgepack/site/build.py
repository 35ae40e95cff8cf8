"""Write the site: every page, the feeds, the search index, the assets and the downloads.

Pages link to each other by relative URLs, so the site works under any base path; the
base URL is used only where a reader needs an absolute one (the feeds, canonical links).
The site is written into a temporary folder beside the target and swapped in at the end.
"""
from __future__ import annotations

import gc
import os
import shutil
import tempfile
import zipfile
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from ..workers import context, default_jobs, start_worker
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
from .searchindex import document_entries, index_script
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


class SiteEnvironment(Environment):
    """Templates read table rows (plain dicts) by attribute, `st.summary`: look the key up
    first, instead of failing on the dict's attributes for every field of every page."""

    def getattr(self, obj, attribute):
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


_ENV: list[Environment] = []


def _env() -> Environment:
    """One environment per process: each template is compiled once, and never looked up on
    disk again (the templates are part of the installed package)."""
    if not _ENV:
        env = SiteEnvironment(loader=PackageLoader("pledgepack.site", "templates"),
                          autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                          lstrip_blocks=True, keep_trailing_newline=True, auto_reload=False)
        env.filters["seg"] = lambda text: quote(str(text), safe="")
        env.filters["iso"] = lambda d: d.isoformat() if d is not None else ""
        _ENV.append(env)
    return _ENV[0]


class Writer:
    def __init__(self, root: Path, site: Site, base_url: str | None, repository: str | None):
        self.root, self.site, self.env = root, site, _env()
        self.base_url = base_url.rstrip("/") + "/" if base_url else None
        self.repository = repository
        self.pages = self.files = self.bytes = 0
        self.meta = loose(site.data.descriptor)
        self._common: dict[int, dict] = {}
        self._base = str(root)
        self._folders: set[str] = set()

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
        self.render(path, self.env.get_template(template), context)

    def render(self, path: str, template, context: dict) -> None:
        common = self.common(path.count("/"))
        self.write(path, template.render(common, canonical=self.absolute(path), **context))
        self.pages += 1

    def absolute(self, path: str) -> str | None:
        if not self.base_url:
            return None
        return self.base_url + quote(path.removesuffix("index.html"))

    def write(self, path: str, text: str) -> None:
        folder, _, _ = path.rpartition("/")
        if folder not in self._folders:
            parent = folder.rpartition("/")[0]
            if parent in self._folders:
                os.mkdir(f"{self._base}/{folder}")  # a pledge's folder, in its document's
            else:
                os.makedirs(self.root / folder, exist_ok=True)
            self._folders.add(folder)
        # one open, one write: most pages are a few kB
        data = text.encode("utf-8")
        fd = os.open(f"{self._base}/{path}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        self.files, self.bytes = self.files + 1, self.bytes + len(data)


def _render_document(part: Site, out: Path, base_url: str | None,
                     repository: str | None) -> tuple[Writer, tuple[str, str]]:
    """Every page of the one document in `part`; what wrote them, and the document's entries
    of the search index."""
    writer = Writer(out, part, base_url, repository)
    site, w, order = part, part.words, part.order
    md = make_renderer()
    doc = part.document
    doc_id = doc["document_id"]
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
    pledge = writer.env.get_template("pledge.html")
    for st in statements:
        writer.render(f"{doc_id}/{st['id']}/index.html", pledge, {
            "doc": doc, "st": st, "section": sections.get(st["section_id"]),
            "reports": site.reports[st["statement_id"]],
            "history": site.history[st["statement_id"]]})
    writer.write(f"{doc_id}/feed.xml", atom_feed(
        site, site.changes, path=f"{doc_id}/feed.xml", title=doc["title"],
        base_url=writer.base_url, depth=1))
    return writer, document_entries(part, doc, texts)


def _render_part(args: tuple) -> tuple[int, int, int, tuple[str, str]]:
    writer, entries = _render_document(*args)
    return writer.pages, writer.files, writer.bytes, entries


def _render_part_frozen(args: tuple) -> tuple[int, int, int, tuple[str, str]]:
    """In a worker: its share of the package, just received, is frozen as it comes."""
    with _frozen():
        return _render_part(args)


@contextmanager
def _frozen():
    """The package's rows, already read, kept out of the cyclic garbage collector while the
    pages are rendered. Rendering makes millions of short-lived strings, and every collection
    they set off would walk the whole package again: at 100k pledges a document page took
    4-5 times as long."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _render(site: Site, out: Path, base_url: str | None, repository: str | None,
            jobs: int) -> Writer:
    """Render the documents, in `jobs` worker processes when there is enough to share, and
    the pages of the whole site meanwhile.

    Each worker gets its documents' share of the site, already read and arranged (started
    by a forkserver: forking a process that holds Arrow's threads is not safe), and sends
    back only counts and the document's search entries."""
    writer = Writer(out, site, base_url, repository)
    parts = [(site.part(d["document_id"]), out, base_url, repository) for d in site.documents]
    if jobs > 1 and len(parts) > 1:
        with ProcessPoolExecutor(min(jobs, len(parts)), mp_context=context(),
                                 initializer=start_worker) as pool:
            futures = [pool.submit(_render_part_frozen, args) for args in parts]
            with _frozen():
                _render_whole(site, writer)
            results = [future.result() for future in futures]
    else:
        with _frozen():
            results = [_render_part(args) for args in parts]
            _render_whole(site, writer)
    for pages, files, size, _ in results:
        writer.pages, writer.files, writer.bytes = (
            writer.pages + pages, writer.files + files, writer.bytes + size)
    writer.write("assets/search-index.js",
                 index_script([entries for *_, entries in results], site.words))
    return writer


def _render_whole(site: Site, writer: Writer) -> None:
    """The pages and files of the whole site, all but the search index."""
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
    assets = resources.files("pledgepack.site") / "static"
    for name in ASSETS:
        writer.write(f"assets/{name}", (assets / name).read_text(encoding="utf-8"))
    for download in site.data.downloads:
        target = writer.root / "download" / download.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(site.data.folder / download.path, target)
        writer.files, writer.bytes = writer.files + 1, writer.bytes + download.bytes
    writer.write(MARKER, "A site written by pledgepack; `pledgepack site` may replace it.\n")
    writer.write(".nojekyll", "")


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
                        else default_jobs())
            writer = _render(site, tmp, base_url, repository, jobs)
            if zip_path:
                write_zip(tmp, Path(zip_path))
            _swap(tmp, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return SiteResult(out, writer.pages, writer.files, writer.bytes)


def _repository(site: Site) -> str | None:
    """The content's repository, where the package names one (for links to commits)."""
    meta = site.data.descriptor
    repo = meta.get("repository")
    if isinstance(repo, dict):
        repo = repo.get("url") or repo.get("path")
    return repo if isinstance(repo, str) and repo.startswith("https://") else None
