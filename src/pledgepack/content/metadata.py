"""The package's own metadata: `package.yaml` at the top of a content folder.

A tracker writes it once: who made the package, where it lives, under which licence the
tracker publishes its statuses and assessments, and which sources it draws on. The table
schemas are not in it: they ship with pledgepack. A folder without the file builds with
neutral metadata and a warning, so that nobody else's credits end up in the package.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import ERROR, WARNING, Diagnostic
from .yamltext import URI_RE, YamlProblem, decode, load_yaml

METADATA_FILE = "package.yaml"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
TEXT_KEYS = ("name", "title", "description", "homepage", "repository")
LIST_KEYS = {
    "keywords": None,
    "languages": None,
    "licenses": ("name", "path", "title"),
    "sources": ("title", "path", "email", "version"),
    "contributors": ("title", "givenName", "familyName", "path", "email", "roles",
                     "organization"),
}
KNOWN = set(TEXT_KEYS) | set(LIST_KEYS)
# What a package should say about itself; named in the warning when missing.
EXPECTED = ("title", "contributors", "licenses", "sources", "homepage")
_EXAMPLE = ("title: ..., contributors: [{title: ..., roles: [author]}], licenses: [{name: "
            "CC-BY-4.0, path: https://...}], sources: [{title: ..., path: https://...}], "
            "homepage: https://...")


def read_metadata(root: Path, display: str) -> tuple[dict, list[Diagnostic]]:
    """The metadata of `package.yaml` in `root` (empty without it) and its problems."""
    path = root / METADATA_FILE
    place = f"{display.rstrip('/')}/{METADATA_FILE}"
    diagnostics: list[Diagnostic] = []
    if not path.is_file():
        diagnostics.append(Diagnostic(
            display, None, WARNING,
            f"no {METADATA_FILE}: the package is built with neutral metadata, without "
            f"{', '.join(EXPECTED)}",
            f"write {METADATA_FILE} in the content folder once, with {_EXAMPLE}"))
        return {}, diagnostics
    text = decode(path.read_bytes(), place, diagnostics)
    if text is None:
        return {}, diagnostics
    try:
        meta = load_yaml(text, 1) or {}
    except YamlProblem as exc:
        return {}, [Diagnostic(place, exc.line, ERROR, exc.message, exc.hint)]
    if not isinstance(meta, dict):
        return {}, [Diagnostic(place, 1, ERROR, f"{METADATA_FILE} is not a mapping of keys",
                               "write 'title: ...' and the other fields as 'key: value' lines")]

    def line(key: str) -> int | None:
        match = re.search(rf"^{re.escape(key)}\s*:", text, re.MULTILINE)
        return text.count("\n", 0, match.start()) + 1 if match else None

    def bad(key: str, message: str, hint: str) -> None:
        diagnostics.append(Diagnostic(place, line(key), ERROR, message, hint))

    out: dict = {}
    for key in sorted(set(meta) - KNOWN, key=str):
        diagnostics.append(Diagnostic(place, line(str(key)), WARNING,
                                      f"unknown field {key!r} is ignored",
                                      "known fields: " + ", ".join(sorted(KNOWN))))
    for key in TEXT_KEYS:
        value = meta.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            bad(key, f"'{key}' must be text", f"write '{key}: ...' on one line")
        elif key in ("homepage", "repository") and not URI_RE.match(value.strip()):
            bad(key, f"{key} {value!r} is not a URL", "write the full address, with https://")
        elif key == "name" and not NAME_RE.match(value.strip()):
            bad(key, f"name {value!r} is not usable as a package name",
                "use lower-case letters, digits, '.', '_' and '-'")
        else:
            out[key] = value.strip()
    for key, fields in LIST_KEYS.items():
        value = meta.get(key)
        if value is None:
            continue
        items = _items(key, value, fields, bad)
        if items is not None:
            out[key] = items
    for contributor in out.get("contributors", []):
        name = contributor.get("title", "")
        if not (contributor.get("givenName") or contributor.get("familyName")) and (
                "," in name or re.search(r"\sand\s", name)):
            diagnostics.append(Diagnostic(
                place, line("contributors"), WARNING,
                f"contributor {name!r}: citation tools read a comma as 'family name, given "
                "name' and ' and ' as between two authors",
                "write the organisation's name without them, or give a person's givenName and "
                "familyName"))
    missing = [key for key in EXPECTED if not out.get(key)]
    if missing and not any(d.severity == ERROR for d in diagnostics):
        diagnostics.append(Diagnostic(
            place, None, WARNING, f"{METADATA_FILE} does not say: {', '.join(missing)}",
            f"add {', '.join(missing)} to {METADATA_FILE}; the package says nothing in their "
            "place"))
    return out, diagnostics


def _items(key: str, value, fields, bad) -> list | None:
    if not isinstance(value, list):
        bad(key, f"'{key}' must be a list", f"write one '- ...' line per entry under '{key}:'")
        return None
    if fields is None:
        if not all(isinstance(v, str) and v.strip() for v in value):
            bad(key, f"'{key}' must be a list of texts", "write one '- text' line per entry")
            return None
        return [v.strip() for v in value]
    items = []
    for n, item in enumerate(value, 1):
        if not isinstance(item, dict):
            bad(key, f"entry {n} of '{key}' is not a mapping",
                "write each entry as '- title: ...' with its fields indented below")
            return None
        unknown = sorted(set(item) - set(fields), key=str)
        if unknown:
            bad(key, f"entry {n} of '{key}' has unknown field(s): "
                f"{', '.join(map(str, unknown))}", "known fields: " + ", ".join(fields))
            return None
        entry = {}
        for field, raw in item.items():
            if field == "roles":
                if not (isinstance(raw, list) and all(isinstance(r, str) for r in raw)):
                    bad(key, f"entry {n} of '{key}': roles must be a list of texts",
                        "write 'roles: [author, publisher]'")
                    return None
                entry[field] = list(raw)
            elif not isinstance(raw, str) or not raw.strip():
                bad(key, f"entry {n} of '{key}': {field} must be text",
                    f"write '{field}: ...' on one line")
                return None
            else:
                entry[field] = raw.strip()
        if "path" in entry and not URI_RE.match(entry["path"]):
            bad(key, f"entry {n} of '{key}': path {entry['path']!r} is not a URL",
                "write the full address, with https://")
            return None
        need = "name" if key == "licenses" else "title"
        if need not in entry and not (key == "sources" and "path" in entry):
            bad(key, f"entry {n} of '{key}' has no {need}", f"add '{need}: ...'")
            return None
        items.append(entry)
    return items
