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


# --- the catalogue covers the source ---------------------------------------------------------------
# A string wrapped in gettext but never extracted (``make messages`` not run) shows in English under
# zh-Hans although the completeness test above passes.  This reads the literal msgids of the Python
# sources (resolving the names imported from django.utils.translation, whatever their alias) and of
# the simple ``{% translate "..." %}`` tags, and checks that each one has an entry in the zh_Hans .po.

CRM_DIR = LOCALE_DIR.parent
CONTEXT_FIRST = {"pgettext", "pgettext_lazy", "npgettext", "npgettext_lazy"}
GETTEXT_FUNCTIONS = {"gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy"} | CONTEXT_FIRST
TRANSLATE_TAG = re.compile(
    r"""\{%\s*(?:trans|translate)\s+(?P<q>["'])(?P<msgid>.*?)(?P=q)"""
    r"""(?:\s+context\s+(?P<cq>["'])(?P<ctx>.*?)(?P=cq))?(?:\s+noop)?(?:\s+as\s+\w+)?\s*%\}""",
    re.S,
)


def _source_files(pattern):
    """The files ``make messages`` reads: everything under crm/ except the tests."""
    return [p for p in sorted(CRM_DIR.rglob(pattern)) if "tests" not in p.relative_to(CRM_DIR).parts]


def _python_msgids(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
            for name in node.names:
                if name.name in GETTEXT_FUNCTIONS:
                    aliases[name.asname or name.name] = name.name
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in aliases):
            continue
        function = aliases[node.func.id]
        args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args]
        context, msgid = (args[0], args[1]) if function in CONTEXT_FIRST and len(args) > 1 else (None, args[:1])
        if isinstance(msgid, list):
            msgid = msgid[0] if msgid else None
        if msgid and (function not in CONTEXT_FIRST or context):
            yield context, msgid, f"{path.relative_to(CRM_DIR)}:{node.lineno}"


def _template_msgids(path):
    text = path.read_text(encoding="utf-8")
    for match in TRANSLATE_TAG.finditer(text):
        msgid = match["msgid"].replace("%", "%%")  # as makemessages writes a template's msgid
        if msgid and "\n" not in msgid:
            yield match["ctx"], msgid, f"{path.relative_to(CRM_DIR)}:{text.count(chr(10), 0, match.start()) + 1}"


def test_every_source_string_is_in_the_catalogue():
    known = {(e["msgctxt"], e["msgid"]) for e in parse_po(po_path("zh_Hans"))}
    found = [*(m for p in _source_files("*.py") for m in _python_msgids(p)),
             *(m for p in _source_files("*.html") for m in _template_msgids(p))]
    assert len(found) > 500, "the scanner no longer finds the project's strings"
    missing = [f"{where}: {msgid!r}" + (f" (context {context!r})" if context else "")
               for context, msgid, where in found if (context, msgid) not in known]
    assert not missing, "not in the catalogue, run `make messages` and translate:\n" + "\n".join(missing)
