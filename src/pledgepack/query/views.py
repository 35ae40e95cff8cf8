"""DuckDB views over the package: views.sql, and a self-contained <package>.duckdb.

The same view definitions serve both; only the relation each table view reads
from differs: the Parquet files beside views.sql, or tables stored inside the
database file (so that it answers from any directory, and after a copy).
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from ..check.sqlchecks import engine, quote_ident, quote_literal
from ..errors import PledgepackError
from ..schema import PackageSchema
from ..workers import QUIET_BLAS
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


# DuckDB 1.4 judges whether its in-memory copy of a remote file is still fresh by the file's
# Last-Modified time; with no such header that check fails now and then
# (3 query scripts in 100 against a host that sends none; none in 80 with this setting, none
# in 60 against a host that sends one).
NO_FILE_CACHE = "SET enable_external_file_cache = false;"


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
        "Where the host sends no Last-Modified header, DuckDB 1.4 fails now and then with",
        "'Overflow in timestamp subtraction'; run",
        f"  {NO_FILE_CACHE}",
        "first: DuckDB then keeps no copy of the files in memory and asks the host each time.",
    ]
    return views_sql(schema, prefix, header, "INSTALL httpfs;\nLOAD httpfs;\n\n")


def write_database(schema: PackageSchema, out: Path, parquet: dict[str, Path]) -> Path:
    """<package>.duckdb with the tables stored inside and the views over them, written in a
    child process (DatabaseWriter)."""
    writer = DatabaseWriter(schema)
    writer.start(out, parquet)
    return writer.wait()


class DatabaseWriter:
    """write_database in a child started ahead of need: it starts Python and imports DuckDB
    while this process goes on. `begin` names the package's folder; `ready` hands over each
    table's Parquet file once it is complete, and the child stores that table while this
    process makes the next one, in whatever order they come (the file's bytes do not depend
    on it: see write_database_here); `start` does both at once. Then
    `wait` for the file, or `cancel` it.

    Between the two, `check` has the child run two checks of validation too (check/findings.py's
    descriptor_findings and parquet_findings), beside writing the database from the same
    files: it imported frictionless and DuckDB while the build made its tables, and the build
    neither imports them itself nor holds DuckDB's memory while it validates.

    The child reads JSON lines: the database's job, the tables as they come, at most one
    checks' job, then the end of its input. It answers the checks with one JSON line. What
    this process says to it goes through one sender thread, in order: the first line is
    larger than a pipe holds, and the child reads it only once DuckDB is imported."""

    def __init__(self, schema: PackageSchema, warm: bool = True):
        """`warm`: the child starts frictionless up ahead of the descriptor's check; a
        rebuild whose descriptor check is likely proven (check/validate.py's
        descriptor_key) leaves it out, and the child's cores to the database."""
        self.schema = schema
        self.path: Path | None = None
        package_root = str(Path(__file__).resolve().parents[2])
        # Nothing the child runs starts numpy (check/findings.py imports no pyarrow); should
        # anything do so, its BLAS keeps to one thread (workers.QUIET_BLAS).
        env = {**QUIET_BLAS, **os.environ,
               "PYTHONPATH": os.pathsep.join(
                   p for p in (package_root, os.environ.get("PYTHONPATH")) if p)}
        self._stderr = tempfile.TemporaryFile("w+b")
        self._proc = subprocess.Popen([sys.executable, "-c", CHILD_START,
                                       str(os.getpid()), "warm" if warm else "cold"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._stderr, env=env)
        self._lines: queue.SimpleQueue = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send, daemon=True)
        self._sender.start()
        self._ended = False

    def begin(self, out: Path, previous: Path | None = None) -> None:
        """`previous`: the database the last build wrote from the same code, still as it
        left it; the child copies its tables while it waits for this build's (see
        write_database_here), and keeps those that `kept` says are the same."""
        self.path = out / f"{self.schema.name}.duckdb"
        self._say({"descriptor": self.schema.descriptor, "path": str(self.path),
                   "previous": None if previous is None else str(previous)})

    def ready(self, name: str, parquet: Path) -> None:
        """The table `name` is complete in `parquet` (callable from any thread)."""
        self._say({"table": name, "parquet": str(parquet)})

    def stop_copies(self) -> None:
        """The build makes its tables now: the child copies no more tables from the
        `previous` database ahead of need (they would only take a core from the build's
        writers); those taken over are still copied from it as they come."""
        self._say({"copies": "stop"})

    def kept(self, name: str, parquet: Path) -> None:
        """As `ready`, for a table whose rows are those of the last build: `parquet` is its
        file, and the `previous` database of `begin` holds them too."""
        self._say({"table": name, "parquet": str(parquet), "kept": True})

    def start(self, out: Path, parquet: dict[str, Path]) -> None:
        self.begin(out)
        for name, path in parquet.items():
            self.ready(name, path)

    def _say(self, message: dict) -> None:
        self._lines.put(json.dumps(message).encode("utf-8") + b"\n")

    def _send(self) -> None:
        stdin = self._proc.stdin
        try:
            while (line := self._lines.get()) is not None:
                stdin.write(line)
                stdin.flush()
        except OSError:
            pass  # the child is gone: wait() says why
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    def check(self, descriptor: dict, folder: Path, declared: dict,
              parquet: dict[str, Path], skip: list[str] = (), keys_only: list[str] = (),
              descriptor_check: bool = True, spans: dict | None = None) -> dict:
        """{"descriptor": descriptor_findings(descriptor, folder), "parquet":
        parquet_findings(declared, parquet, skip, keys_only, spans)}, found by the child;
        without `descriptor_check`, "descriptor" is left out."""
        self._say({"checks": {"descriptor": descriptor if descriptor_check else None,
                              "folder": str(folder),
                              "declared": declared, "skip": list(skip),
                              "keys_only": list(keys_only),
                              "spans": {name: list(span) for name, span in
                                        (spans or {}).items()},
                              "parquet": {name: str(p) for name, p in parquet.items()}}})
        self._end_input()
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
        """Nothing more to say: the child's input ends once the sender has said the rest."""
        if not self._ended:
            self._ended = True
            self._lines.put(None)

    def _close(self) -> None:
        self._end_input()
        self._sender.join()
        self._proc.stdout.close()
        self._stderr.close()


class _Arriving:
    """The tables' Parquet files as the build hands them over."""

    def __init__(self):
        self._paths: dict[str, Path] = {}
        self._kept: dict[str, bool] = {}
        self._order: list[str] = []
        self._ended = False
        self._stopped = False
        self._changed = threading.Condition()

    def add(self, name: str, path: Path, kept: bool = False) -> None:
        with self._changed:
            if name not in self._paths:
                self._order.append(name)
            self._paths[name] = path
            self._kept[name] = kept
            self._changed.notify_all()

    def stop_copies(self) -> None:
        with self._changed:
            self._stopped = True

    def copying(self) -> bool:
        """Whether tables may still be copied ahead of need (DatabaseWriter.stop_copies)."""
        with self._changed:
            return not self._stopped

    def kept(self, name: str) -> bool:
        """Whether the rows of `name` are those of the last build (DatabaseWriter.kept)."""
        with self._changed:
            return self._kept.get(name, False)

    def end(self) -> None:
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def each(self, names: list[str], idle: Callable[[], bool] | None = None):
        """(name, file) of each of `names`, in the order they come, each as soon as it is
        there; an error if the build ends without one of them. While none is there, `idle()`
        is called, outside the lock, for as long as it says it did something."""
        wanted, given = set(names), 0
        while wanted:
            if idle is not None:
                with self._changed:
                    waiting = len(self._order) == given and not self._ended
                if waiting and idle():
                    continue
            with self._changed:
                self._changed.wait_for(lambda: len(self._order) > given or self._ended)
                if len(self._order) == given:
                    missing = [name for name in names if name in wanted]
                    raise PledgepackError(f"the Parquet file of table {missing[0]} never came")
                name = self._order[given]
                path = self._paths[name]
            given += 1
            if name in wanted:
                wanted.discard(name)
                yield name, path


def write_database_here(schema: PackageSchema, path: Path,
                        parquet: Mapping[str, Path] | _Arriving, con=None,
                        previous: Path | None = None) -> Path:
    """The work of write_database, in this process: each table is stored as soon as its file
    is there (`parquet` as it arrives, or in the schema's order). `con`: a connection to an
    in-memory database of one thread (connect_here), opened ahead; it is closed here.

    `previous` (DatabaseWriter.begin's): while no file is there, the tables are copied from
    that database, read-only, one by one; a table that arrives as kept stays as copied, any
    other is dropped and stored from its file. A copy from DuckDB's own storage takes about
    three quarters of the time a load from Parquet does (100k statements, all tables: 0.15
    against 0.20 s), and it is done while the build is still reading the chapters (a rebuild
    of one chapter's text at 100k, at the command line: 1.19 -> 1.10 s). The file holds the
    same bytes whichever way a table came into it (tests/test_build.py, test_rebuild.py).
    Should the previous database fail to be read, it is written again from the files
    alone.

    A table that changed in a few rows is loaded whole from its new file. Tried and measured:
    the table made from the previous database's, with the changed rows put in their places
    (a UNION ALL of rowid ranges and a small Parquet file of those rows), gave the same bytes
    but no faster rebuild (one status changed at 100k statements, 8 alternating rounds: 1.093
    s without it, 1.134 s with it): finding the rows means reading the last build's file
    back, and the query costs near what a load does (0.08 against 0.106 s). An UPDATE of the
    copied table writes other bytes than a clean build."""

    # One thread and no compression: with several threads, or with the compression DuckDB
    # picks per segment (FSST and others), the same rows now and then give different bytes.
    # One transaction, and nothing of it written before its commit (no optimistic writes,
    # which DuckDB makes of a table's row groups once it holds five, or 20% of its memory
    # limit, in the order the tables are made): the commit writes the tables out in one order
    # whatever order they were made in, so each is made as soon as its file comes. The
    # commit checkpoints at once (a WAL threshold of 1 kB) instead of writing a WAL that the
    # detach then checkpoints. Measured at 300k statements: 0.83 s, against 0.88 s for a
    # transaction per table in the schema's order and 1.24 s with the WAL. Nor does a rebuild
    # gain from a transaction per table with the tables taken over committed first
    # (statements, status_history, sections, then the rest): its database is one chain of
    # work on this one thread, copies, loads and commits, about 0.5 s at 100k statements,
    # only in another order (8 alternating rounds: one chapter's text 0.654 against 0.655 s,
    # one status 1.034 against 0.997 s).
    # The unused end of each storage block: DuckDB 2.0.0 wrote it as its allocator handed the
    # memory over, still holding earlier strings, and the child's jemalloc had to zero all it
    # allocated (DUCKDB_JE_MALLOC_CONF=zero:true, 0.08 s of each 100k build's load and commit);
    # 2.0.1 writes the same bytes from reused memory (tests/test_build.py checks it in one
    # process, with the allocator's memory churned in between).
    # No fdatasync (fsync_mode none): the package's other files are not synced either, and
    # what a build guarantees, that `out` is the old package or the new one, rests on the
    # rename of the whole folder, not on the disk (a killed build leaves the page cache as it
    # is). DuckDB synced the file four times per commit: 0.12 s of a 100k database's 0.59 s,
    # on the critical path of a rebuild; the bytes are the same.
    if con is None:
        con = connect_here()
    try:
        con.execute("SET force_compression = 'uncompressed'")
        con.execute("SET enable_optimistic_write = false")
        con.execute("SET checkpoint_threshold = '1KB'")
        con.execute("SET fsync_mode = 'none'")
        prior = None
        if previous is not None and isinstance(parquet, _Arriving):
            try:
                con.execute(f"ATTACH {quote_literal(previous.as_posix())} AS {PRIOR} "
                            "(READ_ONLY)")
                prior = PRIOR
            except engine().Error:
                pass  # gone, locked by a writer, or not a database: without it
        attach = (f"ATTACH {quote_literal(path.as_posix())} AS package "
                  f"(STORAGE_VERSION {quote_literal(STORAGE_VERSION)})")
        con.execute(attach)
        con.execute("USE package")
        try:
            _store_tables(con, schema, parquet, prior)
        except engine().Error:
            if prior is None:
                raise
            # the previous database could not be read after all: the file is made again, from
            # the Parquet files alone
            try:
                con.execute("ROLLBACK")
            except engine().Error:
                pass  # the failure ended the transaction already
            con.execute("USE memory")
            con.execute("DETACH package")
            con.execute(f"DETACH IF EXISTS {PRIOR}")
            path.unlink()
            con.execute(attach)
            con.execute("USE package")
            _store_tables(con, schema, parquet, None)
        con.execute("USE memory")
        con.execute("DETACH package")
    finally:
        con.close()
    return path


PRIOR = "previous_package"
COPY_FIRST = ("statements", "sections", "status_history")


def _store_tables(con, schema: PackageSchema, parquet: Mapping[str, Path] | _Arriving,
                  prior: str | None) -> None:
    """write_database_here's transaction: the stored schema, the tables, the views."""

    def stored(name: str) -> str:
        return f"{STORED_SCHEMA}.{quote_ident(name)}"

    # the largest first: where it is taken over, it saves the most
    copies = sorted(schema.table_names, key=lambda name: COPY_FIRST.index(name)
                    if name in COPY_FIRST else len(COPY_FIRST)) if prior is not None else []
    copied: set[str] = set()

    def copy_next() -> bool:
        """One table from the previous database, while this build's files are not there."""
        if not copies or not parquet.copying():
            return False
        name = copies.pop(0)
        con.execute(f"CREATE TABLE {stored(name)} AS SELECT * FROM "
                    f"{prior}.{STORED_SCHEMA}.{quote_ident(name)}")
        copied.add(name)
        return True

    con.execute("BEGIN TRANSACTION")
    con.execute(f"CREATE SCHEMA {STORED_SCHEMA}")
    if isinstance(parquet, _Arriving):
        arriving = parquet.each(schema.table_names, copy_next if prior is not None else None)
    else:
        arriving = ((name, parquet[name]) for name in schema.table_names)
    for name, file in arriving:
        kept = prior is not None and parquet.kept(name)
        if name in copies:
            copies.remove(name)
        if name in copied:
            if kept:
                continue
            con.execute(f"DROP TABLE {stored(name)}")
        source = (f"{prior}.{STORED_SCHEMA}.{quote_ident(name)}" if kept
                  else f"read_parquet({quote_literal(file.resolve().as_posix())})")
        con.execute(f"CREATE TABLE {stored(name)} AS SELECT * FROM {source}")
    if prior is not None:
        # every table is in: the blocks DuckDB read of the previous file are let go before the
        # commit needs its memory (300k statements, single runs: rebuild peak PSS 1250-1300
        # -> 1200 MiB)
        con.execute(f"DETACH {prior}")
    for statement in view_statements(schema, stored):
        con.execute(statement)
    con.execute("COMMIT")


# A descriptor for frictionless's first check, made while the child waits for work: the
# first check of a process costs about 0.1 s more than the next.
_WARM_UP = {"$schema": "https://datapackage.org/profiles/2.0/datapackage.json", "name": "x",
            "resources": [{"name": "x", "path": "x.csv",
                           "schema": {"fields": [{"name": "x", "type": "string"}]}}]}


# One thread: see write_database_here.
ENGINE_CONFIG = {"threads": 1}


def connect_here():
    """What write_database_here writes through: an in-memory database (ENGINE_CONFIG)."""
    return engine().connect(":memory:", config=dict(ENGINE_CONFIG))


# The child starts as `python -c CHILD_START <parent pid> warm|cold`. Opening DuckDB costs
# 30-40 ms, importing this package as much again, so the child imports the engine as
# check/sqlchecks.py's engine() does (that module is not imported yet) and opens the
# connection on a thread while it imports the package (DuckDB lets go of the GIL). The first
# entry of sys.path, the folder the build was started in, is dropped: a file of the user's
# there (a json.py) would otherwise be imported in place of the standard library's. Measured
# on the shipped content, 15 alternating, from the child's start to its database written:
# 0.220 s as `-m pledgepack.query.views` importing duckdb, 0.142 s.
CHILD_START = f"""\
import sys
if sys.path[:1] == [""]:  # not there under PYTHONSAFEPATH
    del sys.path[0]
import threading
try:
    import _duckdb as engine
except ImportError:
    import duckdb as engine
opened = []
opening = threading.Thread(
    target=lambda: opened.append(engine.connect(":memory:", config={ENGINE_CONFIG!r})))
opening.start()
from pledgepack.query.views import child_main
child_main(opening, opened)
"""


def child_main(opening: threading.Thread, opened: list) -> None:
    """The child's life: its parent's end ends it; it does its work (_child) and exits."""
    from ..workers import die_with_parent

    die_with_parent(int(sys.argv[1]))
    _child(sys.stdin, sys.stdout, sys.argv[2:3] != ["cold"], (opening, opened))
    # The database is closed and every answer said: ending without Python's teardown of
    # DuckDB, pyarrow and frictionless saves the build 0.05-0.1 s of waiting.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _child(stdin, stdout, warm: bool = True, opening: tuple | None = None) -> None:
    """The child's work: the database on a thread of its own (DuckDB lets go of the GIL),
    each table as soon as its file comes, and meanwhile the checks when they are asked for.
    `opening`: (thread, list) as CHILD_START opens the connection; the list holds it once the
    thread is done, or nothing if opening failed (then it is opened again, and says why).
    Where `warm`, frictionless is imported, and its first check paid for, on a thread of its
    own from the start: in a rebuild the job and the tables come before that would be done.
    Otherwise the checks' code is imported when they are asked for, and not while the
    database starts (importing holds the GIL the database's thread needs between tables)."""

    def warm_up() -> None:
        from ..check.findings import descriptor_findings

        descriptor_findings(_WARM_UP, ".")

    warming = threading.Thread(target=warm_up, daemon=True)
    if warm:
        warming.start()
    job = json.loads(stdin.readline())
    arriving = _Arriving()
    failed: list[BaseException] = []

    def database() -> None:
        try:
            con = None
            if opening is not None:
                thread, opened = opening
                thread.join()
                con = opened[0] if opened else None
            previous = job.get("previous")
            write_database_here(PackageSchema(job["descriptor"]), Path(job["path"]), arriving,
                                con, None if previous is None else Path(previous))
        except BaseException as exc:  # noqa: BLE001 - raised again below
            failed.append(exc)

    writer = threading.Thread(target=database)
    writer.start()
    try:
        for line in stdin:
            message = json.loads(line)
            if "copies" in message:
                arriving.stop_copies()
            elif "table" in message:
                arriving.add(message["table"], Path(message["parquet"]),
                             message.get("kept", False))
            elif "checks" in message:
                if warm:
                    warming.join()
                from ..check.findings import descriptor_findings, parquet_findings

                checks = message["checks"]
                findings = {}
                if checks["descriptor"] is not None:
                    findings["descriptor"] = descriptor_findings(checks["descriptor"],
                                                                 checks["folder"])
                findings["parquet"] = parquet_findings(checks["declared"], {
                    name: Path(p) for name, p in checks["parquet"].items()},
                    checks["skip"], checks["keys_only"], checks["spans"])
                stdout.write(json.dumps(findings) + "\n")
                stdout.flush()
    finally:
        arriving.end()
        writer.join()
    if failed:
        raise failed[0]
