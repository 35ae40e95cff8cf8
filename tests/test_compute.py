"""package/compute.py gives what pyarrow.compute and Arrow's methods give for the same calls:
the same options, so the same rows, in the same order, and the same errors."""
from __future__ import annotations

import datetime as dt
import importlib
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pledgepack.package import compute


def test_sort_by_keeps_ties_in_order_and_puts_nulls_last_as_arrow_does():
    table = pa.table({"a": ["b", None, "a", "b", None, "a"], "b": [2, 1, None, 1, 0, 1],
                      "row": list(range(6))})
    for keys in (["a"], ["a", "b"], ["b", "a"]):
        expected = table.sort_by([(k, "ascending") for k in keys])
        assert compute.sort_by(table, keys).equals(expected)
    assert compute.sort_by(table, ["a"]).column("row").to_pylist() == [2, 5, 0, 3, 1, 4]


def test_cast_is_safe():
    stamps = pa.array([dt.datetime(2024, 1, 2, 3, 4, 5)], pa.timestamp("ms", tz="UTC"))
    assert compute.cast(stamps, pa.timestamp("s", tz="UTC")).equals(
        stamps.cast(pa.timestamp("s", tz="UTC")))
    lossy = pa.array([1500], pa.timestamp("ms", tz="UTC"))
    with pytest.raises(pa.ArrowInvalid):
        lossy.cast(pa.timestamp("s", tz="UTC"))
    with pytest.raises(pa.ArrowInvalid):
        compute.cast(lossy, pa.timestamp("s", tz="UTC"))
    dates = pa.array(["2024-02-29", None], pa.string())
    assert compute.cast(dates, pa.date32()).equals(dates.cast(pa.date32()))
    with pytest.raises(pa.ArrowInvalid):
        compute.cast(pa.array(["2023-02-29"]), pa.date32())


def test_text_functions_match():
    lists = pa.array([["a", "b"], [], None, ["c"]], pa.list_(pa.string()))
    assert compute.binary_join(lists, "|").equals(pc.binary_join(lists, "|"))
    text = pa.array(["a|b", "", None, "c"])
    assert compute.split_pattern(text, "|").equals(pc.split_pattern(text, "|"))
    stamps = pa.array([dt.datetime(2024, 1, 2, 3, 4, 5), None], pa.timestamp("s", tz="UTC"))
    assert compute.strftime(stamps, "%Y-%m-%dT%H:%M:%SZ").to_pylist() == [
        "2024-01-02T03:04:05Z", None]


def test_nulls_sets_and_counts_match():
    dates = pa.chunked_array([[dt.date(2024, 1, 1), None], [None]], pa.date32())
    assert compute.is_null(dates).equals(pc.is_null(dates))
    chosen = compute.if_else(compute.is_null(dates), pa.scalar(None, pa.string()), "editor")
    assert chosen.to_pylist() == ["editor", None, None]
    ids = pa.chunked_array([["x", "y"], [None, "x"]])
    wanted = pa.array(["y", None])
    assert compute.is_in(ids, wanted).equals(pc.is_in(ids, value_set=wanted))
    assert compute.any_true(compute.is_in(ids, pa.array(["z"]))) is False
    assert compute.any_true(compute.is_in(ids, pa.array(["x"]))) is True
    assert compute.count_distinct(ids) == pc.count_distinct(ids).as_py() == 2


def test_without_the_engine_module_the_public_one_serves(monkeypatch):
    """`pyarrow._compute` is pyarrow's own module, not its promise: where it is not there,
    the same names come from pyarrow.compute."""
    monkeypatch.setitem(sys.modules, "pyarrow._compute", None)
    monkeypatch.delattr(pa, "_compute")
    fallback = importlib.reload(compute)
    try:
        assert fallback._compute is pc
        table = pa.table({"a": ["b", None, "a"]})
        assert fallback.sort_by(table, ["a"]).equals(table.sort_by([("a", "ascending")]))
        assert fallback.count_distinct(pa.array(["x", "x", None])) == 1
    finally:
        monkeypatch.undo()
        importlib.reload(compute)
    assert compute._compute is not pc
