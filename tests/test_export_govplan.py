"""pledgepack export govplan: the files froide-govplan's import takes, checked with an oracle of
its importer (tests/govplan_oracle.py) that nothing the handlers can carry is lost."""
from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import chapter, make_document
from govplan_oracle import STATUSES, ImportFailed, Store, run_import

GOV = "testland-2024"
LONG = ("Wir werden die Verwaltung vollständig digitalisieren " * 8).strip()
DEADLINES = {"mitte": "2022-07-01", "ende": "2022-12-01", "anfang": "2023-03-01",
             "innerhalb": "2024-12-31", "juni": "2025-06-01", "jahr": "2026-01-01",
             "krumm": "2023-05-15", "_krumm*2_": "2023-05-17"}


def _statements() -> str:
    items = [f"""
    - id: {sid}
      summary: Frist {sid}
      status: not_implemented
      deadline: {day}
    """ for sid, day in DEADLINES.items()]
    items.append(f"""
    - id: lang
      summary: {LONG}
      status: partially_implemented
      last_update: 2024-05-02
      reports:
        - title: Entwurf
          url: https://example.gov/entwurf
        - url: https://example.gov/zweiter
    """)
    items += ["""
    - id: doppelt-a
      summary: Gleiche Zusammenfassung
      status: implemented
      last_update: 2024-06-01
      categories: [Bildung und Forschung]
    """, """
    - id: doppelt-b
      summary: Gleiche Zusammenfassung
      status: broken
      last_update: 2024-07-01
      history:
        - date: 2023-01-10
          status: partially_implemented
          note: Entwurf vorgelegt
          url: https://example.gov/h
    """, """
    - id: ausbauBSI
      summary: BSI ausbauen
      status: not_implemented
    """, """
    - id: ausbaubsi
      summary: BSI ausbauen, klein geschrieben
      status: not_implemented
    """, """
    - id: verschlüsselung
      summary: Verschlüsselung stärken
      status: implemented
      last_update: 2022-02-02
      measure: law
    """, """
    - id: ziel-2025,a
      summary: Ziel mit Zeichen
      status: not_implemented
    """]
    return "".join(__import__("textwrap").dedent(i) for i in items)


@pytest.fixture
def package(tmp_path, run) -> Path:
    ids = ["lang", "doppelt-a", "doppelt-b", "ausbauBSI", "ausbaubsi", "verschlüsselung",
           "ziel-2025,a", *DEADLINES]
    body = " ".join(f"[Zitat {i} im Text](#{i})" for i in ids) + "\n"
    content = make_document(tmp_path / "content", chapters={
        "1-kapitel.md": chapter(_statements(), body)})
    out = tmp_path / "dist"
    result = run("build", "--content", content, "--out", out, "--no-git-history")
    assert result.exit_code == 0, result.output
    return out


def _export(run, package, out, *extra):
    return run("export", "govplan", package, "--government", GOV, "-o", out, *extra)


def _table(package, name):
    return pq.read_table(package / "data" / f"{name}.parquet").to_pylist()


def test_the_importer_takes_every_pledge_without_loss(package, tmp_path, run):
    out = tmp_path / "govplan"
    result = _export(run, package, out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "mapping.json", "plans.csv",
                                                     "updates.json"]
    raw = (out / "plans.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    raw.decode("utf-8")
    store = Store()
    run_import(store, GOV, out / "mapping.json", out / "plans.csv")
    statements = {s["statement_id"]: s for s in _table(package, "statements")}
    crosswalk = {r["status"]: r["govplan_status"] for r in _table(package, "statuses")}
    # One plan per pledge: nothing merged by equal titles or equal slugs.
    assert len(store.plans) == len(statements)
    with open(out / "plans.csv", encoding="utf-8", newline="") as handle:
        rows = {r["slug"]: r for r in csv.DictReader(handle)}
    for plan in store.plans:
        s = statements[rows[plan.slug]["statement_id"]]
        assert plan.slug.startswith(f"{GOV}-") and plan.public is True
        assert len(plan.title) <= 255
        assert plan.quote == s["quote"]
        assert plan.status == crosswalk[s["status"]] and plan.status in STATUSES
        assert plan.measure == (s["measure"] or "")
        if plan.title != s["summary"]:
            assert s["summary"] in plan.description
        if s["deadline"] and s["id"] not in ("krumm", "_krumm*2_"):
            assert plan.due_date == s["deadline"], s["id"]
        if "," not in s["id"] and "/" not in s["id"]:
            assert plan.reference == s["id"]
    by_id = {statements[rows[p.slug]["statement_id"]]["id"]: p for p in store.plans}
    assert by_id["krumm"].due_date == dt.date(2023, 12, 31)
    assert "2023-05-15" in by_id["krumm"].description
    assert len(by_id["lang"].title) <= 255 and by_id["lang"].title.endswith("…")
    assert by_id["doppelt-a"].title != by_id["doppelt-b"].title
    assert by_id["ausbauBSI"].slug != by_id["ausbaubsi"].slug
    assert by_id["verschlüsselung"].slug == f"{GOV}-testland-2024-verschlusselung"
    assert by_id["verschlüsselung"].reference == "verschlüsselung"
    assert by_id["doppelt-b"].status == "deferred"
    # What it cannot carry is said, on stderr and in the README.
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert f"import_govplan {GOV} mapping.json plans.csv" in readme
    assert "2023-05-15" in readme and "ziel-2025,a" in readme
    assert "note: testland-2024/krumm: deadline 2023-05-15" in result.stderr
    # Markdown characters an id may hold are written as text, not as emphasis.
    assert "- testland-2024/\\_krumm\\*2\\_: deadline 2023-05-17 becomes" in readme
    # Running the import again updates the same plans.
    run_import(store, GOV, out / "mapping.json", out / "plans.csv")
    assert len(store.plans) == len(statements)


def test_updates_carry_every_report_and_status_change(package, tmp_path, run):
    out = tmp_path / "govplan"
    assert _export(run, package, out).exit_code == 0
    data = json.loads((out / "updates.json").read_text(encoding="utf-8"))
    assert data["government"] == GOV
    updates = data["updates"]
    with open(out / "plans.csv", encoding="utf-8", newline="") as handle:
        slug = {r["statement_id"]: r["slug"] for r in csv.DictReader(handle)}
    reports = _table(package, "reports")
    history = [h for h in _table(package, "status_history")
               if h["status"] != h["previous_status"]]
    assert sum(u["kind"] == "report" for u in updates) == len(reports)
    assert sum(u["kind"] == "status" for u in updates) == len(history)
    for r in reports:
        assert any(u["plan"] == slug[r["statement_id"]] and u["url"] == r["url"]
                   and u["status"] == "" for u in updates)
    lang = [u for u in updates if u["plan"] == slug["testland-2024/lang"] and u["kind"] == "report"]
    assert [u["timestamp"] for u in lang] == ["2024-05-02T00:00:00Z"] * 2
    assert {u["timestamp_source"] for u in lang} == {"last_update"}
    b = [u for u in updates if u["plan"] == slug["testland-2024/doppelt-b"]]
    assert [(u["timestamp"], u["status"], u["url"], u["title"]) for u in b] == [
        ("2023-01-10T00:00:00Z", "partially_implemented", "https://example.gov/h",
         "Entwurf vorgelegt"),
        ("2024-07-01T00:00:00Z", "deferred", "", "Status: Gebrochen")]
    # froide-govplan takes a plan's status from its latest update with a status.
    store = Store()
    run_import(store, GOV, out / "mapping.json", out / "plans.csv")
    for plan in store.plans:
        dated = [u for u in updates if u["plan"] == plan.slug and u["status"] and u["timestamp"]]
        if dated:
            assert max(dated, key=lambda u: u["timestamp"])["status"] == plan.status
    assert all(u["timestamp_source"] != "not stated" or u["timestamp"] is None for u in updates)


def test_categories_are_mapped_only_when_the_importer_keeps_them(package, tmp_path, run):
    out = tmp_path / "govplan"
    result = _export(run, package, out, "--categories")
    assert result.exit_code == 1
    assert "testland-2024/doppelt-a: category 'Bildung und Forschung' would be split by the " \
        "importer" in result.stderr
    assert "testland-2024/krumm: no categories" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()
    assert _export(run, package, out).exit_code == 0
    assert "categories" not in json.loads((out / "mapping.json").read_text(encoding="utf-8"))
    assert list(json.loads((out / "mapping.json").read_text(encoding="utf-8")))[:2] == \
        ["title", "slug"]


def test_the_oracle_catches_what_the_server_would_refuse(package, tmp_path, run):
    """The oracle is not a mirror of the export: a BOM, a title over 255 characters and an
    empty rating make it fail as the import would."""
    out = tmp_path / "govplan"
    assert _export(run, package, out).exit_code == 0
    text = (out / "plans.csv").read_text(encoding="utf-8")
    (out / "bom.csv").write_text("\ufeff" + text, encoding="utf-8")
    with pytest.raises(ImportFailed, match="no column 'title'"):
        run_import(Store(), GOV, out / "mapping.json", out / "bom.csv")
    rows = list(csv.DictReader(text.splitlines(keepends=True)))
    rows[0]["title"] = "x" * 256
    long_csv = out / "long.csv"
    with open(long_csv, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ImportFailed, match="too long for title"):
        run_import(Store(), GOV, out / "mapping.json", long_csv)
    (out / "rating.json").write_text(json.dumps({"title": "title", "rating": "measure"}))
    with pytest.raises(ImportFailed, match="rating"):
        run_import(Store(), GOV, out / "rating.json", out / "plans.csv")


def test_bad_package_and_government_are_reported_without_traceback(package, tmp_path, run):
    missing = run("export", "govplan", tmp_path / "nowhere", "--government", GOV, "-o",
                  tmp_path / "o")
    assert missing.exit_code == 1 and "not a built package" in missing.stderr
    bad = run("export", "govplan", package, "--government", "Bund 2021", "-o", tmp_path / "o")
    assert bad.exit_code == 2 and "--government" in bad.stderr
    unknown = _export(run, package, tmp_path / "o", "--document", "berlin")
    assert unknown.exit_code == 1 and "no document 'berlin'; it has testland-2024" in unknown.stderr
    assert "Traceback" not in missing.output + bad.output + unknown.output


def test_same_package_gives_the_same_bytes(package, tmp_path, run):
    a, b = tmp_path / "a", tmp_path / "b"
    assert _export(run, package, a).exit_code == 0 and _export(run, package, b).exit_code == 0
    assert {p.name: p.read_bytes() for p in a.iterdir()} == \
        {p.name: p.read_bytes() for p in b.iterdir()}


def test_categories_mapped_reach_the_plans(tmp_path, run):
    content = make_document(tmp_path / "content", chapters={"1-k.md": chapter("""
        - id: a
          summary: Eins
          status: implemented
          categories: [Verwaltung, Digitales]
        - id: b
          summary: Zwei
          status: not_implemented
          categories: [Umwelt]
        """, "[a](#a) [b](#b)\n")})
    package, out = tmp_path / "dist", tmp_path / "govplan"
    assert run("build", "--content", content, "--out", package).exit_code == 0
    assert _export(run, package, out, "--categories").exit_code == 0
    store = Store(categories={"Verwaltung", "Digitales", "Umwelt"})
    run_import(store, GOV, out / "mapping.json", out / "plans.csv")
    assert {p.title: p.categories for p in store.plans} == {
        "Eins": ["Verwaltung", "Digitales"], "Zwei": ["Umwelt"]}
    with pytest.raises(ImportFailed, match="does not exist"):
        run_import(Store(categories={"Umwelt"}), GOV, out / "mapping.json", out / "plans.csv")


def test_status_updates_take_the_effective_date_and_say_whose_it_is(package, tmp_path, run):
    """Each status update is dated by the day its status took effect (effective_date), and
    says whose date that is; an event without a date says "not stated"."""
    history = pq.read_table(package / "data" / "status_history.parquet").to_pylist()
    expected = [
        (f"{r['effective_date'].isoformat()}T00:00:00Z" if r["effective_date"] else None,
         r["effective_date_source"] if r["effective_date"] else "not stated")
        for r in history if r["status"] is not None]
    assert {source for _, source in expected} >= {"editor"}
    out = tmp_path / "govplan"
    assert _export(run, package, out).exit_code == 0
    updates = json.loads((out / "updates.json").read_text(encoding="utf-8"))["updates"]
    status = [u for u in updates if u["kind"] == "status"]
    def order(pair):
        return (pair[0] is None, pair[0] or "", pair[1])

    assert sorted(((u["timestamp"], u["timestamp_source"]) for u in status), key=order) \
        == sorted(expected, key=order)


def test_the_package_is_read_from_its_files_wherever_it_lies(package, tmp_path, run):
    """Only datapackage.json and the Parquet files it names are read: an unzipped release
    elsewhere (without the .duckdb file or the CSV) gives the same export."""
    import shutil

    moved = tmp_path / "unzipped"
    (moved / "data").mkdir(parents=True)
    shutil.copy(package / "datapackage.json", moved)
    for parquet in (package / "data").glob("*.parquet"):
        shutil.copy(parquet, moved / "data")
    a, b = tmp_path / "a", tmp_path / "b"
    assert _export(run, package, a).exit_code == 0 and _export(run, moved, b).exit_code == 0
    assert {p.name: p.read_bytes() for p in a.iterdir()} == \
        {p.name: p.read_bytes() for p in b.iterdir()}
