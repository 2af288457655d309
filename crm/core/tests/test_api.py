"""Framework endpoints: OpenAPI schema and docs, the audit log and custom field definitions."""

import re

import pytest
import yaml
from django.contrib.contenttypes.models import ContentType
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from crm.core.models import AuditEntry, CustomFieldDefinition
from crm.customers.models import Customer
from crm.customers.tests.factories import CustomerFactory


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- schema and docs -------------------------------------------------------------------------------

@pytest.mark.django_db
def test_schema_is_valid_openapi():
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)  # the OpenAPI 3 JSON schema bundled with drf-spectacular
    assert schema["openapi"].startswith("3.")
    for path in ["/api/customers/", "/api/customers/{id}/assign/", "/api/contacts/", "/api/users/",
                 "/api/units/", "/api/roles/", "/api/me/", "/api/audit-entries/", "/api/custom-fields/",
                 "/api/auth/token/"]:
        assert path in schema["paths"], path
    assert "allow_duplicate" in schema["components"]["schemas"]["CustomerRequest"]["properties"]
    # The audit log is read-only: no write method exists.
    assert set(schema["paths"]["/api/audit-entries/{id}/"]) == {"get"}


def _asset_urls(html):
    return re.findall(r'(?:src|href)="([^"]+)"', html)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_render_with_local_assets_and_no_inline_code(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    urls = _asset_urls(html)
    assert urls, html
    for asset in urls:
        assert asset.startswith("/") and not asset.startswith("//"), asset
    # The content security policy allows no inline script or style.
    assert not re.search(r"<script>|<script[^>]*>\s*\S[^<]*</script>", html)
    assert "<style" not in html
    for asset in urls:
        if asset.startswith("/static/"):
            assert client.get(asset.split("?")[0]).status_code == 200, asset


@pytest.mark.django_db
def test_swagger_init_script_is_served_as_a_file(client):
    html = client.get("/api/docs/").content.decode()
    script = next(u for u in _asset_urls(html) if "script" in u and not u.startswith("/static/"))
    response = client.get(script.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in response.content.decode()


# --- audit log ---------------------------------------------------------------------------------------

def test_audit_entries_are_read_only_and_need_manage_settings(org):
    CustomerFactory(name="审计客户", owner=org.rep)
    assert client_for(org.manager).get("/api/audit-entries/").status_code == 403
    ceo = client_for(org.ceo)
    response = ceo.get("/api/audit-entries/?content_type=customers.customer&action=create")
    assert response.status_code == 200
    assert [e["object_repr"] for e in response.data["results"]] == ["审计客户"]
    entry = AuditEntry.objects.filter(object_repr="审计客户").get()
    assert response.data["results"][0]["content_type"] == "customers.customer"
    assert ceo.get(f"/api/audit-entries/?object_id={entry.object_id}").data["count"] >= 1
    for method in ("post", "put", "patch", "delete"):
        url = "/api/audit-entries/" if method == "post" else f"/api/audit-entries/{entry.pk}/"
        assert getattr(ceo, method)(url, {}, format="json").status_code == 405
    assert ceo.get("/api/audit-entries/?content_type=nope.nothing").status_code == 400
    assert ceo.get("/api/audit-entries/?actor=abc").status_code == 400


def test_audit_entries_walk_by_cursor(org):
    for i in range(7):
        CustomerFactory(name=f"审计{i}", owner=org.rep)
    ceo = client_for(org.ceo)
    total = AuditEntry.objects.count()
    url, seen = "/api/audit-entries/?page_size=3", []
    while url:
        response = ceo.get(url)
        seen += [e["id"] for e in response.data["results"]]
        url = response.data["next"]
    assert len(seen) == len(set(seen)) == total


def test_api_changes_are_audited_with_the_actor(org):
    response = client_for(org.rep).post("/api/customers/", {"name": "接口客户"}, format="json")
    assert response.status_code == 201
    entry = AuditEntry.objects.get(object_repr="接口客户", action="create")
    assert entry.actor == org.rep


# --- custom field definitions ------------------------------------------------------------------------

def test_custom_field_definitions(org):
    payload = {"content_type": "customers.customer", "key": "credit_limit", "label": "信用额度",
               "field_type": "number"}
    assert client_for(org.rep).post("/api/custom-fields/", payload, format="json").status_code == 403
    response = client_for(org.ceo).post("/api/custom-fields/", payload, format="json")
    assert response.status_code == 201, response.data
    definition = CustomFieldDefinition.objects.get(key="credit_limit")
    assert definition.content_type == ContentType.objects.get_for_model(Customer)
    listed = client_for(org.rep).get("/api/custom-fields/")
    assert listed.status_code == 200 and [d["key"] for d in listed.data] == ["credit_limit"]
    # The same key twice for one record type, a type without custom fields, a renamed key.
    assert client_for(org.ceo).post("/api/custom-fields/", payload, format="json").status_code == 400
    response = client_for(org.ceo).post("/api/custom-fields/", {**payload, "content_type": "core.auditentry",
                                                                "key": "x"}, format="json")
    assert response.status_code == 400 and "content_type" in response.data
    response = client_for(org.ceo).patch(f"/api/custom-fields/{definition.pk}/", {"key": "renamed"},
                                         format="json")
    assert response.status_code == 400 and "key" in response.data
    response = client_for(org.ceo).patch(f"/api/custom-fields/{definition.pk}/", {"active": False},
                                         format="json")
    assert response.status_code == 200 and response.data["active"] is False


# --- malformed bodies ------------------------------------------------------------------------------

DEEP = 5000


@pytest.mark.django_db
@pytest.mark.parametrize("body", [
    b"[" * DEEP,                                           # unterminated and too deep for the decoder
    b"[" * DEEP + b"]" * DEEP,                             # well formed, still too deep
    b'{"name": "x", "custom_fields": {"k": ' + b"[" * 500 + b"]" * 500 + b"}}",  # parses, nests too deep
    b'{"name": "\xff\xfe"}',                               # not UTF-8
    b'{"name": "x",',                                      # truncated
    b'{"name": NaN}',                                      # not JSON
], ids=["unterminated", "deep", "deep-field", "not-utf8", "truncated", "nan"])
def test_malformed_json_is_a_json_400(org, body):
    response = client_for(org.rep).post("/api/customers/", body, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_token_endpoint_answers_malformed_json_with_400():
    response = APIClient().post("/api/auth/token/", b"[" * DEEP, content_type="application/json")
    assert response.status_code == 400 and "detail" in response.json()


@pytest.mark.django_db
def test_options_answers_every_operation_without_a_server_error(org):
    """OPTIONS (DRF's metadata) builds each view's serializer and, for PUT, looks the object up: an
    action whose URL names something other than ``pk`` must still answer."""
    paths = yaml.safe_load(APIClient().get("/api/schema/").content)["paths"]
    failures = {}
    for user in (org.admin, org.rep):
        client = client_for(user)
        for path in paths:
            url = re.sub(r"\{[^}]+\}", "1", path)
            response = client.options(url)
            if response.status_code >= 500 or response["Content-Type"] != "application/json":
                failures[(user.username, url)] = response.status_code
    assert failures == {}


def _list_query_parameters():
    """(path, parameter, schema) for every query parameter of every list operation in the schema."""
    schema = yaml.safe_load(APIClient().get("/api/schema/").content)
    for path, operations in schema["paths"].items():
        if "{" in path or "get" not in operations:
            continue
        for parameter in operations["get"].get("parameters", []):
            if parameter["in"] == "query":
                yield path, parameter["name"], parameter.get("schema", {})


BAD_VALUES = {"integer": ["abc", "1.5", "-1", "0"], "number": ["abc", "NaN", "Infinity"],
              "boolean": ["abc", "yes"], "date": ["abc", "2025-02-30"], "date-time": ["abc"]}
EDGE_VALUES = ["99999999999999999999999", "1e400", "9999-12-31", "0001-01-01", "\x00", "x" * 5000]


def _kind(schema):
    if schema.get("type") == "array":
        schema = schema.get("items", {})
    if "enum" in schema:
        return "enum"
    return schema.get("format") if schema.get("format") in ("date", "date-time") else schema.get("type")


@pytest.mark.django_db
def test_every_filter_refuses_a_bad_value_with_a_400_naming_it(org):
    """Filters never silently ignore what they cannot read: a bad value answers 400 under the
    parameter's name, and no value at all answers 500."""
    customer = CustomerFactory(owner=org.rep)
    client = client_for(org.admin)
    failures, checked = {}, 0
    for path, name, schema in _list_query_parameters():
        if name in ("cursor", "ordering", "customer"):
            continue
        base = {"customer": customer.pk} if path == "/api/timeline/" else {}
        kind = _kind(schema)
        bad = ["abc"] if kind == "enum" else BAD_VALUES.get(kind, [])
        if kind == "integer" and name != "page_size":
            bad = bad[:2]  # ids: zero and negative ids are simply not found
        for value in bad:
            checked += 1
            response = client.get(path, {**base, name: value})
            if response.status_code != 400 or name not in response.json():
                failures[f"{path}?{name}={value}"] = response.status_code
        for value in EDGE_VALUES:
            response = client.get(path, {**base, name: value})
            if response.status_code >= 500 or response["Content-Type"] != "application/json":
                failures[f"{path}?{name}={value[:20]}"] = response.status_code
    assert checked > 40
    assert failures == {}


@pytest.mark.django_db
def test_a_list_refuses_a_parameter_it_does_not_know(org):
    client = client_for(org.admin)
    response = client.get("/api/analytics/customers/", {"clv_min": "abc"})  # the filter is min_clv
    assert response.status_code == 400
    assert "min_clv" in response.json()["clv_min"][0]
    assert client.get("/api/customers/", {"clv_min": "abc"}).json() == {"clv_min": ["Enter a number."]}
    assert client.get("/api/customers/", {"format": "json", "page_size": "5", "ordering": "name"}).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["-1", "0", "abc", "201", "1.5"])
def test_page_size_outside_1_to_200_is_a_400(org, value):
    response = client_for(org.admin).get("/api/customers/", {"page_size": value})
    assert response.status_code == 400
    assert response.json() == {"page_size": ["Enter a whole number from 1 to 200."]}


@pytest.mark.django_db
def test_audit_entries_object_id_must_be_an_id(org):
    client = client_for(org.admin)
    assert client.get("/api/audit-entries/", {"object_id": "abc"}).status_code == 400
    customer = CustomerFactory(owner=org.rep)
    AuditEntry.objects.create(action="update", content_type=ContentType.objects.get_for_model(Customer),
                              object_id=str(customer.pk), object_repr="x", changes={})
    listed = client.get("/api/audit-entries/", {"object_id": customer.pk}).json()["results"]
    assert listed and {row["object_id"] for row in listed} == {str(customer.pk)}


@pytest.mark.django_db
def test_a_body_over_the_upload_limit_is_a_json_400(org, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = APIClient()
    client.force_authenticate(org.admin)
    body = '{"name": "' + "x" * 2000 + '"}'
    response = client.post("/api/customers/", body, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert list(response.json()) == ["non_field_errors"]
    assert not Customer.objects.filter(name__startswith="xxx").exists()


# --- bounds on fields: free text, dates, time zones ------------------------------------------------

MEGABYTE = "x" * 1_000_000


def _field_cases(customer):
    return [
        ("/api/customers/", {"name": "长文本客户", "notes": MEGABYTE}, "notes"),
        ("/api/contacts/", {"customer": customer.pk, "name": "王芳", "preferences": MEGABYTE}, "preferences"),
        ("/api/contacts/", {"customer": customer.pk, "name": "王芳", "important_facts": MEGABYTE}, "important_facts"),
        ("/api/contacts/", {"customer": customer.pk, "name": "王芳", "birthday": "1800-01-01"}, "birthday"),
        ("/api/interactions/", {"customer": customer.pk, "kind": "call", "summary": MEGABYTE}, "summary"),
        ("/api/interactions/", {"customer": customer.pk, "kind": "call", "summary": "x",
                                "follow_up_on": "9999-12-31"}, "follow_up_on"),
        ("/api/interactions/", {"customer": customer.pk, "kind": "call", "summary": "x",
                                "occurred_at": "2025-01-01T10:00:00"}, "occurred_at"),
        ("/api/todos/", {"title": "回访", "due_on": "9999-12-31"}, "due_on"),
        ("/api/todos/", {"title": "回访", "due_on": "0202-05-01"}, "due_on"),
        ("/api/stock-movements/", {"product": None, "kind": "receipt", "quantity": "1",
                                   "occurred_on": "9999-12-31"}, "occurred_on"),
        ("/api/orders/", {"customer": customer.pk, "order_date": "2025-01-01", "notes": MEGABYTE,
                          "lines": [{"product": None, "quantity": 1}]}, "notes"),
    ]


@pytest.mark.django_db
def test_free_text_dates_and_datetimes_are_bounded_with_a_400_naming_the_field(org):
    from crm.sales.tests.factories import ProductFactory

    customer = CustomerFactory(owner=org.ceo)
    product = ProductFactory()
    client = client_for(org.ceo)
    failures = {}
    for url, body, field in _field_cases(customer):
        if "product" in body:
            body["product"] = product.pk
        if "lines" in body:
            body["lines"][0]["product"] = product.pk
        response = client.post(url, body, format="json")
        if response.status_code != 400 or field not in response.json():
            failures[(url, field)] = (response.status_code, response.content[:300])
    assert failures == {}


@pytest.mark.django_db
def test_a_datetime_with_a_time_zone_is_accepted(org):
    customer = CustomerFactory(owner=org.ceo)
    response = client_for(org.ceo).post("/api/interactions/", {
        "customer": customer.pk, "kind": "call", "summary": "x", "occurred_at": "2025-01-01T10:00:00+08:00"},
        format="json")
    assert response.status_code == 201, response.content
