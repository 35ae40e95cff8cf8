"""pledges.xlsx: one workbook for spreadsheet users. A first sheet says what the data is, under
which licence, and describes every field; then one sheet per table.

Text is written as text, never as a formula, a number or a link, so `=SUMME(...)` and "2.10"
stay what they are; dates are dates, booleans are booleans, lists are joined with "; ".
XlsxWriter stamps its zip entries with a fixed time; the workbook's creation time is the
package's `created` (else 1980-01-01), so the same package gives the same bytes.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from .datasette import NOT_STATED
from .package import Table

LIST_JOINER = "; "
# Excel's limit for one cell; longer text is cut and the cut is said in the cell's note.
CELL_LIMIT = 32767
SHEET_NAME_LIMIT = 31
FALLBACK_CREATED = dt.datetime(1980, 1, 1)
ABOUT_SHEET = "About"


def _created(descriptor: dict) -> dt.datetime:
    text = descriptor.get("created")
    if not text:
        return FALLBACK_CREATED
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when.astimezone(dt.timezone.utc).replace(tzinfo=None) if when.tzinfo else when


def _text(value: str) -> tuple[str, bool]:
    if len(value) <= CELL_LIMIT:
        return value, False
    return value[:CELL_LIMIT], True


def write_xlsx(descriptor: dict, tables: list[Table], target: Path) -> Path:
    import xlsxwriter

    target.unlink(missing_ok=True)
    book = xlsxwriter.Workbook(str(target), {
        "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False,
        "constant_memory": False})
    created = _created(descriptor)
    licence = (descriptor.get("licenses") or [{}])[0]
    book.set_properties({
        "title": descriptor.get("title") or descriptor["name"],
        "subject": descriptor.get("description", ""),
        "author": "; ".join(c["title"] for c in descriptor.get("contributors") or []
                            if c.get("title")) or NOT_STATED,
        "keywords": ", ".join(descriptor.get("keywords") or []),
        "comments": f"Licence: {licence.get('title') or licence.get('name') or NOT_STATED}",
        "created": created,
    })
    bold = book.add_format({"bold": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    formats = {"date": book.add_format({"num_format": "yyyy-mm-dd"}),
               "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})}
    _about(book.add_worksheet(ABOUT_SHEET), descriptor, tables, bold, wrap)
    for table in tables:
        _table_sheet(book.add_worksheet(table.name[:SHEET_NAME_LIMIT]), table, bold, formats)
    book.close()
    return target


def _about(sheet, descriptor: dict, tables: list[Table], bold, wrap) -> None:
    licence = (descriptor.get("licenses") or [{}])[0]
    sources = descriptor.get("sources") or []
    facts = [
        ("Title", descriptor.get("title") or descriptor["name"]),
        ("Description", descriptor.get("description") or NOT_STATED),
        ("Version", descriptor.get("version") or NOT_STATED),
        ("Content as of", descriptor.get("created") or NOT_STATED),
        ("Licence", " ".join(filter(None, [licence.get("title") or licence.get("name"),
                                           licence.get("path")])) or NOT_STATED),
        ("Sources", "\n".join(" ".join(filter(None, [s.get("title"), s.get("path")]))
                              for s in sources) or NOT_STATED),
        ("Times", "Dates and times are in UTC."),
        ("Lists", f"Lists are joined with '{LIST_JOINER}'."),
    ]
    row = 0
    for label, value in facts:
        sheet.write_string(row, 0, label, bold)
        sheet.write_string(row, 1, _text(str(value))[0], wrap)
        row += 1
    row += 1
    header = ["Table", "Field", "Title", "Type", "Required", "Description", "Allowed values"]
    for col, name in enumerate(header):
        sheet.write_string(row, col, name, bold)
    for table in tables:
        for field in table.fields:
            row += 1
            constraints = field.get("constraints") or {}
            required = constraints.get("required") or field["name"] in table.primary_key
            kind = field.get("type", "string")
            if kind == "list":
                kind = f"list of {field.get('itemType', 'string')}"
            cells = [table.name, field["name"], field.get("title", ""), kind,
                     "yes" if required else "no", field.get("description", ""),
                     ", ".join(map(str, constraints.get("enum") or []))]
            for col, value in enumerate(cells):
                sheet.write_string(row, col, value)
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 1, 60)


def _table_sheet(sheet, table: Table, bold, formats) -> None:
    fields = table.fields
    for col, field in enumerate(fields):
        sheet.write_string(0, col, field["name"], bold)
    for number, row in enumerate(table.rows, 1):
        for col, field in enumerate(fields):
            _write(sheet, number, col, row.get(field["name"]), field.get("type", "string"),
                   formats)
    sheet.freeze_panes(1, 0)
    if fields:
        sheet.autofilter(0, 0, len(table.rows), len(fields) - 1)


def _write(sheet, row: int, col: int, value, kind: str, formats) -> None:
    if value is None:
        return
    if kind == "list":
        value = LIST_JOINER.join(map(str, value))
    if kind == "boolean":
        sheet.write_boolean(row, col, bool(value))
    elif kind in ("integer", "number") and not isinstance(value, bool):
        sheet.write_number(row, col, value)
    elif kind == "datetime" and isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        sheet.write_datetime(row, col, value, formats["datetime"])
    elif kind == "date" and isinstance(value, dt.date):
        sheet.write_datetime(row, col, dt.datetime.combine(value, dt.time()), formats["date"])
    else:
        text, cut = _text(str(value))
        sheet.write_string(row, col, text)
        if cut:
            sheet.write_comment(row, col, f"Cut to {CELL_LIMIT} characters, Excel's limit; "
                                "the CSV and Parquet files hold the whole text.")
