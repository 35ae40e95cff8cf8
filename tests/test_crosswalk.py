"""The statuses table's crosswalk to other trackers' scales, and the status fields' categories."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from pledgepack.schema import PackageSchema

SCHEMA = PackageSchema.load()
CROSSWALK = ("govplan_status", "politifact_meter", "polimeter_verdict")
BIN = Path(sys.executable).parent

# The scales as their owners publish them: froide-govplan's PlanStatus (models.py),
# PolitiFact's six meters, the Polimeter's four verdicts.
GOVPLAN = {"not_started", "started", "partially_implemented", "implemented", "deferred"}
POLITIFACT = {"Promise Kept", "Compromise", "Promise Broken", "In the Works", "Stalled",
              "Not Yet Rated"}
POLIMETER = {"Kept", "Kept in part or in the works", "Broken", "Not yet rated"}


def test_every_status_has_a_counterpart_on_each_scale(content, tmp_path, run):
    out = tmp_path / "dist"
    assert run("build", "--content", content, "--out", out).exit_code == 0
    rows = {r["status"]: r for r in pq.read_table(out / "data" / "statuses.parquet").to_pylist()}
    assert set(rows) == set(SCHEMA.statuses)
    for column, scale in zip(CROSSWALK, (GOVPLAN, POLITIFACT, POLIMETER)):
        assert {r[column] for r in rows.values()} <= scale, column
        field = SCHEMA.field("statuses", column)
        assert field["description"] and set(field["constraints"]["enum"]) == scale
    # Each scale's end points meet ours: kept is kept, broken is broken or the nearest.
    assert [rows["implemented"][c] for c in CROSSWALK] == ["implemented", "Promise Kept", "Kept"]
    assert [rows["broken"][c] for c in CROSSWALK] == ["deferred", "Promise Broken", "Broken"]
    # Distinct statuses stay distinct on each scale, so no count merges two of ours.
    for column in CROSSWALK:
        assert len({r[column] for r in rows.values()}) == len(rows), column


def test_status_fields_declare_ordered_categories_by_score():
    scores = {r["status"]: r["score"] for r in SCHEMA.inline_data("statuses")}
    labels = {r["status"]: r["label_en"] for r in SCHEMA.inline_data("statuses")}
    for resource, name in (("statements", "status"), ("status_history", "status"),
                           ("status_history", "previous_status"), ("statuses", "status")):
        field = SCHEMA.field(resource, name)
        values = [c["value"] for c in field["categories"]]
        assert field["categoriesOrdered"] is True
        assert values == sorted(scores, key=scores.get), (resource, name)
        assert all(c["label"] == labels[c["value"]] for c in field["categories"])
        # frictionless does not enforce categories: the enum must stay.
        assert set(field["constraints"]["enum"]) == set(values)


def test_frictionless_accepts_the_categories_and_still_rejects_unknown_statuses(content, tmp_path,
                                                                               run):
    out = tmp_path / "dist"
    assert run("build", "--content", content, "--out", out).exit_code == 0
    ok = subprocess.run([BIN / "frictionless", "validate", "--json", out / "datapackage.json"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout[-2000:]
    assert json.loads(ok.stdout)["valid"] is True
    csv_path = out / "data" / "statuses.csv"
    csv_path.write_text(csv_path.read_text(encoding="utf-8").replace('"broken",', '"stalled",', 1),
                        encoding="utf-8")
    bad = subprocess.run([BIN / "frictionless", "validate", "--json", "--resource-name",
                          "statuses", out / "datapackage.json"], capture_output=True, text=True)
    assert bad.returncode == 1
    errors = [e for task in json.loads(bad.stdout)["tasks"] for e in task["errors"]]
    assert any(e["type"] == "constraint-error" and "stalled" in e["message"] for e in errors)
