"""What the code that writes and checks a package is: this package's source, Python, and the
libraries whose versions the files or the checks can depend on."""
from __future__ import annotations

import hashlib
import platform
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

LIBRARIES = ("pyarrow", "duckdb", "frictionless", "PyYAML", "yaml-rs", "markdown-it-py",
             "python-frontmatter")
_SOURCE = Path(__file__).resolve().parent


@cache
def code_digest() -> str:
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode() + data)

    add("python", f"{sys.version} {platform.machine()}".encode())
    for name in LIBRARIES:
        try:
            add(name, metadata.version(name).encode())
        except metadata.PackageNotFoundError:
            add(name, b"")
    for path in sorted(_SOURCE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            add(path.relative_to(_SOURCE).as_posix(), path.read_bytes())
    return digest.hexdigest()
