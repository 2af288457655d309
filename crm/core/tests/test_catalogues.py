"""The message catalogues are complete, and the committed .mo files match their .po sources.

Both the .po and the compiled .mo are committed so that a fresh clone needs no gettext tools.
These tests therefore read the .po with a small parser and the .mo with the standard library's
``gettext`` module: no ``msgfmt`` is needed to run them.
"""

import ast
import gettext
import re
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
LANGUAGES = ["zh_Hans", "en"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sdifr]|%[sdifr]|\{\w*\}")


def parse_po(path):
    """The entries of a .po file as dicts: msgctxt, msgid, msgid_plural, msgstr (list), flags.

    Obsolete entries (``#~``) are skipped; msgmerge keeps them out of the compiled catalogue anyway.
    """
    entries = []
    entry = None
    field = None

    def start():
        nonlocal entry
        entry = {"msgctxt": None, "msgid": None, "msgid_plural": None, "msgstr": {}, "flags": set()}
        entries.append(entry)

    flags = set()
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        match = re.match(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$', line)
        if match:
            keyword, index, literal = match.groups()
            text = ast.literal_eval(literal)
            # An entry starts at its msgctxt, or at its msgid when it has none.
            if keyword == "msgctxt" or (keyword == "msgid" and (entry is None or entry["msgid"] is not None)):
                start()
                entry["flags"], flags = flags, set()
            if keyword.startswith("msgstr"):
                field = ("msgstr", 0 if index is None else int(index))
                entry["msgstr"][field[1]] = text
            else:
                field = (keyword, None)
                entry[keyword] = text
        elif line.startswith('"') and field is not None:
            text = ast.literal_eval(line)
            if field[0] == "msgstr":
                entry["msgstr"][field[1]] += text
            else:
                entry[field[0]] += text
        else:
            raise AssertionError(f"{path}:{lineno}: cannot parse {raw!r}")
    return entries


def po_path(language):
    return LOCALE_DIR / language / "LC_MESSAGES" / "django.po"


def mo_path(language):
    return LOCALE_DIR / language / "LC_MESSAGES" / "django.mo"


def expected_catalog(entries):
    """What msgfmt puts in the .mo: translated, non-fuzzy entries, keyed the way ``gettext`` keys them."""
    catalog = {}
    for e in entries:
        if e["msgid"] == "" or "fuzzy" in e["flags"] or not all(e["msgstr"].values()):
            continue
        key = e["msgid"] if e["msgctxt"] is None else f"{e['msgctxt']}\x04{e['msgid']}"
        if e["msgid_plural"] is None:
            catalog[key] = e["msgstr"][0]
        else:
            for index, text in e["msgstr"].items():
                catalog[(key, index)] = text
    return catalog


def test_parser_reads_every_entry():
    entries = parse_po(po_path("zh_Hans"))
    text = po_path("zh_Hans").read_text(encoding="utf-8")
    active = [line for line in text.splitlines() if line.startswith("msgid ")]
    assert len(entries) == len(active) > 1
    assert entries[0]["msgid"] == ""


def test_zh_hans_catalogue_is_complete():
    entries = parse_po(po_path("zh_Hans"))
    header = entries[0]
    assert "fuzzy" not in header["flags"]
    assert "Plural-Forms: nplurals=1; plural=0;\n" in header["msgstr"][0]

    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    untranslated = [e["msgid"] for e in entries[1:] if not all(e["msgstr"].values())]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    assert not untranslated, f"untranslated entries: {untranslated}"

    for e in entries[1:]:
        if e["msgid_plural"] is not None:
            assert list(e["msgstr"]) == [0], f"zh has one plural form: {e['msgid']!r}"
        source = e["msgid_plural"] if e["msgid_plural"] is not None else e["msgid"]
        for text in e["msgstr"].values():
            assert Counter(PLACEHOLDER.findall(text)) == Counter(PLACEHOLDER.findall(source)), (
                f"placeholders differ: {e['msgid']!r} -> {text!r}"
            )


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_its_source(language):
    """A .po edited without recompiling (or a stale .mo) fails here, whatever the file dates say."""
    assert po_path(language).exists() and mo_path(language).exists()
    with mo_path(language).open("rb") as fp:
        compiled = dict(gettext.GNUTranslations(fp)._catalog)
    compiled.pop("", None)
    assert compiled == expected_catalog(parse_po(po_path(language)))


@pytest.mark.parametrize("msgid,chinese", [
    ("Customers", "客户"),
    ("Log in", "登录"),
    ("Search", "搜索"),
    ("Owner", "负责人"),
    ("Audit log", "审计日志"),
    ("Custom fields", "自定义字段"),
])
def test_key_strings_are_chinese_under_zh_hans(msgid, chinese):
    with translation.override("zh-hans"):
        assert translation.gettext(msgid) == chinese
    with translation.override("en"):
        assert translation.gettext(msgid) == msgid


def test_plural_under_zh_hans():
    with translation.override("zh-hans"):
        assert translation.ngettext("%(n)s customer", "%(n)s customers", 1) % {"n": 1} == "1 个客户"
        assert translation.ngettext("%(n)s customer", "%(n)s customers", 7) % {"n": 7} == "7 个客户"


@pytest.mark.django_db
def test_login_page_renders_in_chinese(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>登录</h1>" in html
    assert "用户名" in html and "密码" in html
