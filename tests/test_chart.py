"""The README chart: status counts over time, and the SVG drawn from them."""
from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pyarrow as pa
import pytest

from pledgepack.release.chart import status_chart, status_counts
from pledgepack.schema import PackageSchema

SCHEMA = PackageSchema.load()
CODES = ["not_implemented", "partially_implemented", "implemented", "broken"]
# The chart's bands: statements nobody reviewed yet at the bottom, then the statuses.
BANDS = ["not_reviewed", *CODES]
SVG = "{http://www.w3.org/2000/svg}"
UTC = dt.timezone.utc
D = dt.date


def at(day: str, time: str = "10:00:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=UTC)


def history(*events: tuple) -> pa.Table:
    """Rows of (statement_id, seq, when, status[, last_update]); a None status is a removal.
    `when` is the commit time; the day it falls on (UTC) is the effective date, the editors'
    when a last_update is given (the default: the day itself)."""
    rows = []
    for sid, seq, when, status, *written in events:
        event = "removed" if status is None else ("added" if seq == 1 else "changed")
        day = when.astimezone(UTC).date() if when else None
        last_update = written[0] if written else day
        rows.append({"statement_id": sid, "seq": seq, "effective_date": day,
                     "effective_date_source": "editor" if last_update else
                     ("commit" if day else None),
                     "recorded_at": when, "event": event, "status": status,
                     "last_update": last_update, "source": "git" if when else "snapshot"})
    return pa.Table.from_pylist(rows, schema=SCHEMA.arrow_schema("status_history"))


def statuses(**labels: str) -> pa.Table:
    rows = [dict(r, score=float(r["score"]), label_en=labels.get(r["status"], r["label_en"]))
            for r in SCHEMA.inline_data("statuses")]
    return pa.Table.from_pylist(rows, schema=SCHEMA.arrow_schema("statuses"))


def counts(n=0, p=0, i=0, b=0, u=None) -> dict[str, int]:
    """Counts per status; with u, also the statements not yet reviewed (the chart's bands)."""
    found = {"not_implemented": n, "partially_implemented": p, "implemented": i, "broken": b}
    return found if u is None else {"not_reviewed": u, **found}


# --- status_counts ---------------------------------------------------------------------------

def test_changed_removed_and_readded():
    h = history(("a", 1, at("2024-01-01"), "not_implemented"),
                ("a", 2, at("2024-02-01"), "partially_implemented"),
                ("a", 3, at("2024-03-01"), None),
                ("a", 4, at("2024-04-01"), "implemented"),
                ("b", 1, at("2024-02-01"), "broken"))
    assert status_counts(h, CODES, D(2024, 5, 1)) == [
        (D(2024, 1, 1), counts(n=1)),
        (D(2024, 2, 1), counts(p=1, b=1)),
        (D(2024, 3, 1), counts(b=1)),
        (D(2024, 4, 1), counts(i=1, b=1)),
        (D(2024, 5, 1), counts(i=1, b=1)),
    ]


def test_counts_follow_the_given_order_and_keep_zeros():
    h = history(("a", 1, at("2024-01-01"), "implemented"))
    ((_, first),) = status_counts(h, ["broken", "implemented"], D(2024, 1, 1))
    assert list(first.items()) == [("broken", 0), ("implemented", 1)]


def test_several_events_on_one_day_make_one_point_with_the_last_status():
    h = history(("a", 1, at("2024-01-01", "08:00:00"), "not_implemented"),
                ("a", 2, at("2024-01-01", "09:00:00"), "implemented"),
                ("b", 1, at("2024-01-01", "08:00:00"), "broken"),
                ("b", 2, at("2024-01-01", "12:00:00"), None),
                ("c", 1, at("2024-01-01", "08:00:00"), "broken"),
                ("c", 2, at("2024-01-01", "12:00:00"), None),
                ("c", 3, at("2024-01-01", "18:00:00"), "partially_implemented"))
    assert status_counts(h, CODES, D(2024, 1, 3)) == [
        (D(2024, 1, 1), counts(p=1, i=1)),
        (D(2024, 1, 3), counts(p=1, i=1)),
    ]


def test_the_last_event_by_seq_wins_over_a_later_date():
    # seq is the event order; a later valid_from with a lower seq must not take over.
    h = history(("a", 1, at("2024-03-01"), "implemented"),
                ("a", 2, at("2024-02-01"), "partially_implemented"))
    assert status_counts(h, CODES, D(2024, 4, 1)) == [
        (D(2024, 2, 1), counts(p=1)),
        (D(2024, 3, 1), counts(p=1)),
        (D(2024, 4, 1), counts(p=1)),
    ]


def test_rows_without_valid_from_only_hold_at_the_end():
    h = history(("a", 1, at("2024-01-01"), "not_implemented"),
                ("a", 2, None, "implemented"),
                ("b", 1, None, "broken"),
                ("c", 1, at("2024-02-01"), "partially_implemented"))
    assert status_counts(h, CODES, D(2024, 6, 1)) == [
        (D(2024, 1, 1), counts(n=1)),
        (D(2024, 2, 1), counts(n=1, p=1)),
        (D(2024, 6, 1), counts(p=1, i=1, b=1)),
    ]


def test_events_after_the_end_are_left_out():
    h = history(("a", 1, at("2024-01-01"), "not_implemented"),
                ("a", 2, at("2024-03-01"), "implemented"),
                ("b", 1, at("2024-02-15"), None),
                ("c", 1, at("2024-02-20"), "broken"))
    assert status_counts(h, CODES, D(2024, 2, 1)) == [
        (D(2024, 1, 1), counts(n=1)),
        (D(2024, 2, 1), counts(n=1)),
    ]


def test_days_are_utc_days_near_midnight():
    h = history(("a", 1, at("2024-01-01", "23:59:59.999"), "implemented"),
                ("b", 1, at("2024-01-02", "00:00:00"), "broken"),
                ("c", 1, at("2024-01-03", "23:59:59.999"), "not_implemented"),
                ("d", 1, at("2024-01-04", "00:00:00"), "not_implemented"))
    assert status_counts(h, CODES, D(2024, 1, 3)) == [
        (D(2024, 1, 1), counts(i=1)),
        (D(2024, 1, 2), counts(i=1, b=1)),
        (D(2024, 1, 3), counts(n=1, i=1, b=1)),
    ]


def test_empty_history_is_one_point_of_zeros():
    assert status_counts(history(), CODES, D(2024, 1, 1)) == [(D(2024, 1, 1), counts())]


def test_a_status_outside_the_list_is_an_error():
    h = history(("a", 1, at("2024-01-01"), "broken"))
    with pytest.raises(ValueError, match="broken"):
        status_counts(h, ["implemented"], D(2024, 1, 1))


# --- status_chart ----------------------------------------------------------------------------

TWO_YEARS = history(
    *[(f"s{n}", 1, at(f"2024-{n % 12 + 1:02d}-{n % 27 + 1:02d}"), "not_implemented")
      for n in range(40)],
    *[(f"s{n}", 2, at(f"2025-{n % 12 + 1:02d}-{n % 25 + 2:02d}"), CODES[n % 4])
      for n in range(0, 40, 3)],
    *[(f"s{n}", 3, at("2025-12-20"), None) for n in range(0, 40, 9)])
END = D(2026, 1, 10)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def legend_counts(root: ET.Element) -> dict[str, int]:
    return {t.get("data-status"): int(t.text)
            for t in root.iter(f"{SVG}text") if t.get("class") == "legend-count"}


def band_points(path: ET.Element) -> list[tuple[float, float]]:
    numbers = [float(v) for v in re.findall(r"-?\d+\.\d", path.get("d"))]
    return list(zip(numbers[::2], numbers[1::2]))


def test_svg_is_self_contained_with_size_viewbox_title_and_desc():
    svg = status_chart(TWO_YEARS, statuses(), end=END, title="Pledges")
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == \
        ("800", "400", "0 0 800 400")
    assert root.get("font-family") == "sans-serif"
    assert root.find(f"{SVG}title").text == "Pledges"
    assert "script" not in svg and "href" not in svg and "url(" not in svg


def test_one_band_per_status_in_canonical_order_even_from_a_sorted_table():
    # A built package writes statuses sorted by code, which is not the canonical order.
    root = parse(status_chart(TWO_YEARS, statuses().sort_by("status"), end=END))
    bands = [p for p in root.iter(f"{SVG}path") if p.get("class") == "band"]
    assert [b.get("data-status") for b in bands] == BANDS
    assert len({b.get("fill") for b in bands}) == 5


def test_legend_and_desc_give_the_counts_at_the_end():
    final = status_counts(TWO_YEARS, BANDS, END)[-1][1]
    assert sum(final.values()) > 0 and len(set(final.values())) > 1
    root = parse(status_chart(TWO_YEARS, statuses(), end=END))
    assert legend_counts(root) == final
    desc = root.find(f"{SVG}desc").text
    assert "Not implemented {not_implemented}, Partially implemented {partially_implemented}, " \
        "Implemented {implemented}, Broken {broken}".format(**final) in desc
    assert f"{sum(final.values())} statements in total" in desc
    assert END.isoformat() in desc


def test_bands_are_steps_and_stack_up_to_the_total():
    root = parse(status_chart(TWO_YEARS, statuses(), end=END))
    bands = [p for p in root.iter(f"{SVG}path") if p.get("class") == "band"]
    for band in bands:
        points = band_points(band)
        for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1]):
            assert x1 == x2 or y1 == y2, band.get("data-status")
    # The top band's upper edge at the right end of the plot is the total at the end.
    axis = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "y-axis")
    grid = {int(t.text): float(line.get("y1"))
            for line, t in zip(axis.iter(f"{SVG}line"), axis.iter(f"{SVG}text"))}
    values = sorted(grid)
    assert values[0] == 0 and len({b - a for a, b in zip(values, values[1:])}) == 1
    per_statement = (grid[0] - grid[values[1]]) / values[1]
    right = max(x for x, _ in band_points(bands[-1]))
    top = min(y for x, y in band_points(bands[-1]) if x == right)
    total = sum(status_counts(TWO_YEARS, CODES, END)[-1][1].values())
    assert values[-1] >= total
    assert top == pytest.approx(grid[0] - total * per_statement, abs=0.1)


def test_text_is_escaped():
    svg = status_chart(TWO_YEARS, statuses(implemented='Done <&> "quoted"'), end=END,
                       title="A & B <draft>")
    assert "&lt;&amp;&gt;" in svg and "A &amp; B &lt;draft&gt;" in svg
    root = parse(svg)
    assert root.find(f"{SVG}title").text == "A & B <draft>"
    assert any(t.text == 'Done <&> "quoted"' for t in root.iter(f"{SVG}text"))
    assert 'Done <&> "quoted"' in root.find(f"{SVG}desc").text


def test_output_is_deterministic_and_independent_of_row_order():
    first = status_chart(TWO_YEARS, statuses(), end=END)
    assert status_chart(TWO_YEARS, statuses(), end=END) == first
    reversed_rows = TWO_YEARS.take(list(range(TWO_YEARS.num_rows - 1, -1, -1)))
    assert status_chart(reversed_rows, statuses(), end=END) == first
    numbers = re.findall(r'\s(?:x|y|x1|x2|y1|y2|d)="([^"]*)"', first)
    assert all(re.fullmatch(r"-?\d+\.\d", v) for n in numbers for v in re.findall(r"[\d.]+", n))


def test_date_labels_do_not_overlap():
    root = parse(status_chart(TWO_YEARS, statuses(), end=END))
    axis = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "x-axis")
    labels = sorted((float(t.get("x")), t.text) for t in axis.iter(f"{SVG}text"))
    assert len(labels) >= 3
    assert all(re.fullmatch(r"\d{4}(-\d{2}){0,2}", text) for _, text in labels)
    for (x1, a), (x2, b) in zip(labels, labels[1:]):
        # 0.55em is about the width of a digit in common sans-serif fonts (11px labels).
        assert x2 - x1 > (len(a) + len(b)) / 2 * 11 * 0.55
    assert all(20 <= x <= 780 for x, _ in labels)


def test_a_single_day_is_widened_so_the_bands_show():
    h = history(*[(f"s{n}", 1, at("2025-03-03"), CODES[n % 4]) for n in range(10)])
    root = parse(status_chart(h, statuses(), end=D(2025, 3, 3)))
    bands = [p for p in root.iter(f"{SVG}path") if p.get("class") == "band"]
    for band in bands[1:]:  # every statement is reviewed: the first band is empty
        xs = [x for x, _ in band_points(band)]
        ys = [y for _, y in band_points(band)]
        assert max(xs) - min(xs) > 20 and max(ys) - min(ys) > 20
    axis = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "x-axis")
    dates = [t.text for t in axis.iter(f"{SVG}text")]
    assert dates[-1] == "2025-03-03" and len(set(dates)) == len(dates) >= 2
    assert D.fromisoformat(dates[0]) <= D(2025, 2, 26)
    assert legend_counts(root) == counts(n=3, p=3, i=2, b=2, u=0)


def test_empty_history_still_draws_a_chart():
    root = parse(status_chart(history(), statuses(), end=D(2025, 3, 3)))
    assert legend_counts(root) == counts(u=0)
    assert [p.get("data-status") for p in root.iter(f"{SVG}path")] == BANDS
    assert "0 statements in total" in root.find(f"{SVG}desc").text


def test_statements_nobody_reviewed_have_their_own_band():
    # a: added without a review date (its status is only the default), reviewed in March;
    # b: added with a review date; c: the editors' date, raised to the event before it.
    h = pa.Table.from_pylist([
        {"statement_id": "a", "seq": 1, "effective_date": D(2024, 1, 1),
         "effective_date_source": "commit", "event": "added", "status": "not_implemented",
         "last_update": None, "source": "git"},
        {"statement_id": "a", "seq": 2, "effective_date": D(2024, 3, 1),
         "effective_date_source": "editor", "event": "changed", "status": "implemented",
         "last_update": D(2024, 3, 1), "source": "git"},
        {"statement_id": "b", "seq": 1, "effective_date": D(2024, 2, 1),
         "effective_date_source": "editor", "event": "added", "status": "not_implemented",
         "last_update": D(2024, 2, 1), "source": "git"},
        {"statement_id": "c", "seq": 1, "effective_date": D(2024, 2, 1),
         "effective_date_source": "previous_event", "event": "recorded", "status": "broken",
         "last_update": None, "source": "front_matter"},
    ], schema=SCHEMA.arrow_schema("status_history"))
    assert status_counts(h, BANDS, D(2024, 4, 1)) == [
        (D(2024, 1, 1), counts(u=1)),
        (D(2024, 2, 1), counts(u=1, n=1, b=1)),
        (D(2024, 3, 1), counts(i=1, n=1, b=1, u=0)),
        (D(2024, 4, 1), counts(i=1, n=1, b=1, u=0)),
    ]
    root = parse(status_chart(h, statuses(), end=D(2024, 4, 1)))
    legend = [t.text for g in root.iter(f"{SVG}g") if g.get("class") == "legend"
              for t in g.iter(f"{SVG}text")]
    assert "not yet reviewed" in legend and "Not implemented" in legend
