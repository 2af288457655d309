"""Text is normalised on the way in, by one function (``crm.core.text.clean_text``) that every record
passes through when it is validated; phone numbers must be real Chinese or international numbers."""

import pytest
from django.core.exceptions import ValidationError

from crm.core.phones import normalize_phone
from crm.core.text import clean_text

ZWSP, BOM, NBSP, IDEOGRAPHIC_SPACE, SOFT_HYPHEN, RLO = "\u200b", "\ufeff", "\u00a0", "\u3000", "\u00ad", "\u202e"


@pytest.mark.parametrize("raw, clean", [
    (f"Acme{ZWSP}", "Acme"),
    (f"{BOM}北京星通", "北京星通"),
    (f"北京{NBSP}星通", "北京 星通"),
    (f"  北京{IDEOGRAPHIC_SPACE}{IDEOGRAPHIC_SPACE}星通\t\n", "北京 星通"),
    (f"Ac{SOFT_HYPHEN}me{RLO}", "Acme"),
    ("Cafe\u0301", "Café"),                        # decomposed accents composed (NFC)
    ("北京（星通）科技有限公司", "北京（星通）科技有限公司"),  # full-width punctuation of Chinese names kept
    ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),     # a joiner inside an emoji sequence is part of it
    ("", ""),
])
def test_clean_text_single_line(raw, clean):
    assert clean_text(raw) == clean


def test_clean_text_multiline_keeps_lines_and_drops_invisible_characters():
    raw = f"{BOM}第一行{ZWSP}\r\n\r\n  第二行{NBSP}结束  \r"
    assert clean_text(raw, multiline=True) == "第一行\n\n  第二行 结束"


@pytest.mark.parametrize("raw", ["555-1234", "5551234", "+86 555 1234", "010-1234", "12345", "+1 555-1234"])
def test_numbers_that_are_not_real_chinese_or_international_numbers_are_refused(raw):
    with pytest.raises(ValidationError):
        normalize_phone(raw)


@pytest.mark.parametrize("raw, e164", [
    ("13812345678", "+8613812345678"),
    ("010-12345678", "+861012345678"),
    ("0755 8888 6666", "+8675588886666"),
    ("0771-5123456", "+867715123456"),              # a seven-digit number after a three-digit area code
    ("400-810-8888", "+864008108888"),
    ("+1 650 253 0000", "+16502530000"),
    (f"138{ZWSP}1234{NBSP}5678", "+8613812345678"),
    ("１３８１２３４５６７８", "+8613812345678"),         # full-width digits
])
def test_real_numbers_are_stored_in_e164(raw, e164):
    assert normalize_phone(raw) == e164
