"""Command line: parse options, call the library, turn its errors into messages and exit codes.

Heavy libraries (pyarrow, duckdb, frictionless) are imported inside the
commands that need them, so that `pledgepack --help` answers at once.
"""
from __future__ import annotations

import functools
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from .errors import ERROR, ContentError, PackageInvalid, PledgepackError


def _interactive() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


class _Progress:
    """A one-line progress display on a terminal; silent in CI and in pipes."""

    def __init__(self):
        self.enabled = _interactive()
        self.shown = False

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        text = f"{phase}: {done}/{total}" if total else f"{phase}: done"
        click.echo(f"\r\x1b[K{text}", nl=False, err=True)
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            click.echo("\r\x1b[K", nl=False, err=True)


def _print_diagnostics(diagnostics) -> None:
    for diagnostic in diagnostics:
        click.echo(diagnostic.format(), err=True)


def content_options(fn):
    """Options shared by the commands that read a content folder."""
    @click.option("--content", "content", type=click.Path(path_type=Path), default="content",
                  show_default=True, help="Folder of documents, or a bare folder of chapters.")
    @click.option("--include-unpublished", is_flag=True,
                  help="Also publish chapters marked 'published: false'.")
    @click.option("--strict", is_flag=True, help="Treat warnings as errors.")
    @click.option("--document-id", default=None,
                  help="Id of the document when --content is a bare folder of chapters.")
    @click.option("--document-title", default=None,
                  help="Title of the document when --content has no document.yaml.")
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


descriptor_option = click.option(
    "--descriptor", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
    help="Package metadata and table schemas [default: the shipped datapackage.json].")
jobs_option = click.option(
    "--jobs", type=click.IntRange(1, 64), default=None,
    help="Worker processes for parsing and validation [default: up to 2].")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pledgepack")
def cli():
    """Publish a pledge tracker's Markdown chapters as a validated open-data package.

    The package holds CSV and Parquet tables (documents, sections, statements,
    reports, status history, statuses), a Frictionless Data Package descriptor,
    and DuckDB views for analysts.
    """


@cli.command()
@content_options
@click.option("--out", type=click.Path(path_type=Path), default="dist", show_default=True,
              help="Output folder; replaced only after the new package validates.")
@descriptor_option
@jobs_option
@click.option("--no-git-history", is_flag=True,
              help="Do not read the git history: one snapshot row per statement.")
@click.option("--allow-shallow", is_flag=True,
              help="In a shallow clone, start the history at the shallow boundary.")
@click.option("--full-validation", is_flag=True,
              help="Also read every CSV row with frictionless before swapping (slow on large "
                   "content; `pledgepack validate` and releases always do).")
def build(content, out, descriptor, include_unpublished, strict, document_id, document_title,
          jobs, no_git_history, allow_shallow, full_validation):
    """Build the data package from the content folder into --out."""
    from .build import build as run_build
    from .workers import command_pyarrow_later

    command_pyarrow_later()  # pyarrow, with numpy, only if the package is not up to date
    progress = _Progress()
    with _failures("build", out, progress):
        result = run_build(content, out, descriptor=descriptor,
                           include_unpublished=include_unpublished, strict=strict,
                           document_id=document_id, document_title=document_title, jobs=jobs,
                           git_history=not no_git_history, allow_shallow=allow_shallow,
                           full_validation=full_validation, progress=progress)
    _report_build(result)


@contextmanager
def _failures(what: str, out: Path, progress: _Progress):
    """Turn the library's errors into a message and exit code 1; `out` was left as it was."""
    try:
        yield
    except ContentError as exc:
        progress.clear()
        _print_diagnostics(exc.diagnostics)
        errors = sum(d.severity == ERROR for d in exc.diagnostics)
        raise click.ClickException(
            f"{what} failed: {errors} error(s), {len(exc.diagnostics) - errors} warning(s); "
            f"{out} left unchanged") from None
    except PackageInvalid as exc:
        progress.clear()
        click.echo(exc.report.format(), err=True)
        raise click.ClickException(f"{what} failed: the new package is invalid; {out} left "
                                   "unchanged") from None
    except PledgepackError as exc:
        progress.clear()
        raise click.ClickException(str(exc)) from None
    progress.clear()


def _report_build(result) -> None:
    _print_diagnostics(result.diagnostics)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    counts = result.counts
    # Up to date: made from the same content, history and settings, its files untouched since.
    done = f"{result.out} is up to date" if result.up_to_date else f"built {result.out}"
    click.echo(f"{done}: {counts['documents']} documents, {counts['sections']} "
               f"sections, {counts['statements']} statements, {counts['reports']} reports "
               f"({len(result.warnings)} warning(s)); package valid")


@cli.command()
@click.option("--version", "version", required=True,
              help="The release's version, X.Y.Z (a leading v is dropped).")
@click.option("--previous", default=None,
              help="The previous release: a git tag, or a released zip or folder "
                   "[default: the highest v* tag below --version reachable from HEAD].")
@click.option("--content", type=click.Path(path_type=Path), default="content",
              show_default=True, help="Content folder.")
@click.option("--out", type=click.Path(path_type=Path), default="dist", show_default=True,
              help="Output folder; replaced only when the whole release is made.")
@descriptor_option
@click.option("--base-url", default=None,
              help="Where the release's files will be published; adds views-remote.sql, whose "
                   "views read the Parquet files from there.")
@click.option("--flat", is_flag=True,
              help="The Parquet files are published without their data/ folder (as GitHub "
                   "release assets are).")
@jobs_option
def release(version, previous, content, out, descriptor, base_url, flat, jobs):
    """Cut a release into --out: the package, README, CHANGELOG, CITATION.cff, LICENSE.md,
    a chart, a reproducible <package>-<version>.zip and SHA256SUMS."""
    from .build import command_pyarrow
    from .release.cut import release as run_release

    command_pyarrow()
    progress = _Progress()
    with _failures("release", out, progress):
        result = run_release(content, out, version=version, previous=previous,
                             descriptor=descriptor, base_url=base_url, flat=flat, jobs=jobs,
                             progress=progress)
    _report_build(result.build)
    since = (f"since {result.previous.label}" if result.previous
             else "first release (no earlier v* tag)")
    click.echo(f"released {result.zip} ({len(result.files)} files, "
               f"{result.zip.stat().st_size / 1e6:.1f} MB), {since}")
    click.echo(next(line for line in result.sums.read_text(encoding="utf-8").splitlines()
                    if line.endswith(f"  {result.zip.name}")))


@cli.command()
@click.argument("package", type=click.Path(path_type=Path), default="dist")
@click.option("--out", type=click.Path(path_type=Path), default="site", show_default=True,
              help="Folder of the site; replaced only by a complete new site.")
@click.option("--base-url", default=None,
              help="Where the site will be published; used for the feeds' and pages' absolute "
                   "links (the pages link to each other by relative links).")
@click.option("--repository-url", default=None,
              help="The content's repository on the web (e.g. https://github.com/OWNER/REPO), "
                   "to link each history event to its commit.")
@click.option("--zip", "zip_path", type=click.Path(path_type=Path), default=None,
              help="Also write the site as a reproducible zip here.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Worker processes [default: up to 2 for packages of 5,000 pledges or more].")
def site(package, out, base_url, repository_url, zip_path, jobs):
    """Write the static site of a built package (a dist/ folder, an unzipped release or a
    release zip): pages, Atom feeds, search and downloads."""
    from .site.build import build_site

    with _failures("site", out, _Progress()):
        result = build_site(package, out, base_url=base_url, repository=repository_url,
                            zip_path=zip_path, jobs=jobs)
    click.echo(f"wrote {result.out}: {result.pages} pages, {result.files} files, "
               f"{result.bytes / 1e6:.1f} MB" + (f"; {zip_path}" if zip_path else ""))


@cli.command()
@click.option("--base-url", required=True,
              help="Where the package's files are published, e.g. "
                   "https://example.org/pledges/1.0.0/")
@click.option("--flat", is_flag=True,
              help="The Parquet files lie directly under the URL, without data/ (as GitHub "
                   "release assets do).")
@descriptor_option
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              show_default=True, help="File to write the views to.")
def views(base_url, flat, descriptor, output):
    """Print DuckDB views that read a published release's Parquet files over HTTPS.

    In DuckDB: .read views-remote.sql, then query the views without downloading anything.
    """
    from .query.views import remote_views_sql
    from .schema import PackageSchema

    try:
        text = remote_views_sql(PackageSchema.load(descriptor), base_url, flat)
    except PledgepackError as exc:
        raise click.ClickException(str(exc)) from None
    output.write(text)


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path), default="dist")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--jobs", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Worker processes for the frictionless CSV checks.")
def validate(folder, as_json, jobs):
    """Validate a built package (default: dist): descriptor, files, CSV and Parquet.

    Exit code 1 when the package is invalid.
    """
    from .check.validate import validate_package

    report = validate_package(folder, jobs=jobs)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(report.format())
    sys.exit(0 if report.valid else 1)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--content", type=click.Path(path_type=Path), default="content",
              show_default=True, help="Content folder to lint when no PATHS are given.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("--strict", is_flag=True, help="Exit with 1 on warnings too.")
def lint(paths, content, fmt, strict):
    """Check content without building: every check of the build and editorial checks.

    PATHS are chapter files, document.yaml files or content folders (default: --content).
    Beyond the build's checks: placeholder reports, report URLs that are not http(s),
    last_update in the future or before the document's date, deadlines before the document's
    date, empty summaries, ids that cannot be used as an anchor. Exit code 1 on errors (and on
    warnings with --strict).
    """
    from .editors.lint import lint as run_lint
    from .schema import PackageSchema

    try:
        found = run_lint(list(paths), content, PackageSchema.load())
    except PledgepackError as exc:
        raise click.ClickException(str(exc)) from None
    errors = sum(d.severity == ERROR for d in found)
    warnings = len(found) - errors
    if fmt == "json":
        click.echo(json.dumps({"errors": errors, "warnings": warnings,
                               "diagnostics": [d.to_dict() for d in found]},
                              indent=2, ensure_ascii=False))
    else:
        for diagnostic in found:
            click.echo(diagnostic.format())
        click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)
    sys.exit(1 if errors or (strict and warnings) else 0)


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--content", type=click.Path(path_type=Path), default="content",
              show_default=True, help="Folder whose chapters to sync when no FILES are given.")
@click.option("--date", default=None,
              help="last_update of the new entries, YYYY-MM-DD [default: today].")
@click.option("--check", is_flag=True,
              help="Only report what would change; exit with 1 if anything would.")
def sync(files, content, date, check):
    """Add a front-matter entry for every anchor that has none.

    Each new entry gets the anchor's id, its text as summary, status not_implemented and
    last_update --date, in anchor order after the existing entries. Existing entries and every
    other byte of the file stay as they are; a second run changes nothing.
    """
    from .editors.sync import sync_files

    try:
        results = sync_files(list(files) or [content], date, check=check)
    except PledgepackError as exc:
        raise click.ClickException(str(exc)) from None
    verb = "would add" if check else "added"
    for result in results:
        _print_diagnostics(result.diagnostics)
        if result.changed:
            click.echo(f"{result.path}: {verb} {len(result.added)} statement(s): "
                       + ", ".join(result.added))
    changed = sum(r.changed for r in results)
    failed = sum(not r.ok for r in results)
    click.echo(f"{len(results)} file(s), {changed} {'to change' if check else 'changed'}, "
               f"{failed} with errors", err=True)
    sys.exit(1 if failed or (check and changed) else 0)


class _DefaultGroup(click.Group):
    """A group whose first subcommand also runs without its name: `import SOURCE ...` is
    `import text SOURCE ...`, as it was before the group had other formats."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [next(iter(self.commands)), *args]
        return super().resolve_command(ctx, args)


@cli.group("import", cls=_DefaultGroup)
def import_():
    """Make content from other formats: a plain text or Markdown document (text, the default:
    'pledgepack import SOURCE --document ID'), or a froide-govplan API dump (govplan)."""


@import_.command("text")
@click.argument("source", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--document", "document_id", required=True,
              help="Id of the new document: the folder name under --content.")
@click.option("--title", default=None,
              help="Title of the document [default: its first heading or title line].")
@click.option("--kind", default=None,
              help="Kind of document: coalition_agreement, resolution, position_paper, "
                   "amendment or other.")
@click.option("--content", type=click.Path(path_type=Path), default="content",
              show_default=True, help="Content folder to write the document into.")
@click.option("--force", is_flag=True, help="Replace an existing document folder.")
def import_text(source, document_id, title, kind, content, force):
    """Turn a plain text or Markdown document into a content folder to mark up.

    Writes <content>/<document>/document.yaml and one chapter per top-level part, each with
    front matter and 'statements: []', ready for marking pledges as [text](#id) and running
    'pledgepack sync'. Text extracted from a PDF is cleaned: words hyphenated across lines are
    joined, broken lines become paragraphs, page furniture and bullet glyphs go, headings
    become Markdown headings.
    """
    from .editors.importer import import_document

    try:
        result = import_document(source, content, document_id, title=title, force=force,
                                 kind=kind)
    except PledgepackError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"imported {source} as {result.folder}: {result.title!r}, "
               f"{len(result.chapters)} chapter(s)")
    for chapter_path in result.chapters:
        click.echo(f"  {chapter_path}")


@import_.command("govplan")
@click.argument("dump", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--document", "document_id", required=True,
              help="Id of the new document: the folder name under --content.")
@click.option("--title", default=None,
              help="Title of the document [default: froide-govplan: plans of government N].")
@click.option("--content", type=click.Path(path_type=Path), default="content",
              show_default=True, help="Content folder to write the document into.")
@click.option("--force", is_flag=True, help="Replace an existing document folder.")
def import_govplan(dump, document_id, title, content, force):
    """Turn a JSON dump of froide-govplan's plan API into a document folder.

    Each plan becomes a statement (status mapped, govplan_status and rating kept), each update
    with a status a history entry (source govplan), each update with a link a report.
    """
    from .editors.govplan import import_govplan as run_import

    try:
        result = run_import(dump, content, document_id, title=title, force=force)
    except PledgepackError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"imported {dump} as {result.folder}: {result.title!r}")
    for chapter_path in result.chapters:
        click.echo(f"  {chapter_path}")


@cli.group()
def export():
    """Write a built package in other trackers' formats."""


@export.command("govplan")
@click.argument("package", type=click.Path(path_type=Path, file_okay=False), default="dist")
@click.option("--government", required=True,
              help="Slug of the government in froide-govplan that the plans are imported into; "
                   "it also prefixes every plan's slug.")
@click.option("-o", "--output", "out", type=click.Path(path_type=Path, file_okay=False),
              required=True, help="Folder to write plans.csv, mapping.json, updates.json and "
                                  "README.md into.")
@click.option("--document", "documents", multiple=True,
              help="Export only this document (repeatable) [default: all].")
@click.option("--categories", is_flag=True,
              help="Also map the categories column (froide must already have each category).")
def export_govplan(package, government, out, documents, categories):
    """Write PACKAGE (default: dist) as a CSV and mapping for froide-govplan's import_govplan,
    with its reports and status changes as updates and a README of how to load them."""
    from .exports.govplan import SLUG_RE
    from .exports.govplan import export_govplan as run_export

    if not SLUG_RE.match(government):
        raise click.BadParameter("use letters, digits, '-' and '_', as in the government's "
                                 "address on the site", param_hint="--government")
    try:
        result = run_export(package, out, government, list(documents) or None, categories)
    except PledgepackError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"exported {result.plans} plans and {result.updates} updates to {result.folder}")
    for loss in result.losses:
        click.echo(f"note: {loss}", err=True)


def database_options(fn):
    """--db and --format, shared by the commands that read the package's DuckDB file."""
    @click.option("--db", type=click.Path(path_type=Path, dir_okay=False), default=None,
                  help="Database file [default: the .duckdb file in dist/].")
    @click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]),
                  default="table", show_default=True, help="Output format.")
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


def _print_result(fetch, db: Path | None, fmt: str) -> None:
    """Run fetch(database) -> (columns, rows) and print the rows, or fail with the message."""
    from .query.run import QueryError, find_database, render

    try:
        columns, rows = fetch(db or find_database(Path("dist")))
    except (QueryError, PledgepackError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(render(columns, rows, fmt), nl=False)


@cli.command()
@click.argument("sql")
@database_options
@click.option("--allow-external-access", "allow_external", is_flag=True,
              help="Let the query read and write files, attach databases and load extensions "
                   "(off by default: the database is opened read-only and sealed).")
def query(sql, db, fmt, allow_external):
    """Run SQL against the package's DuckDB views and print the result."""
    from .query.run import run_query

    _print_result(lambda database: run_query(database, sql, allow_external=allow_external),
                  db, fmt)


@cli.command()
@click.argument("statement_id")
@database_options
def history(statement_id, db, fmt):
    """Print a statement's status timeline: every event with its date, commit and author.

    STATEMENT_ID is <document_id>/<id>, e.g. bund-2021/glasfaser.
    """
    from .query.run import statement_timeline

    _print_result(lambda database: statement_timeline(database, statement_id), db, fmt)


# Where the command leaves nothing for Python's own ending to finish (no threads, worker pools,
# temporary folders, databases or caches still being written), the process ends with os._exit
# as soon as its output is flushed: the ending would only take apart every module imported,
# which the end of the process does anyway. `pledgepack lint` on the shipped content, 21
# alternating runs: 0.251 -> 0.227 s; `pledgepack --help` 0.098 -> 0.083 s. Only main() does
# so, the command line's own entry: the tests' CliRunner calls `cli` and goes on.
QUICK_ENDS = (["--help"], ["-h"], [])


def main() -> None:
    from .workers import quiet_blas

    quiet_blas()
    args = sys.argv[1:]
    try:
        cli(prog_name="pledgepack")
    except SystemExit as exc:
        if args[:1] == ["lint"] or args in QUICK_ENDS:
            _end_now(exc.code)
        raise


def _end_now(code) -> None:
    """os._exit with the status SystemExit(`code`) would end with, its output flushed first."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # a message, which Python would print before ending with 1
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # the reader is gone (`pledgepack lint | head -1`): nothing more to say
            status = status or 1
    os._exit(status)
