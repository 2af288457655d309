"""Orders, which are written in bulk without ``full_clean``, clean their text with the same function."""

import pytest
from django.utils import timezone

from crm.customers.tests.factories import CustomerFactory
from crm.sales import services
from crm.sales.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_order_number_notes_and_ref_are_cleaned(org):
    customer = CustomerFactory(owner=org.rep)
    product = ProductFactory(code="BRG-6204")
    result = services.upsert_order(actor=org.rep, external_ref="\ufeffERP\u200b-7\u00a0", payload={
        "customer": customer.pk, "order_date": timezone.localdate().isoformat(),
        "number": "PO\u00a0\u00a0001\u200b", "notes": "第一行\u200b\r\n\r\n第二行\u3000结束",
        "lines": [{"product": product.pk, "quantity": "1"}],
    })
    assert result.status == "created", result
    order = customer.orders.get()
    assert (order.external_ref, order.number, order.notes) == ("ERP-7", "PO 001", "第一行\n\n第二行 结束")


def test_the_same_order_sent_again_with_invisible_characters_in_its_ref_is_unchanged(org):
    customer = CustomerFactory(owner=org.rep)
    product = ProductFactory(code="BRG-6204")
    payload = {"customer": customer.pk, "order_date": timezone.localdate().isoformat(),
               "lines": [{"product": product.pk, "quantity": "1"}]}
    first = services.upsert_order(actor=org.rep, external_ref="ERP-8", payload=payload)
    again = services.upsert_order(actor=org.rep, external_ref="\ufeffERP-8\u200b", payload=payload)
    assert (again.status, again.id) == ("unchanged", first.id)
    assert customer.orders.count() == 1
