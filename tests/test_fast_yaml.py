"""The fast front-matter loader (yaml-rs behind a guard) against the reference loader
(libyaml, every plain scalar kept as text): on every case the chapter reader must give the
same values and the same diagnostics whichever path reads the front matter, and the fast path
must really take the plain cases (else the guard would prove nothing about speed)."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pledgepack.content.yamltext as yamltext
from pledgepack.content.chapter import parse_chapter
from pledgepack.schema import PackageSchema

SCHEMA = PackageSchema.load()
STATUSES, MEASURES = frozenset(SCHEMA.statuses), frozenset(SCHEMA.measures)
REPO = Path(__file__).resolve().parent.parent

# Scalars where YAML 1.1 and 1.2, or a typed and a text-keeping loader, can differ.
SCALARS = [
    "3", "0", "-0", "03", "+3", "-3", "1.0", "1.10", "2.10", "1.", ".5", "-.5", "1e3", "1E3",
    "-1e-3", "1_000", "0x1F", "0o17", "017", "0b101", "1:20", "190:20:30", ".inf", "-.Inf",
    "+.inf", ".NaN", ".nan", "12345678901234567890123", "true", "false", "True", "FALSE",
    "TRUE", "yes", "no", "on", "off", "Yes", "NO", "y", "n", "~", "null", "Null", "NULL", "",
    "''", '""', "'3'", '"3"', "'true'", "2021-11-30", "'2021-11-30'", '"2021-11-30"',
    "2021-11-30T10:00:00Z", "2021-11-30 10:00:00", "2021-13-45", "2021-2-3", "=", "<<", "a=b",
    "https://example.org/?a=b&c=d%20e", "x # comment", "x#y", "'it''s'", '"a\\tb"', '"\\u00e9"',
    '"\\/"', '"\\x41"', "ä ö ü ß", "\u00a0x", "日本語", "emoji \U0001F600", "-x", ":x", "?x",
    "a: b", "'a: b'", "[a, b]", "[]", "{}", "{a: b}", "[1, 2.0, x]", "!!str 3", "!!float 1",
    "!x y", "&a x", "*a", "@x", "`x", "%x", "|\n  line\n", "|-\n  line\n  two\n",
    ">+\n  fold\n  ed\n\n", "|2\n   ind\n", ">\n  x\n\n   y\n  z\n", '"multi\n  line"',
    "'multi\n\n  line'", "plain\n  continued\n\n  para", "x" * 300, "Tab\there", "R&D",
    "Hallo!", "a*b", "50%", "done.", "- item", "1. Kapitel",
]
TEMPLATES = [
    "---\ntitle: \"1. T\"\norder: {v}\npublished: {v}\nstatements:\n  - id: a\n    status: "
    "implemented\n    summary: {v}\n---\nText [a](#a).\n",
    "---\ntitle: {v}\nstatements:\n  - id: a\n    status: implemented\n    summary: x\n"
    "    last_update: {v}\n    categories:\n      - {v}\n    reports:\n      - title: {v}\n"
    "        url: https://example.org/r\n---\nBody [a](#a).\n",
    "---\ntitle: \"2. T\"\nsection: {v}\nredirect_url: {v}\nstatements: []\n---\n",
    "---\ntitle: \"3. T\"\nstatements:\n  - id: {v}\n    status: broken\n    summary: s\n"
    "    rating: {v}\n    govplan_status: started\n---\n[s](#x)\n",
]
HAND = [
    "---\ntitle: a\ntitle: b\n---\n",                       # duplicate key
    "---\ntitle: a\n\"title\": b\n---\n",
    "---\n1: a\n\"1\": b\ntitle: t\n---\n",                  # keys equal only as text
    "---\nnull: a\n~: b\ntitle: t\n---\n",
    "---\ntrue: a\n\"true\": b\ntitle: t\n---\n",
    "---\ntitle: t\nstatements:\n  - id: a\n    id: b\n    status: broken\n---\n",
    "---\ntitle: t\nx: &a [1]\ny: *a\n---\n",                 # anchor and alias
    "---\ntitle: t\n<<: {order: 3}\n---\n",
    "---\n%YAML 1.1\ntitle: t\n---\n",
    "---\ntitle: t\n...\n---\n",
    "---\n? title\n: t\n---\n",
    "---\n[a, b]: c\ntitle: t\n---\n",
    "---\ntitle: t\r\norder: 2\r\n---\r\nbody\r\n",
    "\ufeff---\ntitle: t\n---\n",
    "---\n\ttitle: t\n---\n",
    "---\ntitle: t\nstatements:\n- id: a\n  status: broken\n  summary: s\n---\n",
    "---\ntitle: [t\n---\n",                                  # errors, worded by libyaml
    "---\ntitle: 't\n---\n",
    "---\ntitle: a: b\n---\n",
    "---\ntitle: t\n  bad: indent\n---\n",
    "---\n- a\n- b\n---\n",
    "---\njust text\n---\n",
    "---\n3\n---\n",
    "---\n---\nbody\n",
    "---\n# only a comment\n---\n",
    "---\n\n\ntitle: t\n\n---\n\nbody\n",
    "----  \ntitle: t\n---x\n-----\nbody\n",
    "---\ntitle: t\nx: " + "[" * 70 + "]" * 70 + "\n---\n",    # deep nesting
    "---\ntitle: t\nx:\n" + "".join(" " * i + "- \n" for i in range(1, 80)) + "---\n",
    "---\ntitle: t\nx:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 80)) + "---\n",
    "---\ntitle: t\nx: " + "- " * 70 + "a\n---\n",
    "---\ntitle: t\nx:\n" + "".join(" " * (2 * i) + f"k{i}:\n" for i in range(70)) + "    v\n---\n",
    "---\ntitle: t\nstatements:\n  - id: a\n    status: implemented\n    summary: |\n"
    "      keep\n\n      this\n    last_update: 2021-11-30\n    deadline: '2022-02-30'\n"
    "    history:\n      - date: 2021-01-01\n        status: broken\n        note: n\n---\n",
    "---\ntitle: t # comment\norder: 4 # c\npublished: false\n---\n",
    "---\ntitle: \"é\\u00e9\"\n---\n",
    "---\ntitle: t\nstatements:\n  -\n  - 3\n  - id:\n  - id: [x]\n---\n",
    "---\ntitle: t\nunknown: 1\nstatements:\n  - id: a\n    status: broken\n    extra: 2\n"
    "    summary: s\n---\n",
]


def _read(raw: str):
    result = parse_chapter(raw.encode(), Path("d/1.md"), "d/1.md", "d/1.md", "d", STATUSES,
                           MEASURES)
    return (result.section, result.statements, result.reports, result.recorded,
            result.diagnostics, result.unpublished)


def _reference(raw: str, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(yamltext, "fast_load", lambda text: yamltext.UNSURE)
        return _read(raw)


def _cases() -> list[str]:
    cases = [template.replace("{v}", value.replace("\n", "\n" + " " * 6))
             for template, value in itertools.product(TEMPLATES, SCALARS)]
    return cases + HAND


CASES = _cases()


def test_fast_path_reads_every_case_as_the_reference_loader(monkeypatch):
    fast = 0
    for raw in CASES:
        expected = _reference(raw, monkeypatch)
        assert _read(raw) == expected, raw
        fm = yamltext.split_front_matter(raw.replace("\r\n", "\n"))
        if fm and yamltext.fast_load(fm[0]) is not yamltext.UNSURE:
            fast += 1
    assert len(CASES) > 400
    # the guard lets through the plainly written cases, not only the trivial ones
    assert fast > len(CASES) // 4, fast


@pytest.mark.parametrize("value", ["03", "+3", "1.0", "0x1F", "1_000", ".inf", "True", "1e3",
                                   "-0", "2.10"])
def test_numbers_and_booleans_the_fast_loader_would_type_are_left_to_the_reference(value):
    assert yamltext.fast_load(f"order: {value}\n") is yamltext.UNSURE
    assert yamltext.load_yaml(f"order: {value}\n", 2) == {"order": value}


def test_plain_numbers_and_booleans_come_back_as_the_text_written():
    text = "order: 12\npublished: false\nx:\n  - 0\n  - true\n  - ~\n  - ''\n"
    assert yamltext.fast_load(text) == yamltext.load_yaml(text, 2) == {
        "order": "12", "published": "false", "x": ["0", "true", None, ""]}


@pytest.mark.parametrize("key", ["5", "1_0", "00", "0x1F", "-0", "False", "true", "~", "null"])
def test_keys_that_yaml_types_are_read_by_the_reference_loader(key):
    """yaml-rs gives a key's value, not its spelling (`1_0` and `10` are both 10): such a
    text takes the reference loader's path, which keeps the key as written."""
    text = f"a: 1\nb:\n  {key}: y\n"
    assert yamltext.fast_load(text) is yamltext.UNSURE
    expected = None if key in ("~", "null") else key
    assert yamltext.load_front_matter(text, 2) == {"a": "1", "b": {expected: "y"}}


@pytest.mark.parametrize("text, value", [
    ("a: |\n", {"a": ""}), ("a: >\n", {"a": ""}), ("- |\n- >\n", ["", ""]),
    ("a:\n  - |\n", {"a": [""]}), ("a: 1\nb: |\n   \n", {"a": "1", "b": ""}),
    ("a: |+\n\n", {"a": "\n"})])
def test_an_empty_block_scalar_at_the_end_reads_as_the_reference_loader_reads_it(text, value):
    """yaml-rs gives an empty block scalar at the very end of the text a line break; libyaml,
    as YAML's clip chomping says, none."""
    assert yamltext.load_front_matter(text, 2) == yamltext.load_yaml(text, 2) == value


@pytest.mark.parametrize("text", ["a: 1\na: 2\n", "x: &a 1\ny: *a\n", "x: !!float 1\n",
                                  "x: " + "[" * 70 + "]" * 70 + "\n",
                                  # a line that starts with ': ': yaml-rs reads a value under
                                  # an empty key, libyaml finds no key
                                  "a:\n  : x\n", "a: 1\n: b\n", "order: \n  : \n",
                                  "- a: 1\n  : 2\n",
                                  # a mapping as a key: yaml-rs raised TypeError
                                  "a:\n- ? : : \n"])
def test_refusals_stay_with_the_reference_loader(text):
    assert yamltext.fast_load(text) is yamltext.UNSURE
    with pytest.raises(yamltext.YamlProblem):
        yamltext.load_front_matter(text, 2)


@pytest.mark.parametrize("path", sorted((REPO / "content").rglob("*.md"))
                         + sorted((REPO / "tests" / "fixtures").rglob("*.md")),
                         ids=lambda p: p.name)
def test_shipped_chapters_read_the_same_on_both_paths(path, monkeypatch):
    raw = path.read_text(encoding="utf-8")
    assert _read(raw) == _reference(raw, monkeypatch)


TOKENS = st.sampled_from(SCALARS[:60] + ["a", "b c", "-", ":", "#", "'", '"', " ", "[", "]",
                                         "{", "}", ",", "\n", "\n  ", "\n- ", ": ", "- ",
                                         "|", ">", "|+", ">-", "\n:", "1_0", "00", "False"])
# where the tokens go: values in the middle and at the end, a key, the whole text
FORMS = ["title: t\norder: {0}\nsummary: {0}\n", "a: 1\n{0}: x\n", "{0}\n"]


@given(st.lists(TOKENS, max_size=12).map("".join), st.sampled_from(FORMS))
def test_random_front_matter_reads_the_same_on_both_paths(value, form):
    """Wherever the fast path gives a value, the reference loader gives the same one (not
    an error)."""
    text = form.format(value)
    fast = yamltext.fast_load(text)
    if fast is yamltext.UNSURE:
        return
    assert fast == yamltext.load_yaml(text, 2)
    assert repr(fast) == repr(yamltext.load_yaml(text, 2))


# Every character the guard's patterns look at, and some they do not.
GUARD_ALPHABET = list("\n \ta:,[]{}?-!&*%@`|>0123.+_eExTFrue#'\"\\<\r") + [
    "\ufeff", "\x85", "\u2028", "---", "...", "True", "false", ".inf", "0x1F", "<<"]


def _reference_guard(text: str) -> bool:
    return bool(yamltext.UNSURE_YAML_RE.search(text) or yamltext.UNSURE_SCALAR_RE.search(text))


def test_the_guard_in_pieces_says_what_its_two_patterns_say_on_every_short_text():
    alphabet = GUARD_ALPHABET
    texts = ["".join(parts) for n in (1, 2, 3) for parts in itertools.product(alphabet, repeat=n)]
    differ = [t for t in texts if yamltext.unsure_text(t) != _reference_guard(t)]
    assert not differ, differ[:20]
    # and both patterns do find things in them: the comparison is not between two "no"s
    assert 0.2 < sum(map(_reference_guard, texts)) / len(texts) < 0.9


@given(st.lists(st.sampled_from(GUARD_ALPHABET + ["abc", "12", "- x", ": y", "\n  "]),
                max_size=24).map("".join))
def test_the_guard_in_pieces_says_what_its_two_patterns_say(text):
    assert yamltext.unsure_text(text) == _reference_guard(text)


def test_the_guard_in_pieces_agrees_on_every_case_and_shipped_chapter():
    texts = [fm[0] for fm in map(yamltext.split_front_matter, CASES) if fm]
    texts += [yamltext.split_front_matter(p.read_text(encoding="utf-8"))[0]
              for p in sorted((REPO / "content").rglob("*.md"))]
    assert len(texts) > 400
    assert [yamltext.unsure_text(t) for t in texts] == [_reference_guard(t) for t in texts]


# Values an entry's fields may hold once read: text of every sort, dates good and bad, lists
# and mappings where text belongs, None.
ENTRY_VALUES = st.one_of(
    st.none(), st.sampled_from(["", " ", "implemented", "not_implemented", "2021-11-24",
                                " 2021-11-24 ", "2021-02-30", "21-1-1", "a;b", "x y", "ü-1",
                                "u\u0308", "#x", "http://x.org", "x.org", "true", "3"]),
    st.text(max_size=6), st.lists(st.sampled_from(["a", "", "b;c", None, "x"]), max_size=3),
    st.dictionaries(st.sampled_from(["url", "title", "x"]),
                    st.sampled_from(["https://a.org", "", None, "t", "a.org"]), max_size=2))
ENTRY_KEYS = ["id", "summary", "status", "last_update", "deadline", "categories",
              "responsible", "measure", "reports", "rating", "other"]


@settings(deadline=None)  # the first call imports and compiles; the comparison is the test
@given(st.dictionaries(st.sampled_from(ENTRY_KEYS), ENTRY_VALUES, max_size=7),
       st.sampled_from([None, "a-1", " b ", "u\u0308ber"]))
def test_the_quick_entry_reads_what_every_check_reads(raw, sid):
    from pledgepack.content import chapter
    from pledgepack.content.yamltext import Lines

    if sid is not None:
        raw.setdefault("id", sid)
    if isinstance(raw.get("reports"), dict):
        raw["reports"] = [raw["reports"]]
    statuses = frozenset({"implemented", "not_implemented"})
    measures = frozenset({"3", "x y"})
    lines = Lines("statements:\n  - id: x\n", 1)
    said, checked_said = [], []
    entry = chapter.read_entry(0, raw, lines, "c.md", said, statuses, measures)
    checked = chapter.checked_entry(0, raw, lines, "c.md", checked_said, statuses, measures)
    assert entry == checked
    assert said == checked_said


def test_the_quick_entry_reads_the_common_entries_itself():
    from pledgepack.content import chapter

    statuses = frozenset({"implemented"})
    raw = {"id": " a-1 ", "summary": " s ", "status": "implemented", "last_update": "2021-11-24",
           "categories": ["x"], "reports": [{"url": "https://a.org", "title": "t"}]}
    entry = chapter._quick_entry(0, raw, statuses, frozenset())
    assert entry == chapter.Entry(0, "a-1", "s", "implemented", "2021-11-24",
                                  categories=("x",), reports=(("t", "https://a.org"),))
    assert chapter._quick_entry(0, {**raw, "deadline": "2021-02-30"}, statuses, frozenset()) is None
