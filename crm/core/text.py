"""Text as it comes in, cleaned once (:func:`clean_text`); search keys for Chinese text: full pinyin and
pinyin initials (typing ``bjxt`` finds 北京星通)."""

import re
import unicodedata
from functools import lru_cache

from pypinyin import lazy_pinyin

_KEEP = re.compile(r"[^0-9a-z]+")
_SPACES = re.compile(r" +")
_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_ZWJ = "\u200d"
_EMOJI_PARTS = {"So", "Sk", "Mn"}  # pictographs, skin-tone modifiers, variation selectors


def _char_class(ch):
    """" " for any kind of space, "" for what is dropped, the character itself otherwise."""
    category = unicodedata.category(ch)
    if category == "Zs":
        return " "
    if category in {"Cf", "Cc", "Cs"}:  # format (zero-width, BOM, bidi), controls, lone surrogates
        return ""
    return ch


def clean_text(value: str, *, multiline: bool = False, compatibility: bool = False) -> str:
    """The one cleaning every text typed, sent or imported goes through (records call it when they are
    validated, see ``crm.core.models.CleanTextModel``).

    - Unicode NFC, so a decomposed "é" equals the composed one; with ``compatibility`` NFKC, which also
      folds full-width letters and digits (for e-mail addresses, web addresses, phone numbers — never
      for names, where Chinese full-width brackets are part of the registered name);
    - invisible characters dropped: zero-width spaces and joiners, BOM, soft hyphens, direction marks,
      control characters (a zero-width joiner inside an emoji sequence stays: it is part of the emoji);
    - every kind of space (no-break, ideographic) becomes a plain space;
    - one line (the default): line breaks and tabs become spaces, runs of spaces collapse to one, ends
      are trimmed.  ``multiline``: line breaks become ``\\n``, trailing spaces of each line and blank
      lines at either end go, tabs, indentation and blank lines inside stay.
    """
    if not value:
        return value
    if value.isascii() and value.isprintable():  # the common case: nothing invisible to drop
        return value.strip() if multiline else _SPACES.sub(" ", value).strip()
    text = unicodedata.normalize("NFKC" if compatibility else "NFC", value)
    text = _LINE_BREAKS.sub("\n", text)
    kept = []
    for i, ch in enumerate(text):
        if ch in "\n\t":
            kept.append(ch if multiline else " ")
        elif ch == _ZWJ and 0 < i < len(text) - 1 and unicodedata.category(text[i - 1]) in _EMOJI_PARTS \
                and unicodedata.category(text[i + 1]) == "So":
            kept.append(ch)
        else:
            kept.append(_char_class(ch))
    text = "".join(kept)
    if multiline:
        return "\n".join(line.rstrip() for line in text.split("\n")).strip()
    return _SPACES.sub(" ", text).strip()


@lru_cache(maxsize=65536)
def _pinyin_pair(text: str) -> tuple[str, str]:
    syllables = lazy_pinyin(text, errors=lambda chars: list(chars))
    full = _KEEP.sub("", "".join(syllables).lower())
    initials = _KEEP.sub("", "".join(s[:1] for s in syllables if s.strip()).lower())
    return full, initials


def pinyin_keys(text: str) -> tuple[str, str]:
    """Return (full pinyin, initials) of ``text`` in lowercase ASCII letters and digits.

    Each Chinese character contributes one syllable; Latin letters and digits are kept as they are
    in both keys.  Results are cached, so repeated names cost nothing.
    """
    text = (text or "").strip()
    if not text:
        return "", ""
    return _pinyin_pair(text)


def prefix_range(prefix: str) -> tuple[str, str]:
    """The half-open range [prefix, next) that contains exactly the strings starting with ``prefix``
    (for ASCII keys): lets a B-tree index answer a prefix search on SQLite and PostgreSQL alike."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)
