"""The release as a consumer gets it: the data README's checksum steps, run as written in an
empty folder holding only the downloaded zip and SHA256SUMS, and its recipes for reading the
CSV files with their schema (frictionless, pandas, R readr), run in the unpacked folder."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import debian_install, debian_tool


def section(markdown: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", markdown, re.S | re.M)
    assert match, title
    return match.group(1)


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


@pytest.fixture(scope="module")
def readme(shipped_release) -> str:
    return (shipped_release / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def download(shipped_release, tmp_path) -> Path:
    """An empty folder with what a consumer downloads: the zip and SHA256SUMS."""
    folder = tmp_path / "download"
    folder.mkdir()
    for path in shipped_release.glob("*.zip"):
        shutil.copy(path, folder)
    shutil.copy(shipped_release / "SHA256SUMS", folder)
    return folder


def steps(readme: str) -> list[str]:
    (block,) = blocks(section(readme, "Verifying the download"), "sh")
    return [line for line in block.splitlines() if line.strip()]


def test_the_checksum_steps_work_as_written(readme, download):
    lines = steps(readme)
    assert len(lines) == 3 and lines[1].startswith("unzip")
    for line in lines:
        result = subprocess.run(["bash", "-c", line], cwd=download, capture_output=True,
                                text=True)
        assert result.returncode == 0, (line, result.stdout, result.stderr)
    sums = (download / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=download,
                             capture_output=True, text=True).stdout.splitlines()
    assert len(checked) == len(sums) and all(line.endswith(": OK") for line in checked)


def test_the_first_step_catches_a_damaged_zip(readme, download):
    (archive,) = download.glob("*.zip")
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    result = subprocess.run(["bash", "-c", steps(readme)[0]], cwd=download,
                            capture_output=True, text=True)
    assert result.returncode != 0 and "FAILED" in result.stdout


@pytest.fixture
def unpacked(shipped_release, tmp_path) -> Path:
    folder = tmp_path / "unpacked"
    (archive,) = shipped_release.glob("*.zip")
    with zipfile.ZipFile(archive) as handle:
        handle.extractall(folder)
    return folder


def expected_numbers(folder: Path) -> list[str]:
    return [n for n in pq.read_table(folder / "data/sections.parquet").column("number")
            .to_pylist() if n is not None]


def recipes(readme: str, language: str) -> list[str]:
    return blocks(section(readme, "Reading the CSV files with their schema"), language)


def test_the_frictionless_and_pandas_recipes(readme, unpacked):
    friction, pandas = recipes(readme, "python")
    checks = {
        friction: 'import json; print(json.dumps([r["number"] for r in sections '
                  'if r["number"] is not None]))',
        pandas: 'import json; print(json.dumps(sections["number"].dropna().tolist())); '
                'print(sections["published"].dtype, sections["order"].dtype)',
    }
    for recipe, check in checks.items():
        result = subprocess.run([sys.executable, "-c", recipe + "\n" + check], cwd=unpacked,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        numbers = json.loads(lines[-1] if recipe is friction else lines[-2])
        assert numbers == expected_numbers(unpacked)
    assert lines[-1] == "boolean Int64"


def test_the_r_readr_recipe(readme, unpacked):
    packages = ["r-base-core", "r-cran-readr", "r-cran-jsonlite"]
    rscript = debian_tool("Rscript", packages)
    (recipe,) = recipes(readme, "r")
    check = ('cat(toJSON(sections$number[!is.na(sections$number)]), "\\n")\n'
             'cat(class(sections$published), class(sections$order), "\\n")\n')

    def run_r():
        return subprocess.run([rscript, "-e", recipe + "\n" + check], cwd=unpacked,
                              capture_output=True, text=True)

    result = run_r()
    if "there is no package called" in result.stderr:
        failed = debian_install(packages)
        if failed:
            pytest.skip(f"R lacks readr or jsonlite: apt-get install -y {' '.join(packages)} "
                        f"({failed})")
        result = run_r()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert json.loads(lines[-2]) == expected_numbers(unpacked)
    assert lines[-1].split() == ["logical", "integer"]
