"""Telephone numbers: validated and stored in E.164 (+8613812345678), searched by prefix."""

import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .text import clean_text

_DIGITS = re.compile(r"\D+")
PHONE_SEARCH_MIN_DIGITS = 4


CHINA = 86
# Chinese subscriber numbers have seven or eight digits after the area code.
CN_MIN_SUBSCRIBER_DIGITS = 7


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Return ``raw`` in E.164, or raise ValidationError.  Accepts Chinese mobiles (13812345678),
    landlines with area code (010-12345678, 0755 8888 6666) and international numbers (+1 …).

    Whatever the language of the page, a number without a country code is read in the default region
    (``CRM_DEFAULT_REGION``, China): "555-1234" is not taken for an American number, and neither is it
    a Chinese one, although libphonenumber's pattern for Chinese landlines lets it pass as area code
    0555 with the number 1234: it is refused."""
    raw = clean_text(raw or "", compatibility=True)  # invisible characters, full-width digits
    if not raw:
        return ""
    region = region or settings.CRM_DEFAULT_REGION
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("Enter a valid phone number, e.g. 13812345678 or 010-12345678."),
                              code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(number) or not _complete(number):
        raise ValidationError(_("Enter a valid phone number, e.g. 13812345678 or 010-12345678."),
                              code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _complete(number) -> bool:
    """A Chinese number has at least seven digits after its area code (mobiles and 400/800 numbers
    have no area code)."""
    if number.country_code != CHINA:
        return True
    national = phonenumbers.national_significant_number(number)
    return len(national) - phonenumbers.length_of_geographical_area_code(number) >= CN_MIN_SUBSCRIBER_DIGITS


def format_phone(e164: str) -> str:
    """A readable form: national format for numbers of the default region, international otherwise."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    region = phonenumbers.region_code_for_number(number)
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if region == settings.CRM_DEFAULT_REGION
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, fmt)


def phone_search_prefix(query: str) -> str | None:
    """Turn what a user types (138 1234, 010-1234, +86 10…) into an E.164 prefix, or None when the
    query does not look like the start of a phone number (fewer than 4 digits, or letters: three
    digits such as 138 match a tenth of all mobiles and say nothing about one customer)."""
    query = (query or "").strip()
    if not query or re.search(r"[^\d\s\-+()]", query):
        return None
    digits = _DIGITS.sub("", query)
    if len(digits) < PHONE_SEARCH_MIN_DIGITS:
        return None
    if query.startswith("+"):
        return "+" + digits
    if query.startswith("00"):
        return "+" + digits[2:]
    country = phonenumbers.country_code_for_region(settings.CRM_DEFAULT_REGION)
    return f"+{country}{digits.lstrip('0')}"
