"""The Parquet checks (check/sqlchecks.py) on files made here: the primary key's and the unique
field's duplicates, keys missing, and the row order, counted as the rows say, however the
checks share their work (the duplicates are not looked for where the order proves there are
none)."""
from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from pledgepack.check.findings import parquet_findings

ONE_KEY = {"fields": [{"name": "id", "type": "string"},
                      {"name": "code", "type": "string", "constraints": {"unique": True}}],
           "primaryKey": ["id"]}
TWO_KEYS = {"fields": [{"name": "id", "type": "string"}, {"name": "seq", "type": "integer"}],
            "primaryKey": ["id", "seq"]}


def _problems(tmp_path, schema: dict, columns: dict[str, list]) -> dict[str, int]:
    """{check: rows failing it} of a Parquet file of `columns` under `schema`."""
    types = {"string": pa.string(), "integer": pa.int64()}
    table = pa.table({f["name"]: pa.array(columns[f["name"]], types[f["type"]])
                      for f in schema["fields"]})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    found = parquet_findings({"t": {"schema": schema}}, {"t": path})["t"]
    counts = {}
    for problem in found["problems"]:
        counts[problem["check"]] = int(re.match(r"(\d+) row", problem["message"]).group(1))
    assert (found["rows"] is None) == bool(counts)
    return counts


def _expected(keys: list, codes: list | None = None) -> dict[str, int]:
    """The same counts, worked out row by row."""
    counts = {}
    missing = [k is None or (isinstance(k, tuple) and None in k) for k in keys]
    given = [k for k, m in zip(keys, missing) if not m]
    primary = sum(1 for k, m in zip(keys, missing) if m or given.count(k) > 1)
    # a missing key compares as nothing; a key of several fields is compared as DuckDB
    # compares rows, a missing field after every value
    def comparable(key):
        return tuple((1, "") if v is None else (0, v) for v in key)

    order = sum(1 for before, k in zip(keys, keys[1:])
                if (comparable(before) >= comparable(k) if isinstance(k, tuple)
                    else before is not None and k is not None and before >= k))
    if codes is not None:
        present = [c for c in codes if c is not None]
        unique = sum(1 for c in present if present.count(c) > 1)
        if unique:
            counts["unique"] = unique
    if primary:
        counts["primary-key"] = primary
    if order:
        counts["row-order"] = order
    return counts


def test_keys_in_order_and_given_once_pass(tmp_path):
    assert _problems(tmp_path, ONE_KEY, {"id": ["a", "b", "c"], "code": ["x", "y", "z"]}) == {}


def test_a_key_given_twice_is_out_of_order_and_a_duplicate(tmp_path):
    assert _problems(tmp_path, ONE_KEY, {"id": ["a", "b", "b"], "code": ["x", "y", "z"]}) \
        == {"primary-key": 2, "row-order": 1}


def test_keys_out_of_order_but_each_once_fail_the_order_alone(tmp_path):
    assert _problems(tmp_path, ONE_KEY, {"id": ["a", "c", "b"], "code": ["x", "y", "z"]}) \
        == {"row-order": 1}


def test_a_missing_key_between_two_equal_ones_does_not_hide_them(tmp_path):
    # The order compares nothing with a missing key, so it passes: the duplicates must
    # still be looked for.
    assert _problems(tmp_path, ONE_KEY, {"id": ["a", None, "a"], "code": ["x", "y", "z"]}) \
        == {"primary-key": 3}
    # Of a key of several fields, a row with one of them missing is out of order too, as
    # DuckDB orders rows: (a, 1), (a, -), (a, 1).
    assert _problems(tmp_path, TWO_KEYS, {"id": ["a", "a", "a"], "seq": [1, None, 1]}) \
        == {"primary-key": 3, "row-order": 1}


def test_a_unique_field_other_than_the_key_is_searched_for_duplicates(tmp_path):
    assert _problems(tmp_path, ONE_KEY, {"id": ["a", "b", "c"], "code": ["x", "y", "x"]}) \
        == {"unique": 2}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", None]),
                          st.sampled_from([1, 2, None]),
                          st.sampled_from(["x", "y", "z", "w", None])),
                min_size=1, max_size=8))
def test_the_counts_are_those_of_the_rows(tmp_path_factory, rows):
    tmp_path = tmp_path_factory.mktemp("checks")
    ids, seqs, codes = (list(column) for column in zip(*rows))
    assert _problems(tmp_path, ONE_KEY, {"id": ids, "code": codes}) == _expected(ids, codes)
    assert _problems(tmp_path, TWO_KEYS, {"id": ids, "seq": seqs}) == _expected(
        list(zip(ids, seqs)))
