"""Search: every way a user types a customer finds the same rows on SQLite and PostgreSQL."""

import pytest
from django.db import connection

from crm.customers.models import Customer
from crm.customers.queries import search_q
from crm.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NAMES = ["北京星通科技有限公司", "上海星河贸易", "广州通达物流", "星", "ABC工业", "abc trading", "华信电气"]


@pytest.fixture
def customers(db):
    return {name: CustomerFactory(name=name) for name in NAMES}


def found(term):
    return set(Customer.objects.filter(search_q(term)).values_list("name", flat=True))


@pytest.mark.parametrize("term", ["星", "星通", "通", "星河", "ab", "AB", "c", "华信", "星通科技", "有限公司"])
def test_short_and_long_name_terms_match_exactly_like_contains(customers, term):
    expected = {n for n in NAMES if term.upper() in n.upper()}
    if term.isascii():  # Latin letters also match pinyin and initials by prefix
        pinyin = {c.name for c in customers.values()
                  if c.name_initials.startswith(term.lower()) or c.name_pinyin.startswith(term.lower())}
        assert found(term) == expected | pinyin
    else:
        assert found(term) == expected


def test_pinyin_initials_and_full_pinyin(customers):
    assert "北京星通科技有限公司" in found("bjxt")
    assert "北京星通科技有限公司" in found("beijingxing")
    assert "上海星河贸易" in found("shxh")


def test_phone_prefix_needs_four_digits(db):
    c = CustomerFactory(name="甲", phone="+8613912345678")
    assert c.name in found("1391")
    assert c.name in found("139 1234")
    assert c.name not in found("139")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the grams index exists on PostgreSQL only")
def test_postgres_uses_the_grams_function_for_short_terms(customers):
    sql = str(Customer.objects.filter(search_q("星通")).query)
    assert "crm_name_grams" in sql
    assert "crm_name_grams" not in str(Customer.objects.filter(search_q("星通科技")).query)
