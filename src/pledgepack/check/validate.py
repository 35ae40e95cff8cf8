"""Validate a built package: one report with every problem.

- the descriptor, with frictionless (Data Package v2 profile);
- every file's bytes and sha256 hash (the build's own check does not hash again what its
  descriptor hashed a moment before);
- each table's Parquet file (its resource's `parquet` property), with DuckDB SQL derived
  from the schema declared there;
- CSV and Parquet of each table equal row for row;
- the CSV resources, with frictionless (types, constraints, keys), unless `csv_rows` is off.

Without the frictionless row pass the CSV is still proven: it is read back with the schema's
types and found equal, cell for cell, to a Parquet file that passed every schema check. The
row pass reads the same values a second time through frictionless's own parsers, at about
10k rows/s per core, which is what makes it the slowest check by far; the build leaves it
to `pledgepack validate` and to releases. A rebuild reads back, and checks one row at a time,
only the rows of a table that it does not share with the last build's (check/proven.py).
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .findings import descriptor_findings, parquet_findings
from ..package.descriptor import (
    DESCRIPTOR,
    PARQUET,
    is_old_parquet,
    parquet_files,
    sha256,
)

# Below this many CSV bytes, worker processes cost more than they save.
PARALLEL_MIN_BYTES = 4 << 20
LIMIT_ERRORS = 100
# (descriptor, folder, declared, parquet, skip, keys_only, descriptor_check, spans) ->
# {"descriptor": descriptor_findings(descriptor, folder) (left out without descriptor_check),
# "parquet": parquet_findings(declared, parquet, skip, keys_only, spans)}, found elsewhere
Checks = Callable[[dict, Path, dict, dict, list, list, bool, dict], dict]


@dataclass(frozen=True, slots=True)
class Problem:
    check: str
    resource: str | None
    message: str
    row: int | None = None
    field: str | None = None

    def format(self) -> str:
        place = self.resource or DESCRIPTOR
        if self.row is not None:
            place += f", row {self.row}"
        if self.field:
            place += f", field {self.field}"
        return f"{place}: {self.check}: {' '.join(self.message.split())}"

    def to_dict(self) -> dict:
        return {"check": self.check, "resource": self.resource, "row": self.row,
                "field": self.field, "message": self.message}


@dataclass
class Report:
    folder: str
    problems: list[Problem] = field(default_factory=list)
    resources: dict[str, dict] = field(default_factory=dict)
    seconds: float = 0.0
    # Wall seconds per check in this process; "frictionless rows" sums the seconds each CSV's
    # frictionless run took, in whichever process ran it.
    timings: dict[str, float] = field(default_factory=dict)
    csv_rows: bool = True
    # table -> [own key, whole key, rows] of each table found sound: the keys name what its
    # own checks and all of its checks read (see table_keys); a later validation may take
    # them as proven.
    verdicts: dict[str, list] = field(default_factory=dict)
    # the tables whose checks were not run again, being proven; and those whose own checks
    # were not, only those of their foreign keys
    proven: list[str] = field(default_factory=list)
    keys_only: list[str] = field(default_factory=list)
    # table -> how many of its rows were not checked one by one, being the last build's
    # (check/proven.py)
    rows_proven: dict[str, int] = field(default_factory=dict)
    # what the descriptor's check read (descriptor_key), once the whole package was found
    # sound; and whether that check was not run again, being proven
    descriptor_key: str | None = None
    descriptor_proven: bool = False

    @property
    def valid(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"valid": self.valid, "folder": self.folder, "seconds": round(self.seconds, 3),
                "checks": self.checks, "resources": self.resources,
                "problems": [p.to_dict() for p in self.problems]}

    @property
    def checks(self) -> list[str]:
        checks = ["descriptor", "files", "parquet", "csv-parquet"]
        return checks + ["frictionless rows"] if self.csv_rows else checks

    def format(self) -> str:
        lines = [p.format() for p in self.problems]
        tables = sum(1 for r in self.resources.values() if r.get("format") == "parquet")
        rows = sum(r.get("rows") or 0 for r in self.resources.values()
                   if r.get("format") == "parquet")
        status = "valid" if self.valid else f"INVALID: {len(self.problems)} problem(s)"
        how = ("" if self.csv_rows
               else "; CSV rows proven equal to Parquet, not read by frictionless")
        if self.rows_proven:
            how += (f"; {sum(self.rows_proven.values())} rows as the last build found them, "
                    "checked then")
        lines.append(f"{self.folder}: {status} ({len(self.resources)} files, "
                     f"{tables} tables, {rows} rows{how})")
        return "\n".join(lines)


def _frictionless_csv(descriptor: dict, basepath: str) -> list[dict]:
    """Validate one CSV resource with frictionless; foreign keys are checked with DuckDB."""
    from frictionless import Resource

    started = time.perf_counter()
    descriptor = json.loads(json.dumps(descriptor))
    descriptor["schema"].pop("foreignKeys", None)
    report = Resource.from_descriptor(descriptor, basepath=basepath).validate(
        limit_errors=LIMIT_ERRORS)
    errors = [e for task in report.tasks for e in task.errors] + list(report.errors)
    out = [{"check": e.type, "message": e.message, "row": getattr(e, "row_number", None),
            "field": getattr(e, "field_name", None)} for e in errors]
    task = report.tasks[0] if report.tasks else None
    rows = task.stats.get("rows") if task else None
    return [{"rows": rows, "seconds": time.perf_counter() - started}] + out


def validate_package(folder: Path | str, *, jobs: int = 2, csv_rows: bool = True,
                     rehash: bool = True, checks: Checks | None = None,
                     proven: dict[str, int] | None = None,
                     proven_descriptor: str | None = None,
                     csv_checked: dict[str, str | None] | None = None,
                     rows_checked: dict[str, tuple[int, int]] | None = None) -> Report:
    """Every check on the package in `folder`; `csv_rows=False` leaves out the frictionless
    pass over the CSV rows (see the module's docstring for why that still proves them).
    `rehash=False` is for the build, whose descriptor took each file's hash from the file
    itself moments before, in a folder of its own: the files are still found, placed and
    sized, but not read a second time. `checks` runs the descriptor's check and the Parquet
    checks elsewhere (in the build, its database's child, which reads the same files and has
    imported frictionless and DuckDB while the build made its tables): this process then
    imports neither, nor holds DuckDB's memory.

    `proven` ({key: rows}, from the `verdicts` of an earlier report) is for the build too: a
    table whose whole key (table_keys) is there is not checked again, nor its CSV compared;
    one whose own key is there has only its foreign keys checked. The own key names its files
    by their hashes in this descriptor, what the descriptor declares of them, and the code and
    libraries that check; the whole key adds the files of the tables its foreign keys point
    to. The checks would read the same bytes the same way and find what they found before.
    Only with `rehash=False`, where the hashes are the files' own (the build's).
    `proven_descriptor` (an earlier report's descriptor_key) is the same for the descriptor's
    own check: it is not run again where the key is the same; the descriptor is always read,
    and every file it declares found and its size held against the file.
    `csv_checked` ({table: difference or None}) is the build's too: the tables whose CSV file
    it read back and compared with the rows it wrote their Parquet file from, as soon as it had
    written them (package/writers.py's csv_check), with what it found. Their CSV is not
    compared with the Parquet file again: that would read the Parquet file only to find the
    same rows. Only with `rehash=False` and without `csv_rows`.
    `rows_checked` ({table: (start, stop)}) is the build's too, with `checks`: the tables whose
    other rows are the last build's (check/proven.py), whose CSV it read back only in those
    rows; their Parquet file's checks of one row at a time look at those rows alone."""
    started = time.perf_counter()
    folder = Path(folder)
    if folder.name == DESCRIPTOR and folder.is_file():
        folder = folder.parent  # the descriptor given for its package
    report = Report(folder=str(folder), csv_rows=csv_rows)
    problem = report.problems.append
    path = folder / DESCRIPTOR
    if folder.exists() and not folder.is_dir():
        problem(Problem("descriptor", None, f"{folder} is a file, not a package folder: give "
                        f"the folder that holds {DESCRIPTOR}"))
        return report
    try:
        descriptor = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problem(Problem("descriptor", None, f"{path} not found: is this a built package?"))
        return report
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem(Problem("descriptor", None, f"{path} is not valid JSON: {exc}"))
        return report
    except OSError as exc:
        problem(Problem("descriptor", None, f"{path} cannot be read: {exc.strerror}"))
        return report
    if not isinstance(descriptor, dict):
        problem(Problem("descriptor", None, f"{path} is not a JSON object"))
        return report
    clock = _Clock(report.timings)
    key = descriptor_key(descriptor) if not rehash and not csv_rows else None
    skip = key is not None and key == proven_descriptor
    # The descriptor's own check (frictionless, pure Python) runs on a thread beside the
    # checks of the data (DuckDB and Arrow, which let go of the GIL). Their findings count
    # only when the descriptor is sound: with a malformed one they would check something
    # else than it says, or fail on it.
    with ThreadPoolExecutor(max_workers=2) as threads:
        found = (None if checks or skip
                 else threads.submit(_descriptor_problems, descriptor, folder, clock))
        data = Report(folder=report.folder, csv_rows=csv_rows, timings=report.timings)
        answer: dict = {}
        failure = None
        try:
            _check_data(folder, descriptor, data, jobs, csv_rows, clock, threads, rehash,
                        checks, answer, None if rehash or csv_rows else proven, not skip,
                        None if rehash or csv_rows else csv_checked,
                        None if rehash or csv_rows else rows_checked)
        except _read_errors() as exc:
            data.problems.append(Problem("data", None, f"a data file cannot be read: {exc}"))
        except Exception as exc:  # noqa: BLE001 - raised again below if the descriptor is sound
            failure = exc
        if skip:
            report.descriptor_proven = True
        elif found is not None:
            report.problems.extend(found.result())
        elif "descriptor" in answer:
            report.problems.extend(Problem(t, None, m) for t, m in answer["descriptor"])
        else:  # the data's checks failed before the descriptor's answer came
            report.problems.extend(_descriptor_problems(descriptor, folder, clock))
    if not report.problems:
        if failure is not None:
            raise failure
        if descriptor.get("$schema") != "https://datapackage.org/profiles/2.0/datapackage.json":
            report.problems.append(Problem("descriptor", None,
                                           "not declared as Data Package v2 ($schema)"))
        report.problems.extend(data.problems)
        report.resources = data.resources
        report.proven, report.keys_only = data.proven, data.keys_only
        report.rows_proven = data.rows_proven
        if not report.problems:
            report.verdicts, report.descriptor_key = data.verdicts, key
    report.seconds = time.perf_counter() - started
    return report


_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")


def descriptor_key(descriptor: dict) -> str | None:
    """What the descriptor's check (descriptor_findings) reads of `descriptor`, with the code
    and libraries that check it, but not the files' sizes and hashes: a descriptor that
    differs from one found sound only in those, each of the same form (a size in bytes, a
    sha256 in lower-case hex), gets the same findings, for the check reads their form, not
    the files. None where a resource has no such size and hash."""
    from ..fingerprint import code_digest

    shape = json.loads(json.dumps(descriptor))
    for resource in shape.get("resources") if isinstance(shape.get("resources"), list) else ():
        declared = [resource, resource.get(PARQUET)] if isinstance(resource, dict) else [None]
        for item in declared:
            if not isinstance(item, dict):
                return None
            size, digest = item.get("bytes"), item.get("hash")
            if type(size) is not int or size < 0 or not isinstance(digest, str) \
                    or not _SHA256.fullmatch(digest):
                return None
            item["bytes"], item["hash"] = "<bytes>", "<sha256>"
    return _digest([code_digest(), shape])


def _descriptor_problems(descriptor: dict, folder: Path, clock) -> list[Problem]:
    with clock("descriptor"):
        return [Problem(t, None, m) for t, m in descriptor_findings(descriptor, folder)]


def _read_errors() -> tuple[type[BaseException], ...]:
    """What a damaged data file raises: DuckDB's errors count where DuckDB was imported."""
    from pyarrow import ArrowException

    duckdb = sys.modules.get("duckdb")
    return (OSError, ArrowException) + ((duckdb.Error,) if duckdb else ())


def table_keys(descriptor: dict) -> dict[str, tuple[str, str]]:
    """table -> (own key, whole key), what its own checks and all its checks read: its CSV
    resource and Parquet file as the descriptor declares them (with their hashes and sizes)
    and the code and libraries that check them; and for the whole key, the Parquet files of
    the tables its foreign keys point to."""
    from ..fingerprint import code_digest

    resources = {r.get("name"): r for r in descriptor.get("resources", [])
                 if isinstance(r, dict) and not is_old_parquet(r)}
    declared = parquet_files(descriptor)
    keys = {}
    for table, parquet in declared.items():
        schema = parquet.get("schema") if isinstance(parquet.get("schema"), dict) else {}
        foreign = schema.get("foreignKeys")
        references = [fk.get("reference") for fk in foreign if isinstance(fk, dict)] \
            if isinstance(foreign, list) else []
        pointed = sorted({str(ref.get("resource")) for ref in references
                          if isinstance(ref, dict)} - {table})
        own = _digest([code_digest(), resources.get(table), parquet])
        keys[table] = (own, _digest([own, [[name, declared.get(name)] for name in pointed]]))
    return keys


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str)
                          .encode("utf-8")).hexdigest()


def _check_data(folder: Path, descriptor: dict, report: Report, jobs: int, csv_rows: bool,
                clock, threads: ThreadPoolExecutor, rehash: bool = True,
                checks: Checks | None = None, answer: dict | None = None,
                proven: dict[str, int] | None = None, descriptor_check: bool = True,
                csv_checked: dict[str, str | None] | None = None,
                rows_checked: dict[str, tuple[int, int]] | None = None) -> None:
    """The checks of the data; with `checks`, the descriptor's (unless not
    `descriptor_check`) and the Parquet checks are asked of it, and its answer is kept in
    `answer`. The tables `proven` holds the keys of are not checked again, nor those in
    `csv_checked` compared with their CSV; those in `rows_checked` are checked one row at a
    time in the rows it gives alone."""
    problem = report.problems.append
    resources = [r for r in descriptor.get("resources", [])
                 if isinstance(r, dict) and not is_old_parquet(r)]
    # The Parquet files are checked and reported under their paths: in this shape they are
    # no resources of their own.
    declared = parquet_files(descriptor)
    labels = {table: p["path"] if isinstance(p.get("path"), str) else f"{table} (parquet)"
              for table, p in declared.items()}
    with clock("files"):
        files = _check_files(folder, resources + [{**p, "name": labels[t]}
                                                  for t, p in declared.items()], report, rehash)
    csv_resources = [r for r in resources if r.get("format") == "csv" and r["name"] in files
                     and csv_rows]
    parquet = {t: files[labels[t]] for t in declared if labels[t] in files}
    keys = table_keys(descriptor)
    proven = proven if proven and not report.problems else {}
    known = {t: proven[keys[t][1]] for t in parquet if keys[t][1] in proven}
    report.proven = sorted(known)
    report.keys_only = sorted(t for t in parquet if t not in known and keys[t][0] in proven)
    # rows proven only count for a table whose CSV the build read back in the others
    spans = {table: span for table, span in (rows_checked or {}).items()
             if table in parquet and table not in known and table in (csv_checked or {})}
    asked = (threads.submit(checks, descriptor, folder, declared, parquet, report.proven,
                            report.keys_only, descriptor_check, spans) if checks else None)
    csv_bytes = sum(files[r["name"]].stat().st_size for r in csv_resources)
    pool = None
    if jobs > 1 and csv_bytes >= PARALLEL_MIN_BYTES:
        from ..workers import context, start_quiet_worker

        pool = ProcessPoolExecutor(max_workers=jobs, initializer=start_quiet_worker,
                                   mp_context=context())
    try:
        pending: dict[str, Future] = {}
        for resource in sorted(csv_resources, key=lambda r: -files[r["name"]].stat().st_size):
            if pool:
                pending[resource["name"]] = pool.submit(_frictionless_csv, resource, str(folder))
        # Both read the same Parquet files, in C++ that lets go of the GIL: side by side.
        same = set(known) | set(report.keys_only)  # the CSV is compared by the own checks
        for table, difference in (csv_checked or {}).items():
            if table in labels and table in parquet and table not in same:
                same.add(table)
                if difference:
                    problem(Problem("csv-parquet", table,
                                    f"differs from {labels[table]}: {difference}"))
        compared = threads.submit(_timed, clock, "csv-parquet", _compare_csv_parquet,
                                  [r for r in resources if r.get("name") not in same], files,
                                  labels, parquet)
        with clock("parquet"):
            if asked is not None:
                answer.update(asked.result())
            _check_parquet(declared, labels, parquet, report, answer.get("parquet"), known,
                           report.keys_only, spans)
        for table in parquet:
            rows = report.resources[labels[table]]["rows"]
            if rows is not None:
                report.verdicts[table] = [*keys[table], rows]
                if table in spans:
                    report.rows_proven[table] = rows - (spans[table][1] - spans[table][0])
        report.problems.extend(compared.result())
        with clock("frictionless wait"):
            for resource in csv_resources:
                name = resource["name"]
                result = (pending[name].result() if name in pending
                          else _frictionless_csv(resource, str(folder)))
                report.resources[name]["rows"] = result[0]["rows"]
                report.timings["frictionless rows"] = (report.timings.get("frictionless rows", 0.0)
                                                       + result[0]["seconds"])
                for item in result[1:]:
                    problem(Problem(item["check"], name, item["message"], item["row"],
                                    item["field"]))
    finally:
        if pool:
            pool.shutdown()


def _timed(clock, name: str, fn, *args):
    with clock(name):
        return fn(*args)


class _Clock:
    def __init__(self, timings: dict[str, float]):
        self.timings = timings

    @contextmanager
    def __call__(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started


def _check_files(folder: Path, resources: list[dict], report: Report,
                 rehash: bool = True) -> dict[str, Path]:
    """Existence, place, bytes and (with `rehash`) hash of every declared file."""
    files = {}
    real = folder.resolve()
    for resource in resources:
        name, rel = resource.get("name"), resource.get("path")
        if not isinstance(rel, str):
            report.problems.append(Problem("descriptor", name, "resource has no single path"))
            continue
        path = folder / rel
        if real not in path.resolve().parents:
            report.problems.append(Problem("path", name, f"{rel} lies outside the package"))
            continue
        if not path.is_file():
            report.problems.append(Problem("path", name, f"{rel} does not exist"))
            continue
        files[name] = path
        info = {"path": rel, "format": resource.get("format"), "bytes": path.stat().st_size}
        report.resources[name] = info
        if resource.get("bytes") != info["bytes"]:
            report.problems.append(Problem("bytes", name,
                                           f"descriptor says {resource.get('bytes')} "
                                           f"bytes, the file has {info['bytes']}"))
        algorithm, _, expected = str(resource.get("hash", "")).rpartition(":")
        if not rehash:
            if algorithm != "sha256" or len(expected) != 64:
                report.problems.append(Problem("hash", name, f"descriptor says "
                                                             f"{resource.get('hash')!r}"))
            continue
        actual = sha256(path)
        if algorithm != "sha256" or expected != actual:
            report.problems.append(Problem("hash", name, f"descriptor says "
                                                         f"{resource.get('hash')!r}, the file "
                                                         f"has sha256:{actual}"))
    return files


def _check_parquet(declared: dict[str, dict], labels: dict[str, str],
                   parquet: dict[str, Path], report: Report,
                   findings: dict | None = None, known: dict[str, int] | None = None,
                   keys_only: list[str] = (), spans: dict | None = None) -> None:
    """The findings of parquet_findings (or those given, found elsewhere), each under its
    file's label; the rows of the tables in `known` as given."""
    known = known or {}
    if findings is None:
        findings = parquet_findings(declared, parquet, sorted(known), keys_only, spans)
    for table in parquet:
        if table in known:
            report.resources[labels[table]]["rows"] = known[table]
            continue
        label, found = labels[table], findings[table]
        for item in found["problems"]:
            report.problems.append(Problem(item["check"], label, item["message"],
                                           field=item["field"]))
        report.resources[label]["rows"] = found["rows"]


def _compare_csv_parquet(resources: list[dict], files: dict[str, Path], labels: dict[str, str],
                         parquet: dict[str, Path]) -> list[Problem]:
    """Each CSV resource and its Parquet file hold the same rows in order."""
    from .tabular import first_difference

    problems = []
    for resource in resources:
        name = resource["name"]
        if resource.get("format") != "csv" or name not in files:
            continue
        if name not in labels:
            problems.append(Problem("csv-parquet", name,
                                    "declares no Parquet file (property 'parquet')"))
            continue
        if name not in parquet:
            continue  # its file is missing or outside the package, as said above
        difference = first_difference(files[name], parquet[name], resource["schema"])
        if difference:
            problems.append(Problem("csv-parquet", name,
                                    f"differs from {labels[name]}: {difference}"))
    return problems
