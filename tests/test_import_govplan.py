"""pledgepack import govplan: a dump of froide-govplan's plan API (tests/fixtures/govplan-api.json,
shaped as its GovernmentPlanSerializer and GovernmentPlanUpdateSerializer give it) becomes content
whose package has the updates as status history."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import PACKAGE_YAML
from govplan_oracle import Store, run_import
from pledgepack.content.chapter import GOVPLAN_STATUSES
from pledgepack.schema import PackageSchema

DUMP = Path(__file__).parent / "fixtures" / "govplan-api.json"
# froide_govplan/api_views.py: the fields of the two serializers, in their order.
PLAN_FIELDS = ["id", "site_url", "government", "title", "slug", "description", "quote",
               "due_date", "measure", "status", "rating", "properties", "updates"]
UPDATE_FIELDS = ["timestamp", "title", "content", "site_url", "url", "status", "rating"]
UTC = dt.timezone.utc


def test_the_fixture_is_shaped_like_the_api():
    plans = json.loads(DUMP.read_text(encoding="utf-8"))
    for plan in plans:
        assert list(plan) == PLAN_FIELDS
        assert all(list(u) == UPDATE_FIELDS for u in plan["updates"])
        # GovernmentPlanUpdate.Meta.ordering = ("-timestamp",): newest first.
        stamps = [dt.datetime.fromisoformat(u["timestamp"].replace("Z", "+00:00"))
                  for u in plan["updates"]]
        assert stamps == sorted(stamps, reverse=True)


@pytest.fixture
def built(tmp_path, run):
    content, out = tmp_path / "content", tmp_path / "dist"
    content.mkdir()
    (content / "package.yaml").write_text(PACKAGE_YAML, encoding="utf-8")
    result = run("import", "govplan", DUMP, "--document", "testregierung", "--content", content)
    assert result.exit_code == 0, result.output
    assert (content / "testregierung" / "document.yaml").is_file()
    lint = run("lint", "--content", content)
    # The API states no licence of the plans' texts: the one warning, until an editor adds it.
    assert lint.exit_code == 0 and "0 error(s), 1 warning(s)" in lint.stderr, lint.output
    assert "the document states no licence" in lint.stdout
    build = run("build", "--content", content, "--out", out, "--full-validation")
    assert build.exit_code == 0, build.output
    assert build.stderr.count("warning") == 1 and "states no licence" in build.stderr
    documents = _rows(out, "documents")
    assert [(d["license"], d["source_note"]) for d in documents] == [
        ("not stated", "froide-govplan plan API, dump govplan-api.json")]
    return out


def _rows(out, name):
    return pq.read_table(out / "data" / f"{name}.parquet").to_pylist()


def test_statements_keep_the_plans_fields(built):
    rows = {r["id"]: r for r in _rows(built, "statements")}
    assert set(rows) == {"digitale-identitaet", "open-data-gesetz", "glasfaser", "register"}
    eid = rows["digitale-identitaet"]
    assert (eid["summary"], eid["status"], eid["govplan_status"], eid["rating"]) == (
        "Digitale Identität für alle", "partially_implemented", "started", 3)
    assert eid["deadline"] == dt.date(2023, 12, 31) and eid["measure"] == "law"
    assert eid["quote"] == ("Wir werden eine digitale Identität (eID) für alle Bürgerinnen und "
                            "Bürger einführen.")
    # The latest update, 2023-06-01T00:30+02:00, fell on 31 May in UTC.
    assert eid["last_update"] == dt.date(2023, 5, 31)
    assert (rows["open-data-gesetz"]["status"], rows["open-data-gesetz"]["govplan_status"]) == \
        ("broken", "deferred")
    assert rows["glasfaser"]["measure"] == "funding" and rows["glasfaser"]["rating"] == 5
    assert rows["register"]["rating"] is None and rows["register"]["last_update"] is None
    text = _rows(built, "sections")[0]["text"]
    assert "Maßnahme: Gesetzesänderung" in text and '{"ressort": "BMI"}' in text
    assert "2023-01-20: Anhörung im Ausschuss (https://example.gov/anhoerung)" in text
    # A "#" link in a description does not become a pledge.
    assert "sicher" not in rows
    reports = [(r["statement_id"], r["title"], r["url"]) for r in _rows(built, "reports")]
    assert ("testregierung/digitale-identitaet", "Anhörung im Ausschuss",
            "https://example.gov/anhoerung") in reports and len(reports) == 4


def test_status_history_comes_from_the_updates(built):
    history = [r for r in _rows(built, "status_history") if r["source"] == "govplan"]
    got = [(r["statement_id"].split("/")[1], r["seq"], r["effective_date"], r["status"],
            r["previous_status"], r["govplan_status"], r["rating"], r["note"]) for r in history]
    assert got == [
        ("digitale-identitaet", 1, dt.date(2022, 11, 15), "not_implemented", None,
         "not_started", None, "Eckpunkte beschlossen"),
        ("digitale-identitaet", 2, dt.date(2023, 5, 31), "partially_implemented",
         "not_implemented", "started", 3, "Referentenentwurf veröffentlicht"),
        ("glasfaser", 1, dt.date(2023, 2, 1), "partially_implemented", None,
         "partially_implemented", 4, "Förderung gestartet"),
        ("glasfaser", 2, dt.date(2025, 1, 1), "implemented",
         "partially_implemented", "implemented", 5, "Ziel erreicht"),
        ("open-data-gesetz", 1, dt.date(2024, 3, 5), "broken", None, "deferred",
         1, "Vorhaben zurückgestellt")]
    assert all(r["event"] == "recorded" and r["commit"] is None and r["recorded_at"] is None
               and r["effective_date_source"] == "editor" for r in history)


def test_import_then_export_gives_froide_govplan_its_plans_back(built, tmp_path, run):
    out = tmp_path / "govplan"
    assert run("export", "govplan", built, "--government", "testregierung", "-o", out) \
        .exit_code == 0
    store = Store()
    run_import(store, "testregierung", out / "mapping.json", out / "plans.csv")
    plans = {p.title: p for p in store.plans}
    original = {p["title"]: p for p in json.loads(DUMP.read_text(encoding="utf-8"))}
    assert set(plans) == set(original)
    for title, plan in plans.items():
        assert plan.status == original[title]["status"], title
        due = original[title]["due_date"]
        assert plan.due_date == (dt.date.fromisoformat(due) if due else None), title
    # Not every plan has a rating: an empty one would fail the import, so it is not mapped.
    assert "rating" not in json.loads((out / "mapping.json").read_text(encoding="utf-8"))
    # Each original update comes back once (an update with a status and a link is one update,
    # not a status change plus a report); the plan without updates has its undated status.
    updates = json.loads((out / "updates.json").read_text(encoding="utf-8"))["updates"]
    slug_of = {p.title: p.slug for p in store.plans}
    for title, plan in original.items():
        back = [u for u in updates if u["plan"] == slug_of[title]]
        if not plan["updates"]:
            assert [(u["timestamp"], u["timestamp_source"], u["status"]) for u in back] == [
                (None, "not stated", plan["status"])]
            continue
        assert sorted((u["title"], u["url"], u["status"]) for u in back) == sorted(
            (o["title"], o["url"], o["status"]) for o in plan["updates"]), title


def test_bad_dumps_are_reported_without_traceback(tmp_path, run):
    content = tmp_path / "content"
    cases = {
        "broken.json": ("[{\n  \"slug\": 1,\n", "broken.json:3: not valid JSON"),
        "shape.json": ('{"count": 1}', "not a list of plans"),
        "status.json": ('[{"slug": "a", "title": "A", "status": "stalled"}]',
                        "plan 1 (a): unknown status 'stalled'"),
        "stamp.json": ('[{"slug": "a", "title": "A", "status": "started", "updates": '
                       '[{"timestamp": "gestern", "status": "started"}]}]',
                       "plan 1 (a): update 1: timestamp 'gestern' is not ISO 8601"),
        "twice.json": ('[{"slug": "a", "title": "A", "status": "started"}, '
                       '{"slug": "a", "title": "B", "status": "started"}]',
                       "plans 1 and 2 have the same slug 'a'"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        result = run("import", "govplan", tmp_path / name, "--document", "x", "--content",
                     content)
        assert result.exit_code == 1, name
        assert message in result.stderr, (name, result.stderr)
        assert "Traceback" not in result.output
    assert not content.exists()


def test_a_page_of_results_is_read_and_force_is_needed_to_replace(tmp_path, run):
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"count": 4, "next": None,
                                "results": json.loads(DUMP.read_text(encoding="utf-8"))}),
                    encoding="utf-8")
    content = tmp_path / "content"
    assert run("import", "govplan", page, "--document", "t", "--content", content).exit_code == 0
    again = run("import", "govplan", DUMP, "--document", "t", "--content", content)
    assert again.exit_code == 1 and "--force" in again.stderr
    assert run("import", "govplan", DUMP, "--document", "t", "--content", content,
               "--force").exit_code == 0


def test_govplan_fields_in_content_are_checked(tmp_path, run):
    from conftest import chapter, make_document

    content = make_document(tmp_path / "content", chapters={"1-k.md": chapter("""
        - id: a
          summary: A
          status: implemented
          govplan_status: kept
          rating: 7
        - id: b
          summary: B
          status: implemented
          history:
            - date: 2024-01-01
              status: implemented
              source: somewhere
        """, "[a](#a) [b](#b)\n")})
    result = run("build", "--content", content, "--out", tmp_path / "dist")
    assert result.exit_code == 1
    assert "statement 'a': govplan_status 'kept' or rating 7 is not usable" in result.stderr
    assert "statement 'b': history entry 1 has an unusable source" in result.stderr
    assert not (tmp_path / "dist").exists()


def test_the_content_knows_the_schemas_govplan_statuses():
    schema = PackageSchema.load()
    for resource in ("statements", "status_history"):
        assert set(schema.enum(resource, "govplan_status")) == GOVPLAN_STATUSES
    assert "govplan" in schema.enum("status_history", "source")


def test_updates_are_ordered_by_instant_whatever_their_offset(tmp_path, run):
    plan = {"id": 1, "site_url": "https://tracker.example.gov/p/", "government": 1,
            "title": "P", "slug": "p", "description": "", "quote": "Q", "due_date": None,
            "measure": "", "status": "implemented", "rating": None, "properties": {},
            "updates": [
                # 23:00 UTC on 31 May, written with +02:00: later than the next one as text,
                # earlier as an instant.
                {"timestamp": "2023-06-01T01:00:00+02:00", "title": "erst", "content": "",
                 "site_url": "https://tracker.example.gov/p/#update-1", "url": "",
                 "status": "started", "rating": None},
                {"timestamp": "2023-05-31T23:30:00Z", "title": "dann", "content": "",
                 "site_url": "https://tracker.example.gov/p/#update-2", "url": "",
                 "status": "implemented", "rating": None}]}
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps([plan]), encoding="utf-8")
    content, out = tmp_path / "content", tmp_path / "dist"
    assert run("import", "govplan", dump, "--document", "d", "--content", content).exit_code == 0
    assert run("build", "--content", content, "--out", out).exit_code == 0
    rows = [r for r in _rows(out, "status_history") if r["source"] == "govplan"]
    assert [(r["note"], r["status"], r["effective_date"]) for r in rows] == [
        ("erst", "partially_implemented", dt.date(2023, 5, 31)),
        ("dann", "implemented", dt.date(2023, 5, 31))]
