"""The README chart: statements by status over time, as a self-contained SVG.

Days are UTC days, like everywhere else in the package. The SVG has no scripts, no external
resources and no generated ids, and every number is written with one decimal, so that the
same history gives the same bytes and a release can be rebuilt identically.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from ..schema import PackageSchema

if TYPE_CHECKING:
    import pyarrow as pa

WIDTH, HEIGHT = 800, 400
PLOT_LEFT, PLOT_TOP, PLOT_RIGHT, PLOT_BOTTOM = 64.0, 48.0, 556.0, 352.0
LEGEND_LEFT, LEGEND_RIGHT = 576.0, 790.0
# Sans-serif glyphs average about 0.55em; estimating wider keeps labels from touching.
CHAR_EM = 0.6

# Okabe-Ito colours, which stay distinct with the common colour-vision deficiencies.
COLOURS = {
    "not_implemented": "#A6A6A6",
    "partially_implemented": "#E69F00",
    "implemented": "#009E73",
    "broken": "#D55E00",
}
SPARE_COLOURS = ["#56B4E9", "#CC79A7", "#0072B2", "#F0E442"]
# Statements nobody has assessed yet: their status is only the default, so they get a band of
# their own below the statuses, pale so that they do not read as a status.
NOT_REVIEWED = "not_reviewed"
NOT_REVIEWED_LABEL = "not yet reviewed"
NOT_REVIEWED_COLOUR = "#E4E4E4"

# Tick intervals tried from finest to coarsest; the first whose labels do not overlap wins.
TICK_STEPS = [("day", 1), ("day", 2), ("day", 7), ("day", 14), ("month", 1), ("month", 2),
              ("month", 3), ("month", 6), ("year", 1), ("year", 2), ("year", 5), ("year", 10),
              ("year", 25), ("year", 50), ("year", 100)]

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _utc_day(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        # A naive timestamp is taken as UTC, which is what the package writes.
        return value.astimezone(dt.timezone.utc).date() if value.tzinfo else value.date()
    return value


def status_counts(history: pa.Table, statuses: list[str],
                  end: dt.date) -> list[tuple[dt.date, dict[str, int]]]:
    """Statements per status on every day an event took effect, and on `end`.

    On day D a statement has the status of its last event (by seq) that took effect
    (effective_date) on or before D; a removal (status null) takes it out of the counts. An
    event without a date is only known to hold at release time, so it takes effect on `end`.
    Events after `end` are left out. With NOT_REVIEWED among `statuses`, an event the editors
    did not review (no last_update, and a date that is not theirs) counts there instead of
    under its status. Each point holds counts for all `statuses`, in their order.
    """
    end = _utc_day(end)
    known = dict.fromkeys(statuses)
    events: dict[str, list[tuple[int, dt.date, str | None]]] = {}
    names = history.column_names
    # Packages from before effective_date carry the commit time in valid_from.
    date_column = "effective_date" if "effective_date" in names else "valid_from"
    columns = [history.column(name).to_pylist()
               for name in ("statement_id", "seq", date_column, "status")]
    n = len(history)
    written = (history.column("last_update").to_pylist() if "last_update" in names
               else [None] * n)
    whose = (history.column("effective_date_source").to_pylist()
             if "effective_date_source" in names else [None] * n)
    for sid, seq, when, status, last_update, source in zip(*columns, written, whose):
        if status is not None and status not in known:
            raise ValueError(f"status_history: status {status!r} of {sid!r} is not one of "
                             f"{list(known)}")
        if (status is not None and NOT_REVIEWED in known and last_update is None
                and source not in ("editor", "previous_event")):
            status = NOT_REVIEWED
        day = _utc_day(when) or end
        if day <= end:
            events.setdefault(sid, []).append((seq, day, status))

    # Each statement only changes the counts on its own event days: record those changes
    # as deltas and sum them up over all days once.
    deltas: dict[dt.date, dict[str, int]] = {end: {}}
    for own in events.values():
        own.sort(key=lambda e: e[1])
        current, latest, status_now = None, None, None
        for seq, day, status in own:
            # An event that took effect later but has a lower seq does not win over this one.
            if latest is None or seq >= latest:
                latest, status_now = seq, status
            delta = deltas.setdefault(day, {})
            if status_now != current:
                if current is not None:
                    delta[current] = delta.get(current, 0) - 1
                if status_now is not None:
                    delta[status_now] = delta.get(status_now, 0) + 1
                current = status_now

    running = dict.fromkeys(statuses, 0)
    points = []
    for day in sorted(deltas):
        for status, change in deltas[day].items():
            running[status] += change
        points.append((day, dict(running)))
    return points


def status_chart(history: pa.Table, statuses: pa.Table, *, end: dt.date,
                 title: str = "Statements by status over time",
                 order: list[str] | None = None) -> str:
    """A stacked step-area chart (SVG text) of the statements per status, up to `end`.

    The bands are stacked from the bottom in the canonical status order (`order`, by default
    the shipped descriptor's); the legend lists them top to bottom as they are stacked, each
    with its count on `end`.
    """
    end = _utc_day(end)
    codes = statuses.column("status").to_pylist()
    labels = dict(zip(codes, statuses.column("label_en").to_pylist()))
    # The statuses table of a built package is sorted by its key, not in the canonical
    # order; the descriptor's order is the one readers know from everywhere else.
    canonical = order or PackageSchema.load().statuses
    codes.sort(key=lambda c: canonical.index(c) if c in canonical else len(canonical))
    spare = iter(SPARE_COLOURS * len(codes))
    colours = {c: COLOURS.get(c) or next(spare) for c in codes}
    codes.insert(0, NOT_REVIEWED)
    labels[NOT_REVIEWED] = NOT_REVIEWED_LABEL
    colours[NOT_REVIEWED] = NOT_REVIEWED_COLOUR

    points = status_counts(history, codes, end)
    final = points[-1][1]
    start = points[0][0]
    if (end - start).days < 2:
        start -= dt.timedelta(days=7)
    right_edge = end + dt.timedelta(days=1)  # the last day is drawn as a whole day
    span = (right_edge - start).days

    def x(day: dt.date) -> float:
        return PLOT_LEFT + (day - start).days / span * (PLOT_RIGHT - PLOT_LEFT)

    top = max(sum(c.values()) for _, c in points)
    step, y_max = _y_scale(top)

    def y(value: float) -> float:
        return PLOT_BOTTOM - value / y_max * (PLOT_BOTTOM - PLOT_TOP)

    summary = ", ".join(f"{labels[c]} {final[c]}" for c in codes)
    total = sum(final.values())
    description = (f"Stacked step-area chart of the number of statements by status from "
                   f"{start.isoformat()} to {end.isoformat()}. On {end.isoformat()}: "
                   f"{summary}; {total} statements in total.")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" role="img" '
           f'aria-labelledby="chart-title chart-desc">',
           f'<title id="chart-title">{_text(title)}</title>',
           f'<desc id="chart-desc">{_text(description)}</desc>',
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#FFFFFF"/>',
           f'<text x="16.0" y="28.0" font-size="16" font-weight="bold" fill="#222222">'
           f'{_text(_fit(title, WIDTH - 32, 16))}</text>']

    out.append('<g class="y-axis" font-size="11" fill="#444444">')
    for value in range(0, y_max + 1, step):
        out.append(f'<line x1="{_n(PLOT_LEFT)}" y1="{_n(y(value))}" x2="{_n(PLOT_RIGHT)}" '
                   f'y2="{_n(y(value))}" stroke="#DDDDDD" stroke-width="1"/>')
        out.append(f'<text x="{_n(PLOT_LEFT - 6)}" y="{_n(y(value) + 4)}" '
                   f'text-anchor="end">{value}</text>')
    middle = (PLOT_TOP + PLOT_BOTTOM) / 2
    out.append(f'<text x="18.0" y="{_n(middle)}" text-anchor="middle" '
               f'transform="rotate(-90 18.0 {_n(middle)})">Statements</text>')
    out.append('</g>')

    # Steps: the counts of a point hold from its day until the next point's day.
    days = [d for d, _ in points] + [right_edge]
    intervals = [(start, days[0], dict.fromkeys(codes, 0))] if start < days[0] else []
    intervals += [(days[i], days[i + 1], counts) for i, (_, counts) in enumerate(points)]
    out.append('<g class="bands">')
    below = [0] * len(intervals)
    for code in codes:
        above = [low + counts[code] for low, (_, _, counts) in zip(below, intervals)]
        outline = [p for (a, b, _), v in zip(intervals, above)
                   for p in ((x(a), y(v)), (x(b), y(v)))]
        outline += [p for (a, b, _), v in reversed(list(zip(intervals, below)))
                    for p in ((x(b), y(v)), (x(a), y(v)))]
        path = "M" + " L".join(f"{_n(px)} {_n(py)}" for px, py in _simplify(outline)) + " Z"
        out.append(f'<path class="band" data-status="{_attr(code)}" fill="{colours[code]}" '
                   f'd="{path}"><title>{_text(labels[code])}: {final[code]} on '
                   f'{end.isoformat()}</title></path>')
        below = above
    out.append('</g>')
    if top == 0:
        out.append(f'<text x="{_n((PLOT_LEFT + PLOT_RIGHT) / 2)}" y="{_n(middle)}" '
                   f'text-anchor="middle" font-size="13" fill="#666666">No statements</text>')

    out.append('<g class="x-axis" font-size="11" fill="#444444">')
    out.append(f'<line x1="{_n(PLOT_LEFT)}" y1="{_n(PLOT_BOTTOM)}" x2="{_n(PLOT_RIGHT)}" '
               f'y2="{_n(PLOT_BOTTOM)}" stroke="#444444" stroke-width="1"/>')
    day_width = (PLOT_RIGHT - PLOT_LEFT) / span
    for day, label in _x_ticks(start, end, day_width):
        # A date names a whole day, so it goes under the middle of that day's step; a
        # month or a year is marked where it begins.
        at = x(day) + (day_width / 2 if len(label) == 10 else 0)
        out.append(f'<line x1="{_n(at)}" y1="{_n(PLOT_BOTTOM)}" x2="{_n(at)}" '
                   f'y2="{_n(PLOT_BOTTOM + 4)}" stroke="#444444" stroke-width="1"/>')
        out.append(f'<text x="{_n(at)}" y="{_n(PLOT_BOTTOM + 18)}" '
                   f'text-anchor="middle">{label}</text>')
    out.append('</g>')

    out.append('<g class="legend" font-size="12" fill="#222222">')
    out.append(f'<text x="{_n(LEGEND_LEFT)}" y="{_n(PLOT_TOP + 12)}" font-weight="bold">'
               f'On {end.isoformat()}</text>')
    row = PLOT_TOP + 36
    for code in reversed(codes):
        count = str(final[code])
        room = LEGEND_RIGHT - LEGEND_LEFT - 22 - _width(count, 12) - 8
        edge = ' stroke="#888888" stroke-width="1"' if code == NOT_REVIEWED else ""
        out.append(f'<rect x="{_n(LEGEND_LEFT)}" y="{_n(row - 11)}" width="14" height="14" '
                   f'fill="{colours[code]}"{edge}/>')
        out.append(f'<text x="{_n(LEGEND_LEFT + 22)}" y="{_n(row)}">'
                   f'{_text(_fit(labels[code], room, 12))}</text>')
        out.append(f'<text class="legend-count" data-status="{_attr(code)}" '
                   f'x="{_n(LEGEND_RIGHT)}" y="{_n(row)}" text-anchor="end">{count}</text>')
        row += 24
    out.append(f'<line x1="{_n(LEGEND_LEFT)}" y1="{_n(row - 14)}" x2="{_n(LEGEND_RIGHT)}" '
               f'y2="{_n(row - 14)}" stroke="#999999" stroke-width="1"/>')
    out.append(f'<text x="{_n(LEGEND_LEFT + 22)}" y="{_n(row + 2)}">Total</text>')
    out.append(f'<text class="legend-total" x="{_n(LEGEND_RIGHT)}" y="{_n(row + 2)}" '
               f'text-anchor="end">{total}</text>')
    out.append('</g>')
    out.append('</svg>')
    return "\n".join(out) + "\n"


def _y_scale(top: int) -> tuple[int, int]:
    """A round tick step (1, 2 or 5 times a power of ten) with at most six steps to the top."""
    top = max(top, 1)
    power = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * power
            if math.ceil(top / step) <= 6:
                return step, math.ceil(top / step) * step
        power *= 10


def _x_ticks(start: dt.date, end: dt.date, px_per_day: float) -> list[tuple[dt.date, str]]:
    """Ticks on round days, months or years, as fine as the labels allow without overlap."""
    for unit, step in TICK_STEPS:
        ticks = _ticks(unit, step, start, end)
        label_width = _width(ticks[0][1] if ticks else "0000-00-00", 11)
        gaps = [(b - a).days * px_per_day for (a, _), (b, _) in zip(ticks, ticks[1:])]
        if len(ticks) >= 2 and min(gaps) >= label_width + 12:
            return ticks
    return [(day, day.isoformat()) for day in dict.fromkeys([start, end])]


def _ticks(unit: str, step: int, start: dt.date, end: dt.date) -> list[tuple[dt.date, str]]:
    if unit == "day":
        # Counted back from `end`, so that the release day always has its label.
        days = [end - dt.timedelta(days=n) for n in range(0, (end - start).days + 1, step)]
        return [(d, d.isoformat()) for d in reversed(days)]
    months = step if unit == "month" else 12 * step
    index = start.year * 12 + start.month - 1
    if start.day > 1:
        index += 1
    index += -index % months
    ticks = []
    while (day := dt.date(index // 12, index % 12 + 1, 1)) <= end:
        ticks.append((day, f"{day:%Y-%m}" if unit == "month" else f"{day:%Y}"))
        index += months
    return ticks


def _simplify(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The outline without repeated points and without points inside straight runs."""
    kept: list[tuple[float, float]] = []
    for p in points:
        if kept and kept[-1] == p:
            continue
        if len(kept) >= 2 and (kept[-2][0] == kept[-1][0] == p[0] or
                               kept[-2][1] == kept[-1][1] == p[1]):
            kept[-1] = p
        else:
            kept.append(p)
    return kept


def _width(text: str, size: float) -> float:
    return len(text) * size * CHAR_EM


def _fit(text: str, room: float, size: float) -> str:
    """The text, shortened with an ellipsis if it would run out of `room` pixels."""
    if _width(text, size) <= room:
        return text
    keep = max(int(room / (size * CHAR_EM)) - 1, 1)
    return text[:keep].rstrip() + "\u2026"


def _n(value: float) -> str:
    formatted = f"{value:.1f}"
    return "0.0" if formatted == "-0.0" else formatted


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("", value))


def _attr(value: str) -> str:
    return escape(_NOT_XML.sub("", value), {'"': "&quot;"})
