"""One set of order field rules: the services' cleaning and the API's request fields, built from the same
rules, accept and refuse the same values."""

import pytest
from rest_framework import serializers

from crm.sales.services.rules import LINE_NUMBERS, TEXT_LIMITS, Invalid, text_value

NUMBERS = [
    ("quantity", "0.001", True), ("quantity", "1.5", True), ("quantity", "0", False), ("quantity", "0.0001", False),
    ("quantity", "-1", False), ("unit_price", "0", True), ("unit_price", "99999999999.99", True),
    ("unit_price", "-0.01", False), ("unit_price", "1.005", False), ("unit_price", "1000000000000", False),
    ("discount_rate", "0", True), ("discount_rate", "100", True), ("discount_rate", "100.01", False),
    ("discount_rate", "-1", False), ("discount_rate", "5.125", False), ("unit_cost", "0", True),
    ("unit_cost", "-1", False),
]


def _serializers():
    # DRF's views first, as a request would load them: its settings name parsers in crm.core.api.
    from rest_framework import views  # noqa: F401

    from crm.sales.api import serializers as api

    return api


def _accepts(check, value, error):
    try:
        check(value)
    except error:
        return False
    return True


@pytest.mark.parametrize(("name", "value", "ok"), NUMBERS)
def test_service_and_api_accept_the_same_line_numbers(name, value, ok):
    field = _serializers().OrderLineWriteSerializer().fields[name]
    assert _accepts(LINE_NUMBERS[name].clean, value, Invalid) is ok
    assert _accepts(field.run_validation, value, serializers.ValidationError) is ok


@pytest.mark.parametrize("name", ["number", "notes", "external_ref", "reason"])
def test_service_and_api_share_the_text_limits(name):
    field = _serializers().OrderWriteSerializer().fields[name]
    limit = TEXT_LIMITS[name]
    for value, ok in (("x" * limit, True), ("x" * (limit + 1), False)):
        assert _accepts(lambda v: text_value(v, limit), value, Invalid) is ok
        assert _accepts(field.run_validation, value, serializers.ValidationError) is ok
