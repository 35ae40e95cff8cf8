"""DuckDB views over the package: views.sql, and a self-contained <package>.duckdb.

The same view definitions serve both; only the relation each table view reads
from differs: the Parquet files beside views.sql, or tables stored inside the
database file (so that it answers from any directory, and after a copy).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from ..check.sqlchecks import quote_ident, quote_literal
from ..errors import PledgepackError
from ..schema import PackageSchema
from .analysis import ANALYST_VIEWS, MACROS

STATUS_TYPE = "pledge_status"
VIEWS_FILE = "views.sql"
# DuckDB 1.4 cannot open files in the 2.x storage format; analysts still run 1.x.
STORAGE_VERSION = "v1.0.0"
STORED_SCHEMA = "data"

def view_statements(schema: PackageSchema, source: Callable[[str], str]) -> list[str]:
    """CREATE statements for the status ENUM, one view per table, and the analyst views."""
    statuses = schema.statuses
    out = [f"CREATE TYPE {STATUS_TYPE} AS ENUM ({', '.join(quote_literal(s) for s in statuses)})"]
    for name in schema.table_names:
        columns = []
        for field in schema.fields(name):
            col = quote_ident(field["name"])
            if field.get("constraints", {}).get("enum") == statuses or (
                    name == "statuses" and field["name"] == "status"):
                columns.append(f"{col}::{STATUS_TYPE} AS {col}")
            else:
                columns.append(col)
        out.append(f"CREATE VIEW {quote_ident(name)} AS SELECT {', '.join(columns)} "
                   f"FROM {source(name)}")
        description = schema.resource(name).get("description")
        if description:
            out.append(f"COMMENT ON VIEW {quote_ident(name)} IS {quote_literal(description)}")
    for name, comment, body in ANALYST_VIEWS:
        out.append(f"CREATE VIEW {name} AS{body}")
        out.append(f"COMMENT ON VIEW {name} IS {quote_literal(comment)}")
    out.extend(MACROS)
    return out


def parquet_source(prefix: str) -> Callable[[str], str]:
    return lambda name: f"read_parquet({quote_literal(f'{prefix}{name}.parquet')})"


def views_sql(schema: PackageSchema, prefix: str = "data/", header: list[str] = (),
              preamble: str = "") -> str:
    """The text of a views file whose table views read `<prefix><table>.parquet`: comment
    lines, then `preamble` (statements to run first), then the views."""
    body = [statement.strip() + ";"
            for statement in view_statements(schema, parquet_source(prefix))]
    comments = "".join(f"-- {line}".rstrip() + "\n" for line in header)
    return comments + "\n" + preamble + "\n\n".join(body) + "\n"


def write_views_sql(schema: PackageSchema, out: Path, prefix: str = "data/") -> Path:
    header = [
        f"DuckDB views over the data package {schema.name!r}.",
        "The table views read the Parquet files; run this from the package folder:",
        "  duckdb -c \".read views.sql\" -c \"select count(*) from statements\"",
        f"or open {schema.name}.duckdb, which holds the same views and the data itself.",
    ]
    path = out / VIEWS_FILE
    path.write_text(views_sql(schema, prefix, header), encoding="utf-8")
    return path


REMOTE_SCHEMES = ("https://", "http://", "s3://", "gs://", "hf://")


def remote_prefix(base_url: str, flat: bool = False) -> str:
    """Where the Parquet files of a published package are: `<base_url>data/<table>.parquet`,
    or `<base_url><table>.parquet` with `flat` (GitHub release assets have no folders)."""
    if not base_url.startswith(REMOTE_SCHEMES) or "'" in base_url or any(
            c.isspace() for c in base_url):
        raise PledgepackError(
            f"--base-url {base_url!r}: not an absolute URL; give the address the package's "
            "files are published under, such as https://example.org/pledges/1.0.0/")
    base = base_url if base_url.endswith("/") else base_url + "/"
    return base if flat else base + "data/"


def remote_views_sql(schema: PackageSchema, base_url: str, flat: bool = False) -> str:
    """views.sql for analysts who query a published release over the network, with DuckDB's
    httpfs extension, without downloading the package."""
    prefix = remote_prefix(base_url, flat)
    header = [
        f"DuckDB views over the data package {schema.name!r}, published at {base_url}",
        f"The table views read the Parquet files over the network ({prefix}<table>.parquet)",
        "with DuckDB's httpfs extension, which the statements below install and load:",
        "  duckdb -c \".read views-remote.sql\" -c \"select count(*) from statements\"",
        "Only the parts of the files a query needs are fetched.",
    ]
    return views_sql(schema, prefix, header, "INSTALL httpfs;\nLOAD httpfs;\n\n")


# DuckDB writes the unused bytes at the end of each storage block as its allocator hands them
# over. On Linux that is its bundled jemalloc, whose reused memory still holds earlier strings,
# so from about 40k rows on the same rows gave different files. The file is therefore written
# in a child process whose jemalloc zeroes what it allocates (a setting read at start-up).
ALLOCATOR_ENV = {"DUCKDB_JE_MALLOC_CONF": "zero:true"}


def write_database(schema: PackageSchema, out: Path, parquet: dict[str, Path]) -> Path:
    """<package>.duckdb with the tables stored inside and the views over them, written in a
    child process (see ALLOCATOR_ENV)."""
    writer = DatabaseWriter(schema)
    writer.start(out, parquet)
    return writer.wait()


class DatabaseWriter:
    """write_database in a child started ahead of need: it starts Python and imports DuckDB
    while this process goes on (the build builds its tables meanwhile); `start` hands it the
    Parquet files (they must be complete), then `wait` for the file, or `cancel` it.

    Between the two, `check` has the child run two checks of validation too (check/validate.py's
    descriptor_findings and parquet_findings), beside writing the database from the same
    files: it imported frictionless and DuckDB while the build made its tables, and the build
    neither imports them itself nor holds DuckDB's memory while it validates.

    The child reads two JSON lines: the database's job, then the checks' job, or the end of
    its input for none. It answers the checks with one JSON line."""

    def __init__(self, schema: PackageSchema):
        self.schema = schema
        self.path: Path | None = None
        package_root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, **ALLOCATOR_ENV,
               "PYTHONPATH": os.pathsep.join(
                   p for p in (package_root, os.environ.get("PYTHONPATH")) if p)}
        self._stderr = tempfile.TemporaryFile("w+b")
        self._sender: threading.Thread | None = None
        self._proc = subprocess.Popen([sys.executable, "-m", "pledgepack.query.views",
                                       str(os.getpid())],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._stderr, env=env)

    def start(self, out: Path, parquet: dict[str, Path]) -> None:
        self.path = out / f"{self.schema.name}.duckdb"
        job = json.dumps({"descriptor": self.schema.descriptor, "path": str(self.path),
                          "parquet": {name: str(p) for name, p in parquet.items()}})
        # Sent from a thread: the job is larger than a pipe holds, and the child reads it only
        # once DuckDB is imported; this process goes on meanwhile.
        self._sender = threading.Thread(target=self._send, args=(job.encode("utf-8") + b"\n",),
                                        daemon=True)
        self._sender.start()

    def _send(self, job: bytes) -> None:
        try:
            self._proc.stdin.write(job)
            self._proc.stdin.flush()
        except OSError:
            pass  # the child is gone: wait() says why

    def check(self, descriptor: dict, folder: Path, declared: dict,
              parquet: dict[str, Path]) -> dict:
        """{"descriptor": descriptor_findings(descriptor, folder), "parquet":
        parquet_findings(declared, parquet)}, found by the child."""
        job = json.dumps({"descriptor": descriptor, "folder": str(folder), "declared": declared,
                          "parquet": {name: str(p) for name, p in parquet.items()}})
        self._sender.join()
        try:
            with self._proc.stdin:
                self._proc.stdin.write(job.encode("utf-8") + b"\n")
        except OSError:
            pass  # the child is gone: no answer comes, and why is said below
        answer = self._proc.stdout.readline()
        if not answer:
            raise PledgepackError(f"{self.path}: the checks beside the database failed: "
                                  f"{self._last_words()}")
        return json.loads(answer)

    def wait(self) -> Path:
        try:
            self._end_input()
            code = self._proc.wait()
            stderr = self._last_words()
        finally:
            self._close()
        if code != 0:
            raise PledgepackError(f"{self.path}: writing the database failed: {stderr}")
        return self.path

    def _last_words(self) -> str:
        self._proc.wait()
        self._stderr.seek(0)
        stderr = self._stderr.read().decode("utf-8", "replace")
        return (stderr.strip().splitlines() or ["no message"])[-1]

    def cancel(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._close()

    def _end_input(self) -> None:
        """No checks to come (or they were sent): the child's input ends."""
        if self._sender is not None:
            self._sender.join()
        if self._proc.stdin and not self._proc.stdin.closed:
            try:
                self._proc.stdin.close()
            except OSError:
                pass

    def _close(self) -> None:
        self._end_input()
        self._proc.stdout.close()
        self._stderr.close()


def write_database_here(schema: PackageSchema, path: Path, parquet: dict[str, Path]) -> Path:
    """The work of write_database, in this process."""
    import duckdb

    # One thread and no compression: with several threads, or with the compression DuckDB
    # picks per segment (FSST and others), the same rows now and then give different bytes.
    con = duckdb.connect(":memory:", config={"threads": 1})
    try:
        con.execute("SET force_compression = 'uncompressed'")
        con.execute(f"ATTACH {quote_literal(path.as_posix())} AS package "
                    f"(STORAGE_VERSION {quote_literal(STORAGE_VERSION)})")
        con.execute("USE package")
        con.execute(f"CREATE SCHEMA {STORED_SCHEMA}")
        for name in schema.table_names:
            con.execute(f"CREATE TABLE {STORED_SCHEMA}.{quote_ident(name)} AS SELECT * FROM "
                        f"read_parquet({quote_literal(parquet[name].resolve().as_posix())})")
        for statement in view_statements(
                schema, lambda name: f"{STORED_SCHEMA}.{quote_ident(name)}"):
            con.execute(statement)
        con.execute("USE memory")
        con.execute("DETACH package")
    finally:
        con.close()
    return path


def _child(stdin, stdout) -> None:
    """The child's work: the database on a thread of its own (DuckDB lets go of the GIL), and
    meanwhile the checks when they are asked for."""
    from ..check.validate import descriptor_findings, parquet_findings

    job = json.loads(stdin.readline())
    failed: list[BaseException] = []

    def database() -> None:
        try:
            write_database_here(PackageSchema(job["descriptor"]), Path(job["path"]),
                                {name: Path(p) for name, p in job["parquet"].items()})
        except BaseException as exc:  # noqa: BLE001 - raised again below
            failed.append(exc)

    writer = threading.Thread(target=database)
    writer.start()
    line = stdin.readline()
    if line:
        checks = json.loads(line)
        findings = {
            "descriptor": descriptor_findings(checks["descriptor"], checks["folder"]),
            "parquet": parquet_findings(checks["declared"], {
                name: Path(p) for name, p in checks["parquet"].items()})}
        stdout.write(json.dumps(findings) + "\n")
        stdout.flush()
    writer.join()
    if failed:
        raise failed[0]


if __name__ == "__main__":
    from pledgepack.workers import die_with_parent

    die_with_parent(int(sys.argv[1]))
    # imported before the job comes, while the build goes on
    import duckdb  # noqa: F401
    import frictionless  # noqa: F401

    _child(sys.stdin, sys.stdout)
