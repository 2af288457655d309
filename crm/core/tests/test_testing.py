"""The test helpers themselves: a guard that cannot fail guards nothing."""

import pytest
from django.http import HttpResponse

from crm.core.testing import assert_queries_constant
from crm.customers.models import Customer
from crm.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def grow(org):
    return lambda: [CustomerFactory(owner=org.rep) for _ in range(3)]


def test_a_constant_count_passes_and_is_returned(org):
    CustomerFactory(owner=org.rep)

    def names():
        return [c.name for c in Customer.objects.select_related("owner")]

    assert assert_queries_constant(names, grow(org), rows=len) == (1, 1)


def test_one_query_per_row_fails_with_the_repeated_sql(org):
    CustomerFactory(owner=org.rep)

    def owners():
        return [c.owner.username for c in Customer.objects.all()]  # the owner fetched row by row

    with pytest.raises(pytest.fail.Exception) as failed:
        assert_queries_constant(owners, grow(org))
    message = str(failed.value)
    assert "2 -> 5 queries" in message
    assert message.count('\n+SELECT') == 3 and 'WHERE "accounts_user"."id" = ?' in message


def test_extra_allowed_tolerates_a_known_difference(org):
    CustomerFactory(owner=org.rep)
    calls = []

    def sometimes_one_more():
        calls.append(1)
        return list(Customer.objects.all()[:1]) + (list(Customer.objects.all()[:1]) if len(calls) > 2 else [])

    assert_queries_constant(sometimes_one_more, grow(org), extra_allowed=1)
    with pytest.raises(pytest.fail.Exception):
        calls.clear()
        assert_queries_constant(sometimes_one_more, grow(org))


def test_an_error_response_is_not_measured(org):
    with pytest.raises(AssertionError, match="answered 403"):
        assert_queries_constant(lambda: HttpResponse(status=403), grow(org))


def test_rows_that_did_not_grow_are_refused(org):
    with pytest.raises(AssertionError, match="grow\\(\\) added no rows"):
        assert_queries_constant(lambda: list(Customer.objects.filter(owner=org.sh_rep)), grow(org), rows=len)
