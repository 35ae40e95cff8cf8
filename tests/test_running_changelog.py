"""The running CHANGELOG.md: every release's entry, rebuilt from the v* tags of a real
repository made in tmp_path, with every kind of change a consumer follows."""
from __future__ import annotations

import pytest

from conftest import DOCUMENT_YAML, PACKAGE_YAML, make_repo
from pledgepack.release import cut
from pledgepack.release.cut import release

DOC = "content/testland-2024"


def pledge(sid: str, status: str, summary: str, last_update: str | None = "2024-01-05",
           extra: str = "") -> str:
    text = f"  - id: {sid}\n    status: {status}\n    summary: {summary}\n"
    if last_update:
        text += f"    last_update: '{last_update}'\n"
    return text + extra


def chapter(*pledges: str, ids: tuple[str, ...]) -> str:
    body = " ".join(f"[Vorhaben {sid}](#{sid})." for sid in ids)
    return f'---\ntitle: "1.1 Verwaltung"\nstatements:\n{"".join(pledges)}---\n{body}\n'


REPORT = ("    reports:\n      - title: Bericht zum Portal\n"
          "        url: https://example.gov/bericht-portal\n")


@pytest.fixture
def tagged(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    repo = make_repo(tmp_path)
    path = f"{DOC}/1-1.md"
    repo.commit({"content/package.yaml": PACKAGE_YAML,
                 f"{DOC}/document.yaml": DOCUMENT_YAML, path: chapter(
        pledge("a", "not_implemented", "Portal"), pledge("b", "not_implemented", "Akte"),
        ids=("a", "b"))}, when="2024-01-10T10:00:00+00:00")
    repo.git("tag", "v1.0.0")
    repo.commit({path: chapter(
        pledge("a", "partially_implemented", "Portal", "2024-02-03", extra=REPORT),
        pledge("b", "not_implemented", "Akte *neu* <b>"), ids=("a", "b"))},
        when="2024-02-10T10:00:00+00:00")
    # An annotated tag made two days after its commit: the release is dated by the tag.
    repo.git("tag", "-a", "v1.1.0", "-m", "1.1.0", when="2024-02-12T09:00:00+00:00")
    repo.commit({path: chapter(
        pledge("a", "partially_implemented", "Portal", "2024-02-03",
               extra="    deadline: 2025-12-31\n"),
        pledge("c", "implemented", "Register", "2024-03-01"), ids=("a", "c"))},
        when="2024-03-10T10:00:00+00:00")
    repo.git("tag", "v1.2.0")
    repo.commit({path: chapter(
        pledge("a", "implemented", "Portal", "2024-04-02",
               extra="    deadline: 2025-12-31\n    responsible: Innenministerium\n"),
        pledge("c", "implemented", "Register", "2024-03-01"), ids=("a", "c"))},
        when="2024-04-10T10:00:00+00:00")
    builds = []
    package_at = cut.package_at

    def counted(repo_, ref, *args, **kwargs):
        builds.append(ref)
        return package_at(repo_, ref, *args, **kwargs)

    monkeypatch.setattr(cut, "package_at", counted)
    return repo, builds


def entries(changelog: str) -> dict[str, str]:
    parts = changelog.split("\n## ")[1:]
    return {part.split(" ", 1)[0]: part for part in parts}


def test_the_changelog_holds_every_release_newest_first(tagged, tmp_path):
    repo, builds = tagged
    result = release(repo.path / "content", tmp_path / "dist", version="1.3.0")
    text = result.changelog
    assert text.startswith("# Changelog\n\n## 1.3.0 (2024-04-10)\n")
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        "## 1.3.0 (2024-04-10)", "## 1.2.0 (2024-03-10)", "## 1.1.0 (2024-02-12)",
        "## 1.0.0 (2024-01-10)"]
    assert (tmp_path / "dist/CHANGELOG.md").read_text(encoding="utf-8") == text
    found = entries(text)
    assert "The first release: all 2 statements are new." in found["1.0.0"]
    # 1.1.0: a status change dated by the editors, a reworded summary (escaped), a report.
    assert ("- `a`: Portal: not implemented → partially implemented (in effect 2024-02-03, "
            "commit ") in found["1.1.0"]
    assert " of 2024-02-10)\n" in found["1.1.0"]
    assert "- `b`: summary reworded from “Akte” to “Akte \\*neu\\* \\<b>”" in found["1.1.0"]
    assert "Reports added:\n\n- `a`: [Bericht zum Portal](<https://example.gov/bericht-portal>)" \
        in found["1.1.0"]
    assert "- Reports added: 1\n- Reports removed: 0" in found["1.1.0"]
    # 1.2.0: added, removed, a deadline set; the report left with nobody removing it.
    assert "Added:\n\n- `c`: Register (implemented)" in found["1.2.0"]
    assert "Removed:\n\n- `b`: Akte \\*neu\\* \\<b> (was not implemented)" in found["1.2.0"]
    assert "- `a`: deadline none → 2025-12-31" in found["1.2.0"]
    assert "Reports removed:\n\n- `a`: [Bericht zum Portal]" in found["1.2.0"]
    # 1.3.0: the new release, against v1.2.0.
    assert "Changes since 1.2.0:" in found["1.3.0"]
    assert "- `a`: responsible none → Innenministerium" in found["1.3.0"]
    assert "partially implemented → implemented (in effect 2024-04-02" in found["1.3.0"]
    # Each tag was built once, the previous release's included.
    assert sorted(builds) == ["v1.0.0", "v1.1.0", "v1.2.0"]


def test_a_later_release_reuses_the_tags_built_before(tagged, tmp_path):
    repo, builds = tagged
    first = release(repo.path / "content", tmp_path / "one", version="1.3.0")
    assert len(builds) == 3
    second = release(repo.path / "content", tmp_path / "two", version="1.3.0")
    assert len(builds) == 3 and second.changelog == first.changelog
    # A new tag is the only one built for the next release.
    repo.git("tag", "v1.3.0")
    third = release(repo.path / "content", tmp_path / "three", version="1.4.0")
    assert builds[3:] == ["v1.3.0"]
    assert third.changelog.index("## 1.4.0") < third.changelog.index("## 1.3.0") \
        < third.changelog.index("## 1.0.0")
    assert entries(third.changelog)["1.3.0"] == entries(first.changelog)["1.3.0"]
