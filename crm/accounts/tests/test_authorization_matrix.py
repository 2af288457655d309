"""The authorization matrix: every record page and API endpoint × every role scope × records that are
the caller's own, a subordinate's, a teammate's, another team's, another branch's and a sub-branch's.

For each cell: a record outside the caller's scope answers 404 (never 403, never its data), a missing
role action answers 403, and after every refused write the record, its contacts, its ownership history
and the audit log are exactly as before.  Lists, search, export and counts return exactly the visible
set.  A guard at the bottom fails when a new record URL is added without a row in this matrix.
"""

import csv
import io
import re
from dataclasses import dataclass

import pytest
from django.urls import URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from crm.accounts.tests.test_scopes import EXPECTED, OWNERS
from crm.core.models import AuditEntry
from crm.customers.models import Contact, Customer, OwnershipChange
from crm.customers.tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db

VIEWERS = sorted(EXPECTED)


@dataclass(frozen=True)
class Probe:
    url_name: str
    method: str
    needs: tuple  # role actions the request requires
    api: bool = False
    payload: str = "none"  # which payload to send: none | customer | assign | contact

    def url(self, customer, contact):
        kwargs = {"pk": contact.pk if self.url_name.startswith("api-contact-detail") else customer.pk}
        if self.url_name in {"customers:contact_edit", "customers:contact_delete"}:
            kwargs["contact_pk"] = contact.pk
        if self.url_name == "api-contact-list":
            return reverse(self.url_name)
        return reverse(self.url_name, kwargs=kwargs)

    def data(self, org, customer):
        if self.payload == "customer":
            # Owner and branch as they are: an edit form posts them back unchanged.
            return {"name": "被篡改", "city": "篡改市", "notes": "tampered", "kind": "company",
                    "status": "active", "customer_type": "unknown", "owner": customer.owner_id,
                    "branch": customer.branch_id, "reason": "matrix"}
        if self.payload == "assign":
            return {"owner": org.ceo.pk, "reason": "tamper"}
        if self.payload == "contact":
            return {"customer": customer.pk, "name": "篡改联系人", "mobile": "13900009999"}
        return None


PROBES = [
    # pages
    Probe("customers:detail", "get", ("view",)),
    Probe("customers:edit", "get", ("change",)),
    Probe("customers:edit", "post", ("change",), payload="customer"),
    Probe("customers:assign", "get", ("assign",)),
    Probe("customers:assign", "post", ("assign",), payload="assign"),
    Probe("customers:delete", "get", ("delete",)),
    Probe("customers:delete", "post", ("delete",)),
    Probe("customers:contact_create", "get", ("change",)),
    Probe("customers:contact_create", "post", ("change",), payload="contact"),
    Probe("customers:contact_edit", "get", ("change",)),
    Probe("customers:contact_edit", "post", ("change",), payload="contact"),
    Probe("customers:contact_delete", "post", ("change",)),
    # API
    Probe("api-customer-detail", "get", ("view",), api=True),
    Probe("api-customer-detail", "patch", ("change",), api=True, payload="customer"),
    Probe("api-customer-detail", "put", ("change",), api=True, payload="customer"),
    Probe("api-customer-detail", "delete", ("delete",), api=True),
    Probe("api-customer-assign", "post", ("assign",), api=True, payload="assign"),
    Probe("api-customer-history", "get", ("view",), api=True),
    Probe("api-contact-detail", "get", ("view",), api=True),
    Probe("api-contact-detail", "patch", ("change",), api=True, payload="contact"),
    Probe("api-contact-detail", "put", ("change",), api=True, payload="contact"),
    Probe("api-contact-detail", "delete", ("change",), api=True),  # removing a contact edits the customer
    Probe("api-contact-list", "post", ("create", "change"), api=True, payload="contact"),
]
LIST_URLS = {"customers:list", "customers:export", "api-customer-list", "api-contact-list"}


def snapshot(customer):
    return (
        Customer.objects.filter(pk=customer.pk).values().first(),
        list(Contact.objects.filter(customer_id=customer.pk).order_by("pk").values()),
        OwnershipChange.objects.filter(customer_id=customer.pk).count(),
        AuditEntry.objects.count(),
    )


@pytest.fixture
def records(org):
    """One customer (with a contact) owned by each kind of colleague, in the owner's unit."""
    book = {}
    for name in OWNERS:
        customer = CustomerFactory(owner=getattr(org, name), name=f"矩阵客户{name}")
        book[name] = (customer, ContactFactory(customer=customer, name=f"矩阵联系人{name}"))
    return book


def send(client, probe, url, data):
    if probe.api:
        return getattr(client, probe.method)(url, data, format="json") if data is not None else \
            getattr(client, probe.method)(url)
    return getattr(client, probe.method)(url, data or {})


@pytest.mark.parametrize("viewer", VIEWERS)
def test_record_endpoints_follow_scope_and_refusals_change_nothing(org, records, viewer):
    user = getattr(org, viewer)
    page_client = APIClient()
    page_client.force_login(user)
    api_client = APIClient()
    api_client.force_authenticate(user)
    visible_owners = EXPECTED[viewer]
    for owner, (customer, contact) in records.items():
        for probe in PROBES:
            if not Customer.objects.filter(pk=customer.pk).exists():  # an allowed delete ran before
                customer = CustomerFactory(owner=getattr(org, owner), name=f"矩阵客户{owner}")
            customer.refresh_from_db()
            contact = Contact.objects.filter(customer=customer).order_by("pk").first()
            if contact is None:
                contact = ContactFactory(customer=customer)
            before = snapshot(customer)
            client = api_client if probe.api else page_client
            response = send(client, probe, probe.url(customer, contact), probe.data(org, customer))
            cell = (viewer, owner, probe.url_name, probe.method, response.status_code)
            allowed = all(user.can(a) for a in probe.needs)
            can_see = owner in visible_owners
            if can_see and allowed:
                assert response.status_code not in (403, 404, 500), cell
                continue
            if not can_see and (allowed or not probe.api):
                # Outside the scope: not found, whatever the action (pages look the record up first).
                expected = {404} | ({400} if probe.url_name == "api-contact-list" else set())
                if not probe.api and not allowed:
                    expected |= {403}
                assert response.status_code in expected, cell
            elif not allowed:
                assert response.status_code == 403, cell
            assert snapshot(customer) == before, cell
            assert str(customer.name).encode() not in response.content or can_see, cell


def _page_ids(html):
    return {int(x) for x in re.findall(rb'data-customer-id="(\d+)"', html)}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_lists_search_export_and_counts_return_exactly_the_scope(org, records, viewer):
    user = getattr(org, viewer)
    expected = {records[o][0].pk for o in EXPECTED[viewer]}
    expected_contacts = {records[o][1].pk for o in EXPECTED[viewer]}
    page_client = APIClient()
    page_client.force_login(user)
    api_client = APIClient()
    api_client.force_authenticate(user)

    for query in ({}, {"q": "矩阵客户"}, {"q": "jzkh"}, {"q": "138"}):
        response = page_client.get(reverse("customers:list"), query)
        if not user.can("view"):
            assert response.status_code in (403, 200) and not _page_ids(response.content)
            continue
        assert response.status_code == 200
        assert _page_ids(response.content) == expected, (viewer, query)

        api = api_client.get(reverse("api-customer-list"), {**query, "page_size": 200})
        assert api.status_code == 200
        assert {row["id"] for row in api.data["results"]} == expected, (viewer, query)
        assert api.data["count"] == len(expected)

    if user.can("view"):
        contacts = api_client.get(reverse("api-contact-list"), {"page_size": 200})
        assert {row["id"] for row in contacts.data["results"]} == expected_contacts

    export = page_client.get(reverse("customers:export"))
    if not user.can("export"):
        assert export.status_code == 403
    else:
        body = b"".join(export.streaming_content).decode("utf-8-sig")
        names = {row[2] for row in list(csv.reader(io.StringIO(body)))[1:]}  # ID, kind, name, …
        assert names == {records[o][0].name for o in EXPECTED[viewer]}


def _record_url_names():
    """Every named URL of the customer pages and of the customer/contact API."""
    names = set()

    def walk(patterns, namespace=None):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, p.namespace or namespace)
            elif p.name:
                full = f"{namespace}:{p.name}" if namespace else p.name
                if full.startswith("customers:") or re.match(r"api-(customer|contact)", full):
                    names.add(full)

    walk(get_resolver().url_patterns)
    return names


def test_every_record_url_is_in_the_matrix():
    covered = {p.url_name for p in PROBES} | LIST_URLS | {"customers:create"}
    missing = _record_url_names() - covered
    assert not missing, f"add these URLs to the authorization matrix: {sorted(missing)}"
