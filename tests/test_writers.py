"""package/writers.py's TableWriter: each table's Parquet file comes first, the same bytes
whichever order the threads take."""
from __future__ import annotations

import time

import pyarrow as pa
import pyarrow.parquet as pq

from pledgepack.package import writers
from pledgepack.package.writers import TableWriter, write_csv, write_parquet


def tables() -> dict[str, pa.Table]:
    return {f"t{n}": pa.table({"id": [f"{n}-{i}" for i in range(50)],
                               "value": list(range(50))}) for n in range(3)}


def test_a_tables_csv_is_begun_only_once_its_parquet_file_is_written(tmp_path, monkeypatch):
    """The database's child waits for the Parquet files: a CSV file written beside its table's
    Parquet file would take a core from it. A slow Parquet writer shows the order."""
    done: list[str] = []
    begun: dict[str, bool] = {}

    def slow_parquet(table, path):
        time.sleep(0.2)
        write_parquet(table, path)

    def csv(table, path, cut=None):
        begun[path.stem] = path.stem in done
        return write_csv(table, path, cut)

    monkeypatch.setattr(writers, "write_parquet", slow_parquet)
    monkeypatch.setattr(writers, "write_csv", csv)
    with TableWriter(tmp_path, parquet_done=lambda name, path: done.append(name)) as writer:
        for name, table in tables().items():
            writer.submit(name, table)
        paths = writer.wait()
    assert begun == {name: True for name in tables()}
    for name, table in tables().items():
        assert pq.ParquetFile(paths[name]["parquet"]).read().equals(table)
        assert paths[name]["csv"].read_text(encoding="utf-8").splitlines()[:2] == [
            '"id","value"', f'"{name[1:]}-0",0']
        assert writer.facts[paths[name]["csv"]][0] == paths[name]["csv"].stat().st_size


def test_the_files_are_the_same_bytes_as_written_alone(tmp_path):
    with TableWriter(tmp_path / "a", csv_check=lambda name, table, path, part: None) as writer:
        for name, table in tables().items():
            writer.submit(name, table)
        paths = writer.wait()
    for name, table in tables().items():
        write_parquet(table, tmp_path / f"{name}.parquet")
        write_csv(table, tmp_path / f"{name}.csv")
        for kind in ("parquet", "csv"):
            assert paths[name][kind].read_bytes() == (tmp_path / f"{name}.{kind}").read_bytes()
    assert writer.csv_checked == {name: None for name in tables()}
