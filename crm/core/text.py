"""Search keys for Chinese text: full pinyin and pinyin initials (typing ``bjxt`` finds 北京星通)."""

import re
from functools import lru_cache

from pypinyin import lazy_pinyin

_KEEP = re.compile(r"[^0-9a-z]+")


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
