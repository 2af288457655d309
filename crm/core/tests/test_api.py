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
