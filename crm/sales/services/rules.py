"""The rules of an order's fields, written once.

The cleaning functions below turn what a page, a JSON body or a bulk payload sent into typed values or
raise :class:`Invalid` with the message to show.  The batch engine (:mod:`.ingestion`) applies them to
every order, whichever way it arrived; the API's request serializers build their field definitions
from the same constants (:data:`LINE_NUMBERS`, :data:`TEXT_LIMITS`, :data:`DEFAULT_CURRENCY`), so the
OpenAPI schema says what the service enforces.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.core.text import clean_text
from crm.core.validators import date_out_of_range_message, in_date_range

from ..choices import OrderStatus, SalesChannel

MAX_LINES_PER_ORDER = 1000
DEFAULT_CURRENCY = "CNY"
DEFAULT_STATUS = OrderStatus.CONFIRMED
DEFAULT_CHANNEL = SalesChannel.DIRECT
# Longest text each field takes (characters, after cleaning).
TEXT_LIMITS = {"number": 40, "notes": 10000, "external_ref": 100, "reason": 500}


@dataclass(frozen=True)
class NumberRule:
    """A decimal field: at most ``places`` decimals and ``digits`` digits in all, within the bounds."""

    places: int
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    positive: bool = False
    required: bool = True
    digits: int = 14

    @property
    def smallest(self) -> Decimal | None:
        """The least value allowed (for a positive number, one unit of the last place)."""
        return Decimal(1).scaleb(-self.places) if self.positive else self.minimum

    def arguments(self) -> dict:
        """The keyword arguments of :func:`decimal_value` that apply this rule."""
        return {"places": self.places, "minimum": self.minimum, "maximum": self.maximum,
                "positive": self.positive, "required": self.required, "digits": self.digits}

    def clean(self, value):
        return decimal_value(value, **self.arguments())


# The numbers of an order line; the line's product supplies a missing unit price and unit cost.
LINE_NUMBERS = {
    "quantity": NumberRule(3, positive=True),
    "unit_price": NumberRule(2, minimum=Decimal(0), required=False),
    "discount_rate": NumberRule(2, minimum=Decimal(0), maximum=Decimal(100), required=False, digits=5),
    "unit_cost": NumberRule(2, minimum=Decimal(0), required=False),
}


class OrderInvalid(ValidationError):
    """An order that cannot be stored.  ``errors`` is nested like a DRF error body:
    ``{"order_date": [msg], "lines": [{}, {"quantity": [msg]}]}``; as a Django ValidationError the
    line errors are flattened to ``{"lines": ["Line 2: msg"]}`` so forms and the API handler show them."""

    def __init__(self, errors: dict):
        self.errors = errors
        flat = {}
        for key, value in errors.items():
            if key == "lines" and any(isinstance(v, dict) for v in value):
                messages = []
                for index, line in enumerate(value, 1):
                    for messages_of_field in (line or {}).values():
                        messages += [_("Line %(n)d: %(message)s") % {"n": index, "message": m}
                                     for m in messages_of_field]
                flat[key] = messages
            else:
                flat[key] = list(value)
        super().__init__(flat, code="invalid")


def ref_taken():
    """The one answer for an external reference that another order carries, whether or not the caller
    can see that order: references are unique across the company, and saying whose order holds one
    (or that it is outside the caller's access) would reveal more than that it is taken."""
    return _("An order with this reference already exists.")


class Invalid(Exception):
    """A value that breaks its field's rule; ``message`` is what to show on the field."""

    def __init__(self, message):
        self.message = message


def decimal_value(value, *, places, minimum=None, maximum=None, positive=False, required=True, digits=14):
    """A Decimal from what a form or a JSON body sent, or :class:`Invalid` with the message to show."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Invalid(_("This field is required."))
        return None
    if isinstance(value, bool):
        raise Invalid(_("Enter a number."))
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise Invalid(_("Enter a number.")) from None
    if not number.is_finite():
        raise Invalid(_("Enter a number."))
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise Invalid(_("Use at most %(n)d decimal places.") % {"n": places})
    if positive and number <= 0:
        raise Invalid(_("Must be greater than zero."))
    if minimum is not None and number < minimum:
        raise Invalid(_("Must be at least %(n)s.") % {"n": minimum})
    if maximum is not None and number > maximum:
        raise Invalid(_("Must be at most %(n)s.") % {"n": maximum})
    if abs(number) >= Decimal(10) ** (digits - places):
        raise Invalid(_("This number is too large."))
    return number


# Ids are 64-bit integers; a larger number can name no record (and databases refuse it as a parameter).
MAX_ID = 2**63 - 1


def int_id(value):
    """An id sent as a number or a numeric string, within the range of ids; anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    pk = getattr(value, "pk", None)
    return pk if isinstance(pk, int) else None


def ref_value(value):
    """A reference (external ref, product code, user name) as sent: stripped text, or None for
    anything that cannot name a record (not text, empty, too long, or holding a null character)."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value and len(value) <= 150 and "\x00" not in value else None


def date_value(value):
    day = parse_date(value)
    if not in_date_range(day):
        raise Invalid(date_out_of_range_message())
    return day


def parse_date(value):
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Invalid(_("Enter a valid date (YYYY-MM-DD)."))


def text_value(value, max_length, *, multiline=False):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(_("Enter text."))
    if "\x00" in value:
        raise Invalid(_("Null characters are not allowed."))
    value = clean_text(value, multiline=multiline)  # as full_clean does for every other record
    if len(value) > max_length:
        raise Invalid(_("At most %(n)d characters.") % {"n": max_length})
    return value


# --- resolving references ------------------------------------------------------------------------


def choice_value(value, choices):
    if value not in choices.values:
        raise Invalid(_("Choose one of: %(values)s.") % {"values": ", ".join(choices.values)})
    return value


def currency_value(value):
    value = (value or DEFAULT_CURRENCY)
    if not isinstance(value, str) or len(value.strip()) != 3 or not value.strip().isalpha():
        raise Invalid(_("A three-letter currency code, e.g. CNY."))
    return value.strip().upper()
