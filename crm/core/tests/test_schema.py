"""The OpenAPI schema tells the truth: error responses documented, nullable names, types as returned.

The schema fuzzer (``make fuzz``, fuzz/run.py) checks the running application against the schema; these
tests pin what it found, so that a regression shows without a server.
"""

import re

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from crm.sales.tests.factories import ProductFactory


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method.upper(), operation


def ref_of(response):
    return response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]


def test_every_operation_documents_its_error_responses(schema):
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        name = f"{method} {path}"
        assert "401" in responses, name
        assert ref_of(responses["401"]) == "ErrorDetail", name
        if "{" in path:
            assert ref_of(responses["404"]) == "ErrorDetail", name
        if method in {"POST", "PUT", "PATCH"}:
            assert "400" in responses, name
            assert "415" in responses, name
        if path != "/api/auth/token/":
            assert "403" in responses, name


def test_error_shapes(schema):
    components = schema["components"]["schemas"]
    assert components["ErrorDetail"]["required"] == ["detail"]
    assert components["ErrorDetail"]["properties"]["detail"] == {"type": "string"}
    assert components["ValidationError"]["type"] == "object"
    assert "additionalProperties" in components["ValidationError"]
    # Filters and ordering answer 400 on a bad value; the throttled token endpoint 429.
    assert ref_of(schema["paths"]["/api/customers/"]["get"]["responses"]["400"]) == "ValidationError"
    assert "404" in schema["paths"]["/api/customers/"]["get"]["responses"]  # an invalid cursor
    assert "429" in schema["paths"]["/api/auth/token/"]["post"]["responses"]
    assert "403" not in schema["paths"]["/api/auth/token/"]["post"]["responses"]


@pytest.mark.parametrize("component, field", [
    ("Customer", "owner_name"),
    ("Todo", "customer_name"),
    ("Order", "partner_name"),
    ("Order", "seller_name"),
    ("User", "role_name"),
    ("User", "org_unit_name"),
    ("Product", "category_name"),
])
def test_names_through_an_optional_relation_are_nullable(schema, component, field):
    prop = schema["components"]["schemas"][component]["properties"][field]
    assert prop["type"] == "string"
    assert prop.get("nullable") is True


def test_names_through_a_required_relation_stay_non_null(schema):
    assert "nullable" not in schema["components"]["schemas"]["Order"]["properties"]["customer_name"]
    assert "nullable" not in schema["components"]["schemas"]["Contact"]["properties"]["customer_name"]


def test_request_bodies_are_documented_as_json(schema):
    for path, method, operation in operations(schema):
        if "requestBody" in operation:
            assert set(operation["requestBody"]["content"]) == {"application/json"}, f"{method} {path}"


@pytest.mark.django_db
def test_margin_rate_is_documented_as_it_is_returned(schema, client, django_user_model):
    for component in ("Product", "Order"):
        prop = schema["components"]["schemas"][component]["properties"]["margin_rate"]
        assert prop["type"] == "string", component
        assert prop["format"] == "decimal", component
        assert prop["nullable"] is True, component
    product = ProductFactory(list_price=100, standard_cost=60)
    admin = django_user_model.objects.create_superuser("schema-admin", password="x-Secret-123")
    client.force_login(admin)
    returned = client.get(f"/api/products/{product.pk}/").json()["margin_rate"]
    assert isinstance(returned, str)
    assert returned == "0.4000"


def _api_model_serializers():
    """Every model serializer of the API, imported through the URL configuration."""
    from django.urls import get_resolver
    from rest_framework import serializers

    get_resolver().url_patterns  # noqa: B018 — imports every app's api modules
    found, pending = [], list(serializers.ModelSerializer.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("crm.") and ".api." in cls.__module__ and hasattr(cls, "Meta"):
            found.append(cls)
    return found


def _passes_an_optional_relation(field):
    model = field.parent.Meta.model
    for attr in field.source_attrs[:-1]:
        relation = model._meta.get_field(attr)
        if relation.null:
            return True
        model = relation.related_model
    return False


@pytest.mark.django_db
def test_names_read_through_an_optional_relation_come_back_null_not_missing():
    """A read-only field read through a relation that may be empty must say ``allow_null``: with
    ``default=None`` DRF leaves it out of PATCH responses, and with neither it is left out always."""
    checked = []
    for cls in _api_model_serializers():
        for name, field in cls().fields.items():
            if field.read_only and "." in (field.source or "") and _passes_an_optional_relation(field):
                checked.append(f"{cls.__name__}.{name}")
                assert field.allow_null, f"{cls.__name__}.{name}"
    assert {"CustomerSerializer.owner_name", "TodoSerializer.customer_name", "OrderSerializer.partner_name",
            "UserSerializer.role_name"} <= set(checked)


@pytest.mark.django_db
def test_patch_response_has_every_field(org):
    from crm.activities.tests.factories import TodoFactory

    todo = TodoFactory(owner=org.rep, customer=None)
    client = APIClient()
    client.force_authenticate(org.rep)
    response = client.patch(f"/api/todos/{todo.pk}/", {"title": "寄样品"}, format="json")
    assert response.status_code == 200
    assert response.data["customer_name"] is None
    assert set(response.data) == set(client.get(f"/api/todos/{todo.pk}/").data)


def test_request_bodies_state_the_real_constraints(schema):

    components = schema["components"]["schemas"]
    # Decimal strings: only what parses; no sign where negative values are refused.
    price = re.compile(components["ProductRequest"]["properties"]["list_price"]["pattern"])
    assert price.match("12.50") and price.match("3")
    assert not any(price.match(v) for v in ("", ".", "-", "-1.00", "1.234"))
    # A new order needs a customer (id or external ref) and at least one line with a product and a quantity.
    create = components["OrderCreateRequest"]
    assert create["anyOf"] == [{"required": ["customer"]}, {"required": ["customer_ref"]}]
    assert create["properties"]["lines"]["minItems"] == 1
    line = components["OrderLineWriteRequest"]
    assert line["anyOf"] == [{"required": ["product"]}, {"required": ["product_code"]}]
    assert "quantity" in line["required"]
    assert "anyOf" not in components["PatchedOrderWriteRequest"]
    # The status of an order is one of its statuses, in requests as in responses.
    enum_ref = {"$ref": "#/components/schemas/OrderStatusEnum"}
    assert components["OrderStatusRequest"]["properties"]["status"]["allOf"] == [enum_ref]
    assert components["Order"]["properties"]["status"]["allOf"] == [enum_ref]


def test_ordering_parameter_lists_the_allowed_fields(schema):
    def ordering(path):
        params = schema["paths"][path]["get"].get("parameters", [])
        return next((p for p in params if p["name"] == "ordering"), None)

    pattern = re.compile(ordering("/api/partners/")["schema"]["pattern"])
    assert pattern.match("name") and pattern.match("-name")
    assert not pattern.match("bogus")
    assert ordering("/api/roles/") is None  # a view that allows no ordering documents none
