"""The authorization matrix: every record page and API endpoint × every role scope × records that are
the caller's own, a subordinate's, a teammate's, another team's, another branch's and a sub-branch's.

For each cell: a record outside the caller's scope answers 404 (never 403, never its data), a missing
role action answers 403, and after every refused write the record, its contacts, its ownership history
and the audit log are exactly as before.  Lists, search, export and counts return exactly the visible
set.  Names of related records follow the scope of the record they name, and analytics figures count
only the visible customers.  Pages and endpoints that are not about owned records answer by the role
action they need.  Two guards fail when a URL (in any namespace) or an API name field is added without a
row here.

Customers in the pool (公海) have no owner, so ``visible_to`` does not offer them to sales people: they
are offered for claiming through ``crm.customers.queries.pool_for`` (the caller's branch with its
sub-branches; every branch for an all-records scope).  The pool pages and endpoints have their own
matrix below, over pool customers in every unit.
"""

import csv
import datetime
import importlib
import importlib.util
import io
import re
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.urls import NoReverseMatch, URLResolver, get_resolver, include, path, reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from crm.accounts.models import Role, User
from crm.accounts.tests.factories import UserFactory
from crm.accounts.tests.test_scopes import EXPECTED, OWNERS
from crm.activities.models import Interaction, TimelineEvent, Todo
from crm.activities.tests.factories import InteractionFactory, TodoFactory
from crm.analytics.models import CustomerMetrics, Snapshot
from crm.core.models import AuditEntry, CustomFieldDefinition
from crm.core.permissions import codes_for_verbs
from crm.core.testing import contract_classes
from crm.core.visibility import RestrictedModel
from crm.customers.models import Contact, Customer, OwnershipChange, PoolRule
from crm.customers.tests.factories import ContactFactory, CustomerFactory, TagFactory
from crm.sales.models import ChannelPartner, Order, OrderLine, Product, StockMovement
from crm.sales.tests.factories import (
    ChannelPartnerFactory,
    OrderFactory,
    OrderLineFactory,
    ProductCategoryFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db

VIEWERS = sorted(EXPECTED)


def grants(user, verb):
    """The matrix is written in the old global verbs (view, change, assign ...): a user "has" a verb when
    they hold every permission code it stands for (the fixture roles grant whole verbs)."""
    return all(user.can(code) for code in codes_for_verbs([verb]))


@dataclass(frozen=True)
class Probe:
    url_name: str
    method: str
    needs: tuple  # the old verbs (see grants) the request requires
    api: bool = False
    payload: str = "none"  # which payload to send: none | customer | assign | contact | interaction | todo

    def url(self, customer, contact):
        kwargs = {"pk": contact.pk if self.url_name.startswith("api-contact-detail") else customer.pk}
        if self.url_name in {"customers:contact_edit", "customers:contact_delete"}:
            kwargs["contact_pk"] = contact.pk
        if self.url_name.startswith("api-interaction-detail"):
            kwargs["pk"] = Interaction.objects.filter(customer=customer).order_by("pk").first().pk
        if self.url_name.startswith(("api-todo-", "activities:todo_")) and self.url_name != "api-todo-list":
            kwargs["pk"] = Todo.objects.filter(customer=customer).order_by("pk").first().pk
        if self.url_name.startswith(("sales:order_", "api-order-")):
            return order_url(self.url_name, customer)
        if self.url_name in {"api-contact-list", "api-interaction-list", "api-todo-list"}:
            return reverse(self.url_name)
        if self.url_name == "api-timeline-list":
            return f"{reverse(self.url_name)}?customer={customer.pk}"
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
        if self.payload == "interaction":
            return {"customer": customer.pk, "kind": "call", "direction": "out", "summary": "篡改"}
        if self.payload == "todo":
            return {"customer": customer.pk, "title": "篡改", "due_on": "2026-01-01"}
        if self.payload == "order":
            return {"notes": "tampered", "lines": [{"product_code": "MATRIX-1", "quantity": "9"}]}
        if self.payload == "order_create":
            return {"customer": customer.pk, "order_date": "2026-01-01", "notes": "tampered",
                    "lines": [{"product_code": "MATRIX-1", "quantity": "9"}]}
        if self.payload == "order_form":
            return {"order_date": "2026-01-01", "channel": "direct", "notes": "tampered", "lines-TOTAL_FORMS": "1",
                    "lines-INITIAL_FORMS": "0", "lines-0-product_code": "MATRIX-1", "lines-0-quantity": "9"}
        if self.payload == "order_status":
            return {"status": "cancelled", "reason": "matrix"}
        if self.payload == "reassign":
            return {"owner": org.ceo.pk}
        if self.payload == "release":
            return {"reason": "matrix"}
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
    # activities: the customer's timeline and interactions, to-dos (visible with their owner)
    Probe("activities:timeline", "get", ("view",)),
    Probe("activities:interaction_create", "get", ("create",)),
    Probe("activities:interaction_create", "post", ("create",), payload="interaction"),
    Probe("activities:todo_complete", "post", ("change",)),
    Probe("activities:todo_reopen", "post", ("change",)),
    Probe("api-timeline-list", "get", ("view",), api=True),
    Probe("api-interaction-list", "post", ("create",), api=True, payload="interaction"),
    Probe("api-interaction-detail", "get", ("view",), api=True),
    Probe("api-interaction-detail", "patch", ("change",), api=True, payload="interaction"),
    Probe("api-interaction-detail", "put", ("change",), api=True, payload="interaction"),
    Probe("api-interaction-detail", "delete", ("delete",), api=True),
    Probe("api-todo-list", "post", ("create",), api=True, payload="todo"),
    Probe("api-todo-detail", "get", ("view",), api=True),
    Probe("api-todo-detail", "patch", ("change",), api=True, payload="todo"),
    Probe("api-todo-detail", "put", ("change",), api=True, payload="todo"),
    Probe("api-todo-detail", "delete", ("delete",), api=True),
    Probe("api-todo-complete", "post", ("change",), api=True),
    Probe("api-todo-reopen", "post", ("change",), api=True),
    Probe("api-todo-reassign", "post", ("change",), api=True, payload="reassign"),
    # sales: an order follows its customer (another scope's order is a 404 like the customer)
    Probe("sales:order_create", "get", ("create",)),
    Probe("sales:order_create", "post", ("create",), payload="order_form"),
    Probe("sales:order_detail", "get", ("view",)),
    Probe("sales:order_edit", "get", ("change",)),
    Probe("sales:order_edit", "post", ("change",), payload="order_form"),
    Probe("sales:order_status", "post", ("change",), payload="order_status"),
    Probe("sales:order_delete", "get", ("delete",)),
    Probe("sales:order_delete", "post", ("delete",)),
    Probe("api-order-list", "post", ("create",), api=True, payload="order_create"),
    Probe("api-order-detail", "get", ("view",), api=True),
    Probe("api-order-detail", "patch", ("change",), api=True, payload="order"),
    Probe("api-order-detail", "put", ("change",), api=True, payload="order"),
    Probe("api-order-detail", "delete", ("delete",), api=True),
    Probe("api-order-status", "post", ("change",), api=True, payload="order_status"),
    Probe("api-order-by-ref", "get", ("view",), api=True),
    Probe("api-order-by-ref", "put", ("create", "change"), api=True, payload="order_create"),
    # customer pool: claiming an owned customer is refused (400, or a redirect with the message on the page);
    # releasing needs the owner's change action or assign (every fixture role that sees others' customers
    # may assign, so "change" is the action that separates the cells here).
    Probe("customers:pool_claim", "post", ("change",)),
    Probe("customers:release", "get", ("change",)),
    Probe("customers:release", "post", ("change",), payload="release"),
    Probe("api-customer-claim", "post", ("change",), api=True),
    Probe("api-customer-release", "post", ("change",), api=True, payload="release"),
]
LIST_URLS = {"customers:list", "customers:export", "api-customer-list", "api-contact-list",
             "activities:my_day", "activities:todo_list", "activities:interaction_list"}
# A create in a list endpoint names its customer in the body: one outside the scope is an unknown id (400).
CREATE_IN_LIST = {"api-contact-list", "api-interaction-list", "api-todo-list"}
# The order list and its export are scoped like the customer list.  The sales URLs about no single customer record — the
# catalogue (company-wide master data), the line-row fragment, bulk ingestion (each order's customer is
# checked inside: an invisible one is "customer not found", see crm/sales/tests/test_api.py) — have access
# contracts in crm/sales/tests/test_contracts.py.
LIST_URLS |= {"sales:order_list", "sales:order_export"}
# An order sent by reference names its customer in the body too (and a reference of an order in another
# scope is refused without showing it).
CREATE_IN_LIST |= {"api-order-list", "api-order-by-ref"}


def snapshot(customer):
    return (
        Customer.objects.filter(pk=customer.pk).values().first(),
        list(Contact.objects.filter(customer_id=customer.pk).order_by("pk").values()),
        OwnershipChange.objects.filter(customer_id=customer.pk).count(),
        AuditEntry.objects.count(),
        list(Interaction.objects.filter(customer_id=customer.pk).order_by("pk").values()),
        list(Todo.objects.filter(customer_id=customer.pk).order_by("pk").values()),
        TimelineEvent.objects.filter(customer_id=customer.pk).count(),
        list(Order.objects.filter(customer_id=customer.pk).order_by("pk").values()),
        list(OrderLine.objects.filter(order__customer_id=customer.pk).order_by("pk").values()),
    )


def ensure_order(customer):
    """A matrix customer gets an order (one line, an external reference) before the sales probes: only
    then, so that the customer probes (delete among them) see a customer without orders."""
    order = Order.objects.filter(customer=customer).order_by("pk").first()
    if order is None:
        product = Product.objects.filter(code="MATRIX-1").first() or ProductFactory(code="MATRIX-1")
        order = OrderFactory(customer=customer, external_ref=f"MATRIX-{customer.pk}")
        OrderLineFactory(order=order, product=product)
    return order


def order_url(url_name, customer):
    if url_name == "sales:order_create":
        return f"{reverse(url_name)}?customer={customer.pk}"
    if url_name == "api-order-list":
        return reverse(url_name)
    order = ensure_order(customer)
    if url_name == "api-order-by-ref":
        return reverse(url_name, kwargs={"external_ref": order.external_ref})
    return reverse(url_name, kwargs={"pk": order.pk})


def ensure_activities(customer):
    """Each matrix customer has an interaction and a to-do (owned by its owner) to probe."""
    if not Interaction.objects.filter(customer=customer).exists():
        InteractionFactory(customer=customer, summary=f"矩阵沟通{customer.pk}")
    if not Todo.objects.filter(customer=customer).exists():
        TodoFactory(customer=customer, owner=customer.owner, title=f"矩阵待办{customer.pk}")


@pytest.fixture
def records(org):
    """One customer (with a contact) owned by each kind of colleague, in the owner's unit."""
    book = {}
    for name in OWNERS:
        customer = CustomerFactory(owner=getattr(org, name), name=f"矩阵客户{name}")
        book[name] = (customer, ContactFactory(customer=customer, name=f"矩阵联系人{name}"))
        ensure_activities(customer)
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
            if Customer.objects.filter(pk=customer.pk, owner__isnull=True).exists():  # an allowed release
                Customer.objects.filter(pk=customer.pk).update(owner=getattr(org, owner))
            customer.refresh_from_db()
            contact = Contact.objects.filter(customer=customer).order_by("pk").first()
            if contact is None:
                contact = ContactFactory(customer=customer)
            ensure_activities(customer)
            if probe.url_name.startswith(("sales:", "api-order")):
                ensure_order(customer)
            before = snapshot(customer)
            client = api_client if probe.api else page_client
            response = send(client, probe, probe.url(customer, contact), probe.data(org, customer))
            cell = (viewer, owner, probe.url_name, probe.method, response.status_code)
            allowed = all(grants(user, a) for a in probe.needs)
            can_see = owner in visible_owners
            if can_see and allowed:
                assert response.status_code not in (403, 404, 500), cell
                continue
            if not can_see and (allowed or not probe.api):
                # Outside the scope: not found, whatever the action (pages look the record up first).
                expected = {404} | ({400} if probe.url_name in CREATE_IN_LIST else set())
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

    for query in ({}, {"q": "矩阵客户"}, {"q": "jzkh"}, {"q": "1380"}):
        response = page_client.get(reverse("customers:list"), query)
        if not grants(user, "view"):
            assert response.status_code in (403, 200) and not _page_ids(response.content)
            continue
        assert response.status_code == 200
        assert _page_ids(response.content) == expected, (viewer, query)

        api = api_client.get(reverse("api-customer-list"), {**query, "page_size": 200})
        assert api.status_code == 200
        assert {row["id"] for row in api.data["results"]} == expected, (viewer, query)
        assert api.data["count"] == len(expected)

    if grants(user, "view"):
        contacts = api_client.get(reverse("api-contact-list"), {"page_size": 200})
        assert {row["id"] for row in contacts.data["results"]} == expected_contacts

    export = page_client.get(reverse("customers:export"))
    if not grants(user, "export"):
        assert export.status_code == 403
    else:
        body = b"".join(export.streaming_content).decode("utf-8-sig")
        names = {row[2] for row in list(csv.reader(io.StringIO(body)))[1:]}  # ID, kind, name, …
        assert names == {records[o][0].name for o in EXPECTED[viewer]}


# The pool's endpoints not about one owned record are rows of the pool matrix below.
POOL_API_URLS = {"api-pool-list", "api-pool-rule-list", "api-handover"}


# --- the URL guard ---------------------------------------------------------------------------------------
# Every URL pattern of the project, in every namespace and the API, must be exercised by an access test: a row
# of this matrix (PROBES, LIST_URLS, the pool's, GATED, PUBLIC_URLS — each one requested by a test in this
# file) or an access contract (a subclass of crm.core.testing.PageContract / EndpointContract in an app's
# tests/test_contracts.py, which the guard imports).  Whatever is neither is listed here with the reason.
EXEMPT_NAMESPACES = {
    # Django's own admin: staff only through Django's checks, which we do not re-test per model;
    # test_the_django_admin_is_for_staff_only below opens it as every role of the matrix.
    "admin": "the Django admin",
}
EXEMPT_URLS = {
    # name: why no access test covers it (none at present; a new entry needs a comment saying why)
}


def _url_patterns(patterns=None, namespace=None, prefix=""):
    """(namespace, namespace-qualified name or None, route) of every URL pattern, through every include."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            inner = ":".join(n for n in (namespace, p.namespace) if n) or None
            yield from _url_patterns(p.url_patterns, inner, prefix + str(p.pattern))
        else:
            yield namespace, (f"{namespace}:{p.name}" if namespace else p.name) if p.name else None, \
                prefix + str(p.pattern)


def _contract_url_names():
    """The url_name of every access contract of every app (their test_contracts modules imported first)."""
    for config in apps.get_app_configs():
        module = f"{config.name}.tests.test_contracts"
        if config.name.startswith("crm.") and importlib.util.find_spec(f"{config.name}.tests") \
                and importlib.util.find_spec(module):
            importlib.import_module(module)
    return {cls.url_name for cls in contract_classes()}


def _covered():
    return ({p.url_name for p in PROBES} | LIST_URLS | POOL_URLS | POOL_API_URLS | set(GATED) | set(PUBLIC_URLS)
            | _contract_url_names() | set(EXEMPT_URLS))


def _uncovered(patterns=None):
    """URL names no access test covers, and routes without a name (which no test can reverse)."""
    covered = _covered()
    names, unnamed = set(), set()
    for namespace, name, route in _url_patterns(patterns):
        if (namespace or "").split(":")[0] in EXEMPT_NAMESPACES:
            continue
        if name is None:
            unnamed.add(route)
        elif name not in covered:
            names.add(name)
    return sorted(names), sorted(unnamed)


def test_every_url_has_an_access_test():
    names, unnamed = _uncovered()
    assert not unnamed, (
        f"these URL patterns have no name, so no access test can reach them: {unnamed}. "
        "Give each a name= in its urls.py, then cover it as below.")
    assert not names, (
        f"these URLs have no access test: {names}.\n"
        "For each, add a short class to crm/<app>/tests/test_contracts.py — a subclass of "
        "crm.core.testing.PageContract (a page) or EndpointContract (an API endpoint) with url_name set to the "
        "name above, the allowed and denied users and, for owned records, scoped_out and make_record() (see "
        "docs/development.md, 'Testing a new page or endpoint').  A page or endpoint about owned records also "
        "gets rows in crm/accounts/tests/test_authorization_matrix.py (PROBES or LIST_URLS); one that is public "
        "by design goes in PUBLIC_URLS there, with a comment saying why.")
    all_names = {name for _namespace, name, _route in _url_patterns()}
    stale = sorted(_contract_url_names() - all_names)
    assert not stale, f"access contracts name URLs that no longer exist: {stale} (rename or remove them)"


def test_the_url_guard_catches_a_new_app():
    """A new app's URLs, named or not, fail the guard until a test covers them."""
    new_app = ([path("things/", _no_view, name="thing_list"), path("raw/", _no_view)], "newapp")
    names, unnamed = _uncovered([*get_resolver().url_patterns, path("newapp/", include(new_app)),
                                 path("api/new-things/", _no_view, name="api-newthing-list")])
    assert names == ["api-newthing-list", "newapp:thing_list"]
    assert unnamed == ["newapp/raw/"]


def _no_view(request):
    raise AssertionError("never called: the guard only reads the patterns")


@pytest.mark.parametrize("viewer", VIEWERS)
def test_the_django_admin_is_for_staff_only(org, viewer):
    user = getattr(org, viewer)
    client = APIClient()
    client.force_login(user)
    response = client.get(reverse("admin:customers_customer_changelist"))
    if user.is_staff:
        assert response.status_code == 200
    else:
        assert response.status_code == 302 and reverse("admin:login") in response["Location"], viewer


def _ids(html, attr):
    return {int(x) for x in re.findall(rf'{attr}="(\d+)"'.encode(), html)}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_activity_lists_return_exactly_the_scope(org, records, viewer):
    user = getattr(org, viewer)
    customers = {o: records[o][0] for o in OWNERS}
    interactions = {o: Interaction.objects.get(customer=c).pk for o, c in customers.items()}
    todos = {o: Todo.objects.get(customer=c).pk for o, c in customers.items()}
    expected_interactions = {interactions[o] for o in EXPECTED[viewer]}
    expected_todos = {todos[o] for o in EXPECTED[viewer]}
    page_client = APIClient()
    page_client.force_login(user)
    api_client = APIClient()
    api_client.force_authenticate(user)
    if not grants(user, "view"):
        assert page_client.get(reverse("activities:interaction_list")).status_code == 403
        assert api_client.get(reverse("api-interaction-list")).status_code == 403
        return
    page = page_client.get(reverse("activities:interaction_list"), {"page_size": 200})
    assert _ids(page.content, "data-interaction-id") == expected_interactions
    api = api_client.get(reverse("api-interaction-list"), {"page_size": 200})
    assert {row["id"] for row in api.data["results"]} == expected_interactions
    page = page_client.get(reverse("activities:todo_list"), {"who": "team", "page_size": 200})
    assert _ids(page.content, "data-todo-id") == expected_todos
    api = api_client.get(reverse("api-todo-list"), {"page_size": 200})
    assert {row["id"] for row in api.data["results"]} == expected_todos
    for owner, customer in customers.items():
        response = api_client.get(reverse("api-timeline-list"), {"customer": customer.pk})
        assert response.status_code == (200 if owner in EXPECTED[viewer] else 404), (viewer, owner)


# --- the customer pool ------------------------------------------------------------------------------------
# Pages and endpoints of the pool that are not about one owned record: the pool list (pool_for), claims of
# pool customers, the rules (manage settings) and the hand-over (assign).  Claims and releases of owned
# customers are rows of PROBES above.
POOL_URLS = {"customers:pool", "customers:pool_rules", "customers:pool_rule_create", "customers:pool_rule_edit",
             "customers:handover"}
POOL_UNITS = ["bj1", "bj2", "tj1", "sh1", None]
BEIJING = {"bj1", "bj2", "tj1"}  # the Beijing branch with its teams and its sub-branch (Tianjin)
POOL_EXPECTED = {
    "rep": BEIJING, "sub": BEIJING, "subsub": BEIJING, "manager": BEIJING, "teammate": BEIJING,
    "team_lead": BEIJING, "other_team_rep": BEIJING, "bj_branch_mgr": BEIJING, "bj_region_mgr": BEIJING,
    "viewer": BEIJING, "tj_rep": {"tj1"}, "sh_rep": {"sh1"}, "ceo": set(POOL_UNITS), "admin": set(POOL_UNITS),
    "no_role": set(),
}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_pool_follows_pool_for_and_claims_outside_it_are_404(org, viewer):
    user = getattr(org, viewer)
    pool = {unit: CustomerFactory(owner=None, branch=getattr(org, unit) if unit else None,
                                  name=f"公海客户{unit}") for unit in POOL_UNITS}
    expected = {pool[u].pk for u in POOL_EXPECTED[viewer]}
    page_client = APIClient()
    page_client.force_login(user)
    api_client = APIClient()
    api_client.force_authenticate(user)

    page = page_client.get(reverse("customers:pool"))
    api = api_client.get(reverse("api-pool-list"), {"page_size": 200})
    if not grants(user, "view"):
        assert page.status_code == 403 and api.status_code == 403
    else:
        assert _page_ids(page.content) == expected
        assert {row["id"] for row in api.data["results"]} == expected
        assert api.data["count"] == len(expected)

    for unit, customer in pool.items():
        before = snapshot(customer)
        for client, url_name in ((page_client, "customers:pool_claim"), (api_client, "api-customer-claim")):
            response = client.post(reverse(url_name, args=[customer.pk]))
            cell = (viewer, unit, url_name, response.status_code)
            if not grants(user, "change"):
                assert response.status_code == 403, cell
            elif customer.pk not in expected:
                assert response.status_code == 404, cell
            else:
                assert response.status_code in (200, 302), cell
                assert Customer.objects.get(pk=customer.pk).owner_id == user.pk, cell
                Customer.objects.filter(pk=customer.pk).update(owner=None)  # back to the pool for the next
                continue
            assert snapshot(customer) == before, cell

    rule = PoolRule.objects.create(days_without_activity=90)
    for url in (reverse("customers:pool_rules"), reverse("customers:pool_rule_create"),
                reverse("customers:pool_rule_edit", args=[rule.pk]), reverse("api-pool-rule-list")):
        client = api_client if url.startswith("/api/") else page_client
        assert client.get(url).status_code == (200 if grants(user, "manage_settings") else 403), (viewer, url)
    handover = page_client.get(reverse("customers:handover"))
    assert handover.status_code == (200 if grants(user, "assign") else 403)
    api_handover = api_client.post(reverse("api-handover"), {}, format="json")
    assert api_handover.status_code == (400 if grants(user, "assign") else 403)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_order_lists_return_exactly_the_scope(org, records, viewer):
    user = getattr(org, viewer)
    orders = {o: ensure_order(records[o][0]).pk for o in OWNERS}
    expected = {orders[o] for o in EXPECTED[viewer]}
    page_client = APIClient()
    page_client.force_login(user)
    api_client = APIClient()
    api_client.force_authenticate(user)
    if not grants(user, "view"):
        assert page_client.get(reverse("sales:order_list")).status_code == 403
        assert api_client.get(reverse("api-order-list")).status_code == 403
        return
    page = page_client.get(reverse("sales:order_list"))
    assert {int(x) for x in re.findall(rb'data-order-id="(\d+)"', page.content)} == expected
    api = api_client.get(reverse("api-order-list"), {"page_size": 200})
    assert {row["id"] for row in api.data["results"]} == expected and api.data["count"] == len(expected)
    export = page_client.get(reverse("sales:order_export"))
    if not grants(user, "export"):
        assert export.status_code == 403
    else:
        body = b"".join(export.streaming_content).decode("utf-8-sig")
        assert {int(row[0]) for row in list(csv.reader(io.StringIO(body)))[1:]} == expected


# --- related names ----------------------------------------------------------------------------------------
# A record shows the names of the records it refers to.  A name follows the visibility of the record it
# names, not of the record that shows it: a to-do is visible with its owner, its customer with the
# customer's owner, so a to-do about a customer that moved out of the viewer's scope shows no customer name
# (null in the API, a dash on the pages).

def _todo_rows(html):
    rows = re.split(rb'<tr data-testid="todo-row" data-todo-id="', html)[1:]
    return {int(row.split(b'"', 1)[0]): row.split(b"</tr>", 1)[0] for row in rows}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_related_names_follow_the_named_records_scope(org, viewer):
    user = getattr(org, viewer)
    today = timezone.localdate()
    todos = {}  # todo pk -> (owner of the to-do, owner of its customer, customer name)
    for i, todo_owner in enumerate(OWNERS):
        for j, customer_owner in enumerate(OWNERS):
            name = f"关联客户{i}{j}号"
            customer = CustomerFactory(owner=getattr(org, customer_owner), name=name)
            todo = TodoFactory(owner=getattr(org, todo_owner), customer=customer, due_on=today)
            todos[todo.pk] = (todo_owner, customer_owner, name)
    mine = TodoFactory(owner=user, customer=CustomerFactory(owner=org.sh_rep, name="他人客户甲"), due_on=today)
    todos[mine.pk] = (viewer, "sh_rep", "他人客户甲")
    visible = EXPECTED[viewer] | {viewer}
    expected = {pk: (name if customer_owner in EXPECTED[viewer] else None)
                for pk, (todo_owner, customer_owner, name) in todos.items() if todo_owner in visible}
    page_client = APIClient()
    page_client.force_login(user)
    api_client = APIClient()
    api_client.force_authenticate(user)
    if not grants(user, "view"):
        assert api_client.get(reverse("api-todo-list")).status_code == 403
        return

    api = api_client.get(reverse("api-todo-list"), {"page_size": 200})
    assert {row["id"]: row["customer_name"] for row in api.data["results"]} == expected
    hidden = [pk for pk, name in expected.items() if name is None]
    shown = [pk for pk, name in expected.items() if name is not None]
    for pk in hidden[:1] + shown[:1]:
        detail = api_client.get(reverse("api-todo-detail", args=[pk]))
        assert detail.data["customer_name"] == expected[pk], (viewer, pk)
        assert (todos[pk][2].encode() in detail.content) == (expected[pk] is not None), (viewer, pk)
    if hidden and grants(user, "change"):
        done = api_client.post(reverse("api-todo-complete", args=[hidden[0]]))
        assert done.status_code == 200 and done.data["customer_name"] is None
        assert todos[hidden[0]][2].encode() not in done.content

    page = page_client.get(reverse("activities:todo_list"), {"who": "team", "status": "", "page_size": 200})
    rows = _todo_rows(page.content)
    assert set(rows) == set(expected), viewer
    for pk, name in expected.items():
        assert (todos[pk][2].encode() in rows[pk]) == (name is not None), (viewer, pk, todos[pk])
    if hidden and grants(user, "change"):
        reopened = page_client.post(reverse("activities:todo_reopen", args=[hidden[0]]), HTTP_HX_REQUEST="true")
        assert reopened.status_code == 200 and todos[hidden[0]][2].encode() not in reopened.content

    day = page_client.get(reverse("activities:my_day"))
    assert day.status_code == 200
    assert f'data-todo-id="{mine.pk}"'.encode() in day.content
    assert ("他人客户甲".encode() in day.content) == ("sh_rep" in EXPECTED[viewer]), viewer


# Every name field of every API serializer, by what it names.  SCOPED: a record with its own scope, which
# may differ from the one showing it — null outside the caller's scope (tested above).  SAME: a record
# always visible with the one showing it (the customer of an order, an interaction's contact, which must
# be one of the interaction customer's contacts).  UNSCOPED: users, units, roles, partners, products and
# categories, which have no scope.  OWN: the record's own name.  A new name field fails the guard until it
# is classified here; the pages show the same names from the same querysets.
SCOPED, SAME, UNSCOPED, OWN = "scoped", "same", "unscoped", "own"
RELATED_NAMES = {
    ("Todo", "customer_name"): (Todo, "customer", SCOPED),
    ("Todo", "owner_name"): (Todo, "owner", UNSCOPED),
    ("Interaction", "customer_name"): (Interaction, "customer", SAME),
    ("Interaction", "contact_name"): (Interaction, "contact", SAME),
    ("Interaction", "user_name"): (Interaction, "user", UNSCOPED),
    ("Contact", "customer_name"): (Contact, "customer", SAME),
    ("CustomerMetrics", "customer_name"): (CustomerMetrics, "customer", SAME),
    ("Order", "customer_name"): (Order, "customer", SAME),
    ("Order", "partner_name"): (Order, "partner", UNSCOPED),
    ("Order", "seller_name"): (Order, "seller", UNSCOPED),
    ("OrderLine", "product_name"): (OrderLine, "product", UNSCOPED),
    ("Product", "category_name"): (Product, "category", UNSCOPED),
    ("TimelineEvent", "actor_name"): (TimelineEvent, "actor", UNSCOPED),
    ("Customer", "owner_name"): (Customer, "owner", UNSCOPED),
    ("Customer", "branch_name"): (Customer, "branch", UNSCOPED),
    ("PoolCustomer", "branch_name"): (Customer, "branch", UNSCOPED),
    ("OwnershipChange", "from_owner_name"): (OwnershipChange, "from_owner", UNSCOPED),
    ("OwnershipChange", "to_owner_name"): (OwnershipChange, "to_owner", UNSCOPED),
    ("OwnershipChange", "from_branch_name"): (OwnershipChange, "from_branch", UNSCOPED),
    ("OwnershipChange", "to_branch_name"): (OwnershipChange, "to_branch", UNSCOPED),
    ("OwnershipChange", "changed_by_name"): (OwnershipChange, "changed_by", UNSCOPED),
    ("User", "org_unit_name"): (User, "org_unit", UNSCOPED),
    ("User", "role_name"): (User, "role", UNSCOPED),
    ("Me", "org_unit_name"): (User, "org_unit", UNSCOPED),
    ("Me", "role_name"): (User, "role", UNSCOPED),
    ("HandoverRecipient", "user_name"): (User, None, OWN),
    ("User", "full_name"): (User, None, OWN), ("User", "display_name"): (User, None, OWN),
    ("Me", "full_name"): (User, None, OWN), ("Me", "display_name"): (User, None, OWN),
    ("ChannelPartner", "contact_name"): (ChannelPartner, None, OWN),  # the partner's contact person (text)
}


def test_every_name_field_follows_the_scope_of_what_it_names():
    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    found = {}
    for component, schema in components.items():
        base = re.sub(r"^Patched|Request$", "", component)
        for field, prop in (schema.get("properties") or {}).items():
            if field.endswith("_name"):
                found[(base, field)] = prop
    missing = set(found) - set(RELATED_NAMES)
    assert not missing, f"classify these name fields in RELATED_NAMES: {sorted(missing)}"
    for key, (model, relation, kind) in RELATED_NAMES.items():
        assert key in found, f"{key} is no longer in the API: remove it from RELATED_NAMES"
        if kind == OWN:
            continue
        related = model._meta.get_field(relation).related_model
        restricted = issubclass(related, RestrictedModel)
        if kind == UNSCOPED:
            assert not restricted, key
        elif kind == SAME:
            # visible through the same customer: the showing record's scope is the customer's
            assert restricted and (model.owner_path, model.unit_path) == ("customer__owner", "customer__branch"), key
            assert (related.owner_path, related.unit_path) in {("owner", "branch"),
                                                                ("customer__owner", "customer__branch")}, key
        else:
            assert restricted and found[key].get("nullable"), key


@pytest.mark.parametrize("viewer", VIEWERS)
def test_analytics_figures_follow_the_scope(org, records, viewer):
    """Per-customer metrics, the summary and a snapshot's figures count exactly the visible customers;
    a snapshot's company-wide results go to an all-records scope only."""
    user = getattr(org, viewer)
    snapshot = Snapshot.objects.create(as_of=timezone.localdate(), status="complete", finished_at=timezone.now(),
                                       progress=100, customers=len(OWNERS), results={"revenue": 1.0})
    CustomerMetrics.objects.bulk_create([CustomerMetrics(snapshot=snapshot, customer=records[o][0], revenue=1)
                                         for o in OWNERS])
    expected = {records[o][0].pk for o in EXPECTED[viewer]}
    api = APIClient()
    api.force_authenticate(user)
    page = APIClient()
    page.force_login(user)
    urls = [reverse("api-analytics-customer-list"), reverse("api-analytics-summary"),
            reverse("api-analytics-snapshot-list"), reverse("api-analytics-snapshot-detail", args=[snapshot.pk])]
    if not grants(user, "view"):
        assert all(api.get(url).status_code == 403 for url in urls), viewer
        assert page.get(reverse("analytics:dashboard")).status_code == 403
        return
    metrics, summary, listed, detail = (api.get(url, {"page_size": 200}) for url in urls)
    assert {row["customer"] for row in metrics.data["results"]} == expected
    assert summary.data["customers"] == len(expected)
    assert listed.data["results"][0]["customers"] == detail.data["customers"] == len(expected)
    everything = user.data_scope().all
    assert detail.data["results"] == ({"revenue": 1.0} if everything else None), viewer
    dashboard = page.get(reverse("analytics:dashboard"))
    analysed = re.search(rb'data-testid="analytics-customers">([\d,]+)<', dashboard.content)
    assert int(analysed.group(1).replace(b",", b"")) == len(expected), viewer


# --- every other URL: pages and endpoints gated by a role action, not by a record's owner ------------------
# Each answers 403 to a signed-in user whose role lacks the action (pages of anonymous users go to the log-in
# page), and what it lists is not owner-scoped data: the organisation, roles, settings, the catalogue, the
# audit log (manage settings), the caller's own token and profile.  The analytics pages and endpoints need
# *view*; their figures are computed over the caller's customers (test_analytics_figures_follow_the_scope
# above, and crm/analytics/tests/test_api.py).
SIGNED_IN = "signed in"
GATED = {
    "accounts:role_list": ("get", "manage_settings"), "accounts:role_create": ("get", "manage_settings"),
    "accounts:role_edit": ("get", "manage_settings"), "accounts:unit_list": ("get", "manage_settings"),
    "accounts:unit_create": ("get", "manage_settings"), "accounts:unit_edit": ("get", "manage_settings"),
    "accounts:unit_delete": ("get", "manage_settings"), "accounts:user_list": ("get", "manage_settings"),
    "accounts:user_create": ("get", "manage_settings"), "accounts:user_edit": ("get", "manage_settings"),
    "accounts:token": ("get", SIGNED_IN),
    "accounts:password_change": ("get", SIGNED_IN), "accounts:two_factor": ("get", SIGNED_IN),
    "accounts:two_factor_verify": ("get", SIGNED_IN),
    "accounts:user_reset_password": ("post", "manage_settings"),
    "accounts:user_remove_two_factor": ("post", "manage_settings"),
    "api-user-reset-password": ("post", "manage_settings"),
    "analytics:dashboard": ("get", "view"), "analytics:transitions": ("get", "view"),
    "analytics:progress": ("get", "view"), "analytics:refresh": ("post", "manage_settings"),
    "analytics:settings": ("get", "manage_settings"), "analytics:segments": ("get", "manage_settings"),
    "core:home": ("get", SIGNED_IN),
    "core:audit_list": ("get", "manage_settings"), "core:audit_detail": ("get", "manage_settings"),
    "core:customfield_list": ("get", "manage_settings"), "core:customfield_create": ("get", "manage_settings"),
    "core:customfield_edit": ("get", "manage_settings"),
    "api-analytics-summary": ("get", "view"), "api-analytics-transitions": ("get", "view"),
    "api-analytics-customer-list": ("get", "view"), "api-analytics-snapshot-list": ("get", "view"),
    "api-analytics-snapshot-detail": ("get", "view"), "api-analytics-refresh": ("post", "manage_settings"),
    "api-auditentry-list": ("get", "manage_settings"), "api-auditentry-detail": ("get", "manage_settings"),
    "api-role-list": ("get", "manage_settings"), "api-role-detail": ("get", "manage_settings"),
    "api-pool-rule-detail": ("get", "manage_settings"),
    "api-customfield-list": ("get", SIGNED_IN), "api-customfield-detail": ("get", SIGNED_IN),
    "api-unit-list": ("get", SIGNED_IN), "api-unit-detail": ("get", SIGNED_IN),
    "api-user-list": ("get", SIGNED_IN), "api-me": ("get", SIGNED_IN),
    "api-user-detail": ("get", "view"),  # users the caller may assign records to (none without a scope: 404)
    "api-tag-list": ("get", "view"), "api-tag-detail": ("get", "view"),
    "api-product-list": ("get", "view"), "api-product-detail": ("get", "view"),
    "api-productcategory-list": ("get", "view"), "api-productcategory-detail": ("get", "view"),
    "api-partner-list": ("get", "view"), "api-partner-detail": ("get", "view"),
    "api-stockmovement-list": ("get", "view"), "api-stockmovement-detail": ("get", "view"),
}
# Open to anyone, signed in or not — the URL guard's exemptions from the sign-in rule, each with its reason.
PUBLIC_URLS = {
    "login": "get", "logout": "post",  # signing in and out happens before and after a session
    "set_language": "post",  # the language switch works on the log-in page too
    "api-token": "post",  # exchanges a user name and password for a token: the API's log-in
    "api-schema": "get", "api-docs": "get", "api-redoc": "get",  # the API's description, no data
    "core:health": "get",  # the load balancer's health check: the database answers, nothing more
    # a forgotten password is reset without a session: request, sent, the link from the mail, done
    "accounts:password_reset": "get", "accounts:password_reset_done": "get",
    "accounts:password_reset_confirm": "get", "accounts:password_reset_complete": "get",
}
# Public URLs with arguments: a reset link that is not valid still answers (with a message), never a 500.
PUBLIC_URL_KWARGS = {"accounts:password_reset_confirm": {"uidb64": "MQ", "token": "not-a-token"}}


@pytest.fixture
def gated_objects(org):
    now = timezone.now()
    snapshots = [Snapshot.objects.create(as_of=now.date() - datetime.timedelta(days=d), status="complete",
                                         finished_at=now - datetime.timedelta(days=d), progress=100)
                 for d in (1, 0)]
    product = ProductFactory()
    CustomerFactory(owner=org.rep)  # an audit entry to open
    return {
        "accounts:role_edit": Role.objects.order_by("pk").first().pk, "api-role-detail": org.rep.role_id,
        "accounts:unit_edit": org.bj2.pk, "accounts:unit_delete": org.bj2.pk, "api-unit-detail": org.bj2.pk,
        "accounts:user_edit": org.rep.pk,
        # Someone no viewer is: resetting their password must not send a viewer to the change-password page.
        **dict.fromkeys(["accounts:user_reset_password", "accounts:user_remove_two_factor",
                         "api-user-reset-password"], UserFactory(username="reset_target", org_unit=org.bj1).pk),
        "core:audit_detail": AuditEntry.objects.order_by("pk").first().pk,
        "api-auditentry-detail": AuditEntry.objects.order_by("pk").first().pk,
        "core:customfield_edit": CustomFieldDefinition.objects.create(
            content_type=ContentType.objects.get_for_model(Customer), key="credit", label="额度",
            field_type="number").pk,
        "api-analytics-snapshot-detail": snapshots[-1].pk,
        "api-pool-rule-detail": PoolRule.objects.create(days_without_activity=90).pk,
        "api-tag-detail": TagFactory().pk, "api-product-detail": product.pk,
        "api-productcategory-detail": ProductCategoryFactory().pk, "api-partner-detail": ChannelPartnerFactory().pk,
        "api-stockmovement-detail": StockMovement.objects.create(
            product=product, quantity=5, occurred_on=now.date()).pk,
    }


@pytest.mark.parametrize("viewer", VIEWERS)
def test_every_gated_url_answers_by_the_role_action(org, gated_objects, viewer):
    user = getattr(org, viewer)
    for url_name, (method, need) in GATED.items():
        if url_name == "api-customfield-detail":
            gated_objects[url_name] = gated_objects["core:customfield_edit"]
        if url_name == "api-user-detail":
            gated_objects[url_name] = user.pk
        kwargs = {"pk": gated_objects[url_name]} if url_name in gated_objects else {}
        client = APIClient()
        client.force_login(user)
        response = getattr(client, method)(reverse(url_name, kwargs=kwargs))
        cell = (viewer, url_name, response.status_code)
        if need == SIGNED_IN or grants(user, need):
            assert response.status_code in (200, 202, 302), cell
        else:
            assert response.status_code == (404 if url_name == "api-user-detail" else 403), cell


def test_public_urls_answer_anonymous_callers_and_the_others_ask_them_to_sign_in():
    for url_name, method in PUBLIC_URLS.items():
        response = getattr(APIClient(), method)(reverse(url_name, kwargs=PUBLIC_URL_KWARGS.get(url_name)))
        assert response.status_code in (200, 302, 400), (url_name, response.status_code)  # 400: no credentials
    for url_name, (method, _need) in GATED.items():
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            url = reverse(url_name, kwargs={"pk": 1})
        response = getattr(APIClient(), method)(url)
        if url_name.startswith("api-"):
            assert response.status_code in (401, 403), (url_name, response.status_code)
        else:
            assert response.status_code == 302 and "/login/" in response["Location"], url_name
