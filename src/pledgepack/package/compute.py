"""The few Arrow compute functions the build uses, called through Arrow's engine itself
(`pyarrow._compute.call_function`) with the options `pyarrow.compute` would pass.

Importing `pyarrow.compute` makes a Python wrapper for each of Arrow's functions, its
docstring scraped from the options class: about 0.07 s of the main thread, which a rebuild
spent while its tables waited (pyarrow 26, 100k statements, after `import pyarrow`). The
methods of Arrow's own tables and arrays that compute (`cast`, `take`, `sort_by`, `filter`,
...) import it too, so the build calls these functions instead. tests/test_compute.py holds
them to what pyarrow.compute gives; tests/test_rebuild.py keeps the build from importing it.
"""
from __future__ import annotations

import pyarrow as pa

try:
    from pyarrow import _compute
except ImportError:  # a pyarrow that keeps its engine elsewhere: the same names, more slowly
    import pyarrow.compute as _compute

_call = _compute.call_function


def cast(values, target: pa.DataType):
    """`values.cast(target)`: a safe cast, which fails where a value would change."""
    return _call("cast", [values], _compute.CastOptions.safe(target))


def sort_by(table: pa.Table, keys: list[str]) -> pa.Table:
    """`table.sort_by([(key, "ascending"), ...])`: nulls last, ties in the order given."""
    indices = _call("sort_indices", [table],
                    _compute.SortOptions(sort_keys=[(key, "ascending") for key in keys]))
    return _call("take", [table, indices], _compute.TakeOptions(boundscheck=True))


def binary_join(lists, separator: str):
    return _call("binary_join", [lists, separator])


def strftime(values, format: str):
    return _call("strftime", [values], _compute.StrftimeOptions(format))


def split_pattern(values, pattern: str):
    return _call("split_pattern", [values], _compute.SplitPatternOptions(pattern))


def is_null(values):
    return _call("is_null", [values], _compute.NullOptions())


def if_else(condition, left, right):
    return _call("if_else", [condition, left, right])


def is_in(values, value_set: pa.Array):
    return _call("is_in", [values], _compute.SetLookupOptions(value_set))


def any_true(values) -> bool:
    """Whether a value is true; nulls are passed over."""
    return _call("any", [values], _compute.ScalarAggregateOptions()).as_py()


def count_distinct(values) -> int:
    """How many distinct values, nulls not counted."""
    return _call("count_distinct", [values], _compute.CountOptions("only_valid")).as_py()
