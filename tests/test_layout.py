"""The code layout: one subpackage per pipeline stage, imports pointing one way.

The rules are read from the source with `ast`, so a new import that reaches back upstream fails
here, and so does a module that the README's layout table does not name.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "pledgepack"
STAGES = ("content", "history", "package", "check", "query", "editors", "release", "exports",
          "site")

# stage -> stages it must never import
FORBIDDEN = {
    "content": {"history", "package", "check", "query", "editors", "release", "build", "cli"},
    "check": {"content", "history", "editors", "release", "build", "cli"},
    "query": {"content", "history", "editors", "release", "build", "cli"},
    "release": {"content", "editors", "cli"},
    "site": {"content", "history", "editors", "build", "cli"},
    "package": {"check", "query", "editors", "release", "build", "cli"},
    "history": {"package", "check", "query", "editors", "release", "build", "cli"},
    "editors": {"package", "check", "query", "release", "build", "cli"},
    "exports": {"content", "history", "editors", "release", "build", "cli"},
}


def module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, package: Path) -> set[str]:
    """Dotted names of everything the module imports (relative imports resolved)."""
    name = module_name(path, package)
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from . import x` may name a module
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def stage_of(dotted: str, package_name: str = "pledgepack") -> str | None:
    parts = dotted.split(".")
    if parts[0] != package_name or len(parts) < 2:
        return None
    return parts[1]


def layout_violations(package: Path) -> list[str]:
    problems = []
    graph: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        own = stage_of(module_name(path, package)) or "__init__"
        for target in imports_of(path, package):
            top = target.split(".")[0]
            if top == "click" and rel != "cli.py":
                problems.append(f"{rel} imports click: only cli.py may")
            other = stage_of(target)
            if other is None or other == own:
                continue
            if other in FORBIDDEN.get(own, ()):
                problems.append(f"{rel} imports {target}: {own}/ must not import {other}")
            if own in STAGES and other in STAGES:
                graph.setdefault(own, set()).add(other)
    # no cycle between stages
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                problems.append("import cycle between stages: " + " -> ".join(trail + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return problems


def test_imports_point_one_way():
    assert layout_violations(PACKAGE) == []


def test_the_checker_catches_a_backward_import(tmp_path):
    package = tmp_path / "pledgepack"
    for stage in ("content", "check", "release", "history"):
        (package / stage).mkdir(parents=True)
        (package / stage / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "content" / "folder.py").write_text("from ..check.validate import x\nimport click\n")
    (package / "check" / "validate.py").write_text("from pledgepack.content import folder\n")
    (package / "release" / "cut.py").write_text("from ..content.folder import read\n")
    (package / "history" / "walk.py").write_text("from . import gitio\nfrom ..content import y\n")
    problems = layout_violations(package)
    assert "content/folder.py imports click: only cli.py may" in problems
    assert "content/folder.py imports pledgepack.check.validate: content/ must not import check" \
        in problems
    assert any(p.startswith("check/validate.py imports pledgepack.content") for p in problems)
    assert "release/cut.py imports pledgepack.content.folder: release/ must not import content" \
        in problems
    assert any(p.startswith("import cycle between stages: check -> content -> check")
               or p.startswith("import cycle between stages: content -> check -> content")
               for p in problems)
    assert not any(p.startswith("history/") for p in problems)


def test_every_folder_is_a_stage_with_its_job_stated():
    folders = sorted(p.name for p in PACKAGE.iterdir()
                     if p.is_dir() and p.name != "__pycache__")
    assert folders == sorted(STAGES)
    for stage in STAGES:
        doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text()))
        assert doc and len(doc) > 20, f"{stage}/__init__.py says nothing of its job"


def readme_layout_rows() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        match = re.match(r"\s*\| (top level|`(\w+)/`) \|(.*)\|\s*$", line)
        if match:
            rows[match.group(2) or ""] = match.group(3)
    return rows


def test_readme_names_every_module_in_its_row():
    rows = readme_layout_rows()
    assert set(rows) == {""} | set(STAGES)
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.name == "__init__.py" and len(rel.parts) > 1:
            continue
        folder = rel.parts[0] if len(rel.parts) > 1 else ""
        assert f"`{rel.name}`" in rows[folder], f"README's layout table lacks {rel.as_posix()}"
    named = {(folder, name) for folder, row in rows.items()
             for name in re.findall(r"`(\w+\.py)`", row)}
    for folder, name in named:
        assert (PACKAGE / folder / name).is_file(), f"README names {folder}/{name}, which is gone"
