"""Passwords: every way a password changes, or an account is deactivated, revokes the API token."""

from unittest import mock

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.accounts import services
from crm.accounts.choices import PasswordEvent
from crm.core.models import AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Secret-123"  # what the user factory sets
NEW = "Brand-New-Pass-2024"


@pytest.fixture
def rep_token(org):
    return Token.objects.create(user=org.rep).key


def token_works(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/me/").status_code == 200


def password_events(user):
    return list(AuditEntry.objects.filter(object_id=str(user.pk), changes__has_key="password")
                .values_list("changes__password", flat=True))


# --- the user's own change page -------------------------------------------------------------------------
def test_own_password_change_revokes_the_token_and_keeps_this_session(client, org, rep_token):
    client.force_login(org.rep)
    url = reverse("accounts:password_change")
    assert client.get(url).status_code == 200
    response = client.post(url, {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 302
    org.rep.refresh_from_db()
    assert org.rep.check_password(NEW)
    assert not token_works(rep_token)
    assert client.get(reverse("accounts:token")).status_code == 200  # still logged in here
    assert password_events(org.rep) == [[None, PasswordEvent.CHANGED]]


def test_own_password_change_needs_the_current_password(client, org, rep_token):
    client.force_login(org.rep)
    response = client.post(reverse("accounts:password_change"),
                           {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 400 and response.context["form"].errors["old_password"]
    response = client.post(reverse("accounts:password_change"),
                           {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"})
    assert response.status_code == 400 and response.context["form"].errors["new_password2"]
    assert token_works(rep_token)


def test_own_password_change_needs_login(client):
    response = client.get(reverse("accounts:password_change"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_token_page_links_to_the_password_change(client, org):
    client.force_login(org.rep)
    assert reverse("accounts:password_change") in client.get(reverse("accounts:token")).content.decode()


# --- an administrator's edit through the pages ------------------------------------------------------------
def _edit_data(user, **overrides):
    data = {"username": user.username, "full_name": user.full_name, "email": user.email, "phone": "",
            "org_unit": user.org_unit_id or "", "manager": user.manager_id or "", "role": user.role_id or "",
            "is_active": "on", "password1": "", "password2": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_admin_page_new_password_revokes_the_token(client, org, rep_token):
    client.force_login(org.admin)
    response = client.post(reverse("accounts:user_edit", args=[org.rep.pk]),
                           _edit_data(org.rep, password1=NEW, password2=NEW))
    assert response.status_code == 302
    assert not token_works(rep_token)
    assert password_events(org.rep) == [[None, PasswordEvent.SET_BY_ADMIN]]


def test_admin_page_edit_without_password_keeps_the_token(client, org, rep_token):
    client.force_login(org.admin)
    response = client.post(reverse("accounts:user_edit", args=[org.rep.pk]), _edit_data(org.rep, full_name="新名"))
    assert response.status_code == 302
    assert token_works(rep_token)


def test_admin_page_deactivation_revokes_the_token_for_good(client, org, rep_token):
    client.force_login(org.admin)
    client.post(reverse("accounts:user_edit", args=[org.rep.pk]), _edit_data(org.rep, is_active=None))
    org.rep.refresh_from_db()
    assert not org.rep.is_active
    client.post(reverse("accounts:user_edit", args=[org.rep.pk]), _edit_data(org.rep))  # back again
    assert not token_works(rep_token)


# --- the API --------------------------------------------------------------------------------------------
def _api_as(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_password_change_revokes_the_token(org, rep_token):
    response = _api_as(org.ceo).patch(f"/api/users/{org.rep.pk}/", {"password": NEW}, format="json")
    assert response.status_code == 200, response.data
    assert not token_works(rep_token)


def test_api_deactivation_revokes_the_token_for_good(org, rep_token):
    assert _api_as(org.ceo).patch(f"/api/users/{org.rep.pk}/", {"is_active": False}, format="json").status_code == 200
    assert _api_as(org.ceo).patch(f"/api/users/{org.rep.pk}/", {"is_active": True}, format="json").status_code == 200
    assert not token_works(rep_token)


def test_api_other_changes_keep_the_token(org, rep_token):
    assert _api_as(org.ceo).patch(f"/api/users/{org.rep.pk}/", {"full_name": "x"}, format="json").status_code == 200
    assert token_works(rep_token)


# --- the Django admin -----------------------------------------------------------------------------------
def test_django_admin_password_form_revokes_the_token(client, org, rep_token):
    client.force_login(org.admin)
    url = reverse("admin:auth_user_password_change", args=[org.rep.pk])
    response = client.post(url, {"password1": NEW, "password2": NEW, "usable_password": "true"})
    assert response.status_code == 302
    org.rep.refresh_from_db()
    assert org.rep.check_password(NEW)
    assert not token_works(rep_token)
    entry = AuditEntry.objects.filter(object_id=str(org.rep.pk), changes__has_key="password").get()
    assert entry.actor == org.admin


def test_django_admin_deactivation_revokes_the_token(client, org, rep_token):
    client.force_login(org.admin)
    data = {"username": "rep", "full_name": org.rep.full_name, "email": "", "phone": "", "org_unit": org.bj1.pk,
            "manager": org.manager.pk, "role": org.rep.role_id, "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00", "first_name": "", "last_name": ""}  # is_active left out: cleared
    response = client.post(reverse("admin:accounts_user_change", args=[org.rep.pk]), data)
    assert response.status_code == 302
    org.rep.refresh_from_db()
    assert not org.rep.is_active
    assert not Token.objects.filter(user=org.rep).exists()


# --- the changepassword command and the service itself --------------------------------------------------------
def test_changepassword_command_revokes_the_token(org, rep_token):
    with mock.patch("getpass.getpass", return_value=NEW):
        call_command("changepassword", "rep", stdout=mock.MagicMock())
    org.rep.refresh_from_db()
    assert org.rep.check_password(NEW)
    assert not token_works(rep_token)
    assert password_events(org.rep) == [[None, PasswordEvent.COMMAND]]


def test_set_password_for_someone_else_needs_manage_settings(org, rep_token):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.set_password(org.rep, NEW, actor=org.manager, reason=PasswordEvent.SET_BY_ADMIN)
    with pytest.raises(PermissionDenied):  # a superuser's password only by a superuser
        services.set_password(org.admin, NEW, actor=org.ceo, reason=PasswordEvent.SET_BY_ADMIN)
    assert token_works(rep_token)
