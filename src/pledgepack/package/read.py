"""Reading a built package back: its Parquet tables by name, for the stages that work from a
package's files (the changelog, the exports, the site)."""
from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import PledgepackError
from .descriptor import DESCRIPTOR, PARQUET_SUFFIX


def read_tables(folder: Path) -> dict[str, pa.Table]:
    """The Parquet tables of a built package folder, keyed by table name."""
    folder = Path(folder)
    try:
        descriptor = json.loads((folder / DESCRIPTOR).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise PledgepackError(f"{folder}: not a built package ({DESCRIPTOR}: {error})") from None
    tables = {}
    for resource in descriptor.get("resources", []):
        name = resource.get("name", "")
        if resource.get("format") != "parquet" or not name.endswith(PARQUET_SUFFIX):
            continue
        path = resource.get("path")
        # A descriptor may come from anywhere; its paths must stay inside the package.
        if not isinstance(path, str) or PurePosixPath(path).is_absolute() \
                or ".." in PurePosixPath(path).parts:
            raise PledgepackError(f"{folder}: resource {name!r} has an unusable path {path!r}")
        tables[name[:-len(PARQUET_SUFFIX)]] = pq.ParquetFile(folder / path).read()
    return tables
