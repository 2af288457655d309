"""Telephone numbers: validated and stored in E.164 (+8613812345678), searched by prefix."""

import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_DIGITS = re.compile(r"\D+")
PHONE_SEARCH_MIN_DIGITS = 4


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Return ``raw`` in E.164, or raise ValidationError.  Accepts Chinese mobiles (13812345678),
    landlines with area code (010-12345678, 0755 8888 6666) and international numbers (+1 …)."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    region = region or settings.CRM_DEFAULT_REGION
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("Enter a valid phone number, e.g. 13812345678 or 010-12345678."),
                              code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a valid phone number, e.g. 13812345678 or 010-12345678."),
                              code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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
