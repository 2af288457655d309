"""Names and notes typed with invisible characters are stored clean (``crm.core.text.clean_text``, applied
when a record is validated), so the duplicate check sees through them; pages and API alike."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from crm.customers.models import Contact, Customer
from crm.customers.tests.factories import CustomerFactory

ZWSP, BOM, NBSP = "\u200b", "\ufeff", "\u00a0"


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db
def test_api_stores_clean_names_and_finds_the_duplicate_behind_invisible_characters(org):
    CustomerFactory(name="星通科技", owner=org.rep, branch=org.bj1)
    response = _api(org.rep).post("/api/customers/", {"name": f"{BOM}星通{ZWSP}科技{NBSP}"}, format="json")
    assert response.status_code == 400 and response.data["possible_duplicates"]
    response = _api(org.rep).post("/api/customers/", {"name": f"恒达{ZWSP}{NBSP}{NBSP}贸易 "}, format="json")
    assert response.status_code == 201
    assert response.data["name"] == "恒达 贸易"
    assert Customer.objects.get(pk=response.data["id"]).name == "恒达 贸易"


@pytest.mark.django_db
def test_api_rejects_a_number_that_is_not_chinese_in_english(org):
    response = _api(org.rep).post("/api/customers/", {"name": "Acme", "phone": "555-1234"}, format="json",
                                  HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "phone" in response.data
    assert not Customer.objects.filter(name="Acme").exists()


@pytest.mark.django_db
def test_pages_store_clean_names_and_notes(org, client):
    client.force_login(org.rep)
    data = {"kind": "company", "name": f"{ZWSP}星通{NBSP}科技", "phone": "", "email": "", "website": "",
            "province": "", "city": "", "district": "", "address": "", "industry": "", "source": "",
            "status": "prospect", "customer_type": "unknown", "notes": f"第一行{ZWSP}\r\n第二行"}
    response = client.post(reverse("customers:create"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    customer = Customer.objects.get()
    assert (customer.name, customer.notes) == ("星通 科技", "第一行\n第二行")


@pytest.mark.django_db
def test_contacts_are_cleaned_by_the_same_function(org):
    customer = CustomerFactory(owner=org.rep, branch=org.bj1)
    response = _api(org.rep).post("/api/contacts/", {"customer": customer.pk, "name": f"张{ZWSP}三{NBSP}",
                                                     "title": f"{BOM}经理"}, format="json")
    assert response.status_code == 201, response.data
    contact = Contact.objects.get()
    assert (contact.name, contact.title) == ("张三", "经理")
