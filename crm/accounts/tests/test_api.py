"""Users, org units, roles, /api/me/ and API tokens."""

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.accounts.models import OrgUnit, Role, User
from crm.core.permissions import codes_for_verbs
from crm.customers.tests.factories import CustomerFactory

PASSWORD = "pw-Secret-123"  # what the user factory sets


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


# --- tokens --------------------------------------------------------------------------------------------

def test_token_auth_round_trip(org):
    CustomerFactory(name="令牌客户", owner=org.rep)
    response = APIClient().post("/api/auth/token/", {"username": "rep", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.data["token"]
    assert Token.objects.get(user=org.rep).key == token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get("/api/customers/")
    assert response.status_code == 200 and response.data["count"] == 1
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/api/customers/").status_code == 401


@pytest.mark.parametrize("payload", [
    {"username": "rep", "password": "wrong"},
    {"username": "nobody", "password": "x"},
    {"username": "rep"},
    {},
])
def test_bad_credentials_are_400(org, payload):
    response = APIClient().post("/api/auth/token/", payload, format="json")
    assert response.status_code == 400
    assert not Token.objects.exists()


def test_token_requests_are_throttled(org, settings):
    settings.AXES_ENABLED = False  # measure the API throttle on its own
    client = APIClient()
    statuses = [client.post("/api/auth/token/", {"username": "rep", "password": f"guess{i}"},
                            format="json").status_code for i in range(12)]
    assert statuses[:10] == [400] * 10
    assert statuses[10:] == [429, 429]
    # Even the right password waits out the throttle.
    assert client.post("/api/auth/token/", {"username": "rep", "password": PASSWORD},
                       format="json").status_code == 429


def test_inactive_user_gets_no_token(org):
    org.rep.is_active = False
    org.rep.save()
    response = APIClient().post("/api/auth/token/", {"username": "rep", "password": PASSWORD}, format="json")
    assert response.status_code == 400


# --- me --------------------------------------------------------------------------------------------------

def test_me_describes_role_and_scope(org):
    response = client_for(org.manager).get("/api/me/")
    assert response.status_code == 200
    body = response.data
    assert body["username"] == "manager"
    assert body["permissions"] == codes_for_verbs(["view", "create", "change", "delete", "export", "assign"])
    assert "customers.assign_customer" in body["permissions"] and "core.manage_settings" not in body["permissions"]
    assert body["data_scope"] == "subordinates"
    assert set(body["scope"]["owner_ids"]) == {org.manager.pk, org.rep.pk, org.sub.pk, org.subsub.pk}
    assert client_for(org.admin).get("/api/me/").data["scope"]["all"] is True
    assert APIClient().get("/api/me/").status_code == 401


# --- users -------------------------------------------------------------------------------------------

def test_users_lists_assignable_users_only(org):
    names = {u["username"] for u in client_for(org.manager).get("/api/users/").data["results"]}
    assert names == {"manager", "rep", "sub", "subsub"}
    names = {u["username"] for u in client_for(org.rep).get("/api/users/?page_size=200").data["results"]}
    assert names == {"rep"}
    assert client_for(org.rep).get(f"/api/users/{org.sh_rep.pk}/").status_code == 404
    everyone = client_for(org.ceo).get("/api/users/?page_size=200").data
    assert everyone["count"] == User.objects.count()
    assert "password" not in everyone["results"][0]


def test_users_write_needs_manage_settings(org):
    payload = {"username": "newbie", "full_name": "新人", "org_unit": org.bj1.pk, "password": "Long-Pass-2024!"}
    assert client_for(org.manager).post("/api/users/", payload, format="json").status_code == 403
    assert client_for(org.manager).patch(f"/api/users/{org.rep.pk}/", {"full_name": "x"},
                                         format="json").status_code == 403
    assert not User.objects.filter(username="newbie").exists()
    response = client_for(org.ceo).post("/api/users/", payload, format="json")
    assert response.status_code == 201, response.data
    user = User.objects.get(username="newbie")
    assert user.check_password("Long-Pass-2024!") and user.org_unit == org.bj1
    assert client_for(org.ceo).delete(f"/api/users/{user.pk}/").status_code == 405


@pytest.mark.parametrize(("payload", "field"), [
    ({"username": "rep"}, "username"),
    ({"username": "weak", "password": "123"}, "password"),
    ({"username": "loop", "manager": 987654}, "manager"),
    ({"username": "boss", "is_superuser": True}, "is_superuser"),
])
def test_user_validation(org, payload, field):
    response = client_for(org.ceo).post("/api/users/", payload, format="json")
    assert response.status_code == 400 and field in response.data, response.data


def test_user_manager_loop_is_refused(org):
    response = client_for(org.ceo).patch(f"/api/users/{org.manager.pk}/", {"manager": org.subsub.pk},
                                         format="json")
    assert response.status_code == 400 and "manager" in response.data
    org.manager.refresh_from_db()
    assert org.manager.manager_id is None


# --- units and roles -----------------------------------------------------------------------------------

def test_units_tree_read_by_all_written_by_admins(org):
    response = client_for(org.rep).get("/api/units/")
    assert response.status_code == 200
    assert [u["name"] for u in response.data][:2] == ["总部", "北京分公司"]
    assert client_for(org.rep).post("/api/units/", {"name": "x", "kind": "team", "parent": org.bj.pk},
                                     format="json").status_code == 403
    response = client_for(org.ceo).post("/api/units/", {"name": "北京三组", "kind": "team", "parent": org.bj.pk},
                                        format="json")
    assert response.status_code == 201, response.data
    unit = OrgUnit.objects.get(name="北京三组")
    assert unit.path == f"{org.bj.path}{unit.pk}/"
    response = client_for(org.ceo).patch(f"/api/units/{org.bj.pk}/", {"parent": org.tj1.pk}, format="json")
    assert response.status_code == 400 and "parent" in response.data
    assert client_for(org.ceo).delete(f"/api/units/{org.bj1.pk}/").status_code == 400
    assert client_for(org.ceo).delete(f"/api/units/{unit.pk}/").status_code == 204


def test_roles_need_manage_settings(org):
    assert client_for(org.manager).get("/api/roles/").status_code == 403
    ceo = client_for(org.ceo)
    assert ceo.get("/api/roles/").status_code == 200
    response = ceo.post("/api/roles/", {"name": "客服", "permissions": ["sales.view_order", "customers.view_customer"],
                                       "data_scope": "team"}, format="json")
    assert response.status_code == 201, response.data
    assert response.data["permissions"] == ["customers.view_customer", "sales.view_order"]  # registry order
    assert Role.objects.get(name="客服").permissions == ["customers.view_customer", "sales.view_order"]
    for bad in (["fly"], ["view"], "customers.view_customer"):
        response = ceo.post("/api/roles/", {"name": "坏角色", "permissions": bad}, format="json")
        assert response.status_code == 400 and "permissions" in response.data, bad
    role = Role.objects.get(name="客服")
    response = ceo.patch(f"/api/roles/{role.pk}/", {"data_scope": "everything"}, format="json")
    assert response.status_code == 400 and "data_scope" in response.data


def test_deleting_a_unit_that_still_holds_customers_is_400(org):
    CustomerFactory(name="二组客户", owner=None, branch=org.bj2)
    org.other_team_rep.org_unit = org.bj1
    org.other_team_rep.save()
    response = client_for(org.ceo).delete(f"/api/units/{org.bj2.pk}/")
    assert response.status_code == 400 and response.data["non_field_errors"]
    assert OrgUnit.objects.filter(pk=org.bj2.pk).exists()
