"""pledges.xlsx as LibreOffice reads it: every sheet, converted back to CSV by `soffice`, holds
the package's rows; umlauts and text starting with `=` come back unchanged, dates as dates."""
from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import subprocess
import zipfile

import pyarrow.parquet as pq
import pytest

from conftest import debian_tool, export_file
from pledgepack.exports.files import write_exports

# UTF-8 (76), comma, double quotes, every sheet (-1) into <name>-<sheet>.csv.
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


@pytest.fixture(scope="module")
def soffice():
    return debian_tool("soffice", ["libreoffice-calc-nogui"])


@pytest.fixture(scope="module")
def sheets(client_packages, tmp_path_factory, soffice) -> dict[str, dict[str, list[list[str]]]]:
    """package -> sheet -> rows, as LibreOffice converts the workbook to CSV."""
    found = {}
    for name, package in client_packages.items():
        work = tmp_path_factory.mktemp(f"xlsx-{name}")
        folder = work / "dist"
        shutil.copytree(package, folder)
        write_exports(folder)
        result = subprocess.run(
            [soffice, "--headless", f"-env:UserInstallation=file://{work / 'profile'}",
             "--convert-to", CSV_FILTER, "--outdir", str(work / "csv"),
             str(export_file(folder, "xlsx"))], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        found[name] = {}
        stem = export_file(folder, "xlsx").stem
        for path in sorted((work / "csv").glob(f"{stem}-*.csv")):
            with open(path, newline="", encoding="utf-8") as handle:
                found[name][path.stem.removeprefix(f"{stem}-")] = list(csv.reader(handle))
        found[name]["_folder"] = folder
    return found


def shown(value, kind: str) -> str:
    """How LibreOffice writes a cell of the workbook as CSV."""
    if value is None:
        return ""
    if kind == "list":
        return "; ".join(value)
    if kind == "boolean":
        return "TRUE" if value else "FALSE"
    if kind == "date":
        return value.isoformat()
    if kind == "datetime":
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    if kind == "number":
        return format(value, "g")
    return str(value)


@pytest.mark.parametrize("package", ["shipped", "edge"])
def test_every_sheet_holds_its_table(sheets, package):
    book = sheets[package]
    folder = book["_folder"]
    descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    tables = [r for r in descriptor["resources"] if r["type"] == "table"]
    assert list(k for k in book if k != "_folder") == sorted(["About"] + [t["name"] for t in tables])
    for resource in tables:
        fields = resource["schema"]["fields"]
        rows = pq.read_table(folder / f"data/{resource['name']}.parquet").to_pylist()
        sheet = book[resource["name"]]
        assert sheet[0] == [f["name"] for f in fields]
        expected = [[shown(row[f["name"]], f["type"]) for f in fields] for row in rows]
        assert sheet[1:] == expected, resource["name"]
    about = book["About"]
    licence = descriptor["licenses"][0]
    assert ["Licence", f"{licence['title']} {licence['path']}"] == about[4][:2]
    if package == "shipped":
        assert about[4][1] == ("Creative Commons Attribution 2.0 Generic "
                               "https://creativecommons.org/licenses/by/2.0/")
    described = {(row[0], row[1]) for row in about if len(row) > 5}
    assert {(t["name"], f["name"]) for t in tables for f in t["schema"]["fields"]} <= described


def test_umlauts_and_formula_text_come_back_unchanged(sheets):
    statements = sheets["edge"]["statements"]
    header = statements[0]
    summaries = {row[header.index("id")]: row[header.index("summary")] for row in statements[1:]}
    assert summaries["straße"] == "=1+1 Straßen für Fußgänger"
    assert summaries["mehrzeilig"] == "Erste Zeile mit „Anführungszeichen“\nzweite Zeile; mit Semikolon"
    assert sheets["edge"]["documents"][1][1] == "Größere Änderungen: =SUMME(A1:A9)"


def test_text_is_stored_as_text_and_dates_as_dates(sheets):
    folder = sheets["edge"]["_folder"]
    with zipfile.ZipFile(export_file(folder, "xlsx")) as book:
        names = book.namelist()
        sheet_xml = "".join(book.read(n).decode() for n in names if n.startswith("xl/worksheets/"))
    assert "<f>" not in sheet_xml  # no formula anywhere
    assert 't="s"' in sheet_xml  # shared strings
    # 2024-05-02 as a date is the serial number of days since 1899-12-30, not a string
    serial = (dt.date(2024, 5, 2) - dt.date(1899, 12, 30)).days
    assert f"<v>{serial}</v>" in sheet_xml
    statements = sheets["edge"]["statements"]
    assert statements[1][statements[0].index("last_update")] == "2024-05-02"
