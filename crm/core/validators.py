"""Bounds on what any record may hold, shared by models, forms, serializers and API filters.

Dates outside :data:`EARLIEST_DATE` … :data:`LATEST_DATE` are typing slips (9999-12-31, 0202-05-01)
that would sort before or after every real record and overflow date arithmetic; free text has a
maximum length so a runaway paste cannot fill the database.
"""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

EARLIEST_DATE = datetime.date(1900, 1, 1)
LATEST_DATE = datetime.date(2100, 12, 31)

# Maximum lengths of free-text fields (characters).
NOTES_MAX_LENGTH = 10000
SHORT_TEXT_MAX_LENGTH = 2000


def date_out_of_range_message():
    return _("Enter a date between %(earliest)s and %(latest)s.") % {
        "earliest": EARLIEST_DATE.isoformat(), "latest": LATEST_DATE.isoformat()}


def in_date_range(value) -> bool:
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return EARLIEST_DATE <= value <= LATEST_DATE


@deconstructible
class DateRangeValidator:
    """A date (or datetime) between :data:`EARLIEST_DATE` and :data:`LATEST_DATE`."""

    code = "date_range"

    def __call__(self, value):
        if value is not None and not in_date_range(value):
            raise ValidationError(date_out_of_range_message(), code=self.code)

    def __eq__(self, other):
        return isinstance(other, DateRangeValidator)


validate_date_range = DateRangeValidator()
