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


def test_the_service_refuses_a_password_that_breaks_the_rules(org, rep_token):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        services.set_password(org.rep, "12345678", actor=org.rep, reason=PasswordEvent.CHANGED)
    assert set(refused.value.message_dict) == {"password"}
    assert "This password is entirely numeric." in refused.value.message_dict["password"]
    with pytest.raises(ValidationError) as refused:
        services.save_user(org.rep, actor=org.admin, password="rep")
    assert set(refused.value.message_dict) == {"password"}
    org.rep.refresh_from_db()
    assert org.rep.check_password(PASSWORD) and token_works(rep_token)
    assert password_events(org.rep) == []


def test_changepassword_command_keeps_asking_until_the_password_meets_the_rules(org):
    from django.core.management.base import CommandError

    stderr = mock.MagicMock()
    with mock.patch("getpass.getpass", side_effect=["12345678", "12345678", NEW, NEW]):
        call_command("changepassword", "rep", stdout=mock.MagicMock(), stderr=stderr)
    assert "This password is entirely numeric." in str(stderr.write.call_args_list)
    org.rep.refresh_from_db()
    assert org.rep.check_password(NEW)
    with mock.patch("getpass.getpass", return_value="12345678"), pytest.raises(CommandError):
        call_command("changepassword", "rep", stdout=mock.MagicMock(), stderr=mock.MagicMock())
    org.rep.refresh_from_db()
    assert org.rep.check_password(NEW)


def test_createsuperuser_without_prompts_meets_the_password_rules(db, monkeypatch):
    from django.core.management.base import CommandError

    from crm.accounts.models import User

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "12345678")
    with pytest.raises(CommandError, match="entirely numeric"):
        call_command("createsuperuser", "--noinput", "--username", "root", "--email", "root@example.com",
                     stdout=mock.MagicMock())
    assert not User.objects.filter(username="root").exists()
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", NEW)
    call_command("createsuperuser", "--noinput", "--username", "root", "--email", "root@example.com",
                 stdout=mock.MagicMock())
    assert User.objects.get(username="root").check_password(NEW)


# --- reset by e-mail ------------------------------------------------------------------------------------
@pytest.fixture
def fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _reset_link(message):
    import re

    return re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)


def test_login_page_links_to_the_password_reset(client, db):
    assert reverse("accounts:password_reset") in client.get(reverse("login")).content.decode()


def test_reset_by_email_sets_a_new_password_once(client, org, rep_token, mailoutbox, fresh_cache):
    response = client.post(reverse("accounts:password_reset"), {"email": "REP@example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_reset_done")
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["rep@example.com"]
    link = _reset_link(mailoutbox[0])
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    set_url = form_page.redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_reset_complete")
    org.rep.refresh_from_db()
    assert org.rep.check_password(NEW)
    assert not token_works(rep_token)
    assert password_events(org.rep) == [[None, PasswordEvent.RESET_BY_EMAIL]]
    # The link works once.
    again = client.get(link, follow=True)
    assert again.context["validlink"] is False
    assert 'data-testid="reset-link-invalid"' in again.content.decode()


def test_reset_with_a_weak_password_is_a_form_error(client, org, mailoutbox, fresh_cache):
    client.post(reverse("accounts:password_reset"), {"email": "rep@example.com"})
    set_url = client.get(_reset_link(mailoutbox[0]), follow=True).redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": "123", "new_password2": "123"})
    assert response.status_code == 400 and response.context["form"].errors["new_password2"]
    org.rep.refresh_from_db()
    assert org.rep.check_password(PASSWORD)


def test_reset_link_expires(client, org, mailoutbox, settings, fresh_cache):
    client.post(reverse("accounts:password_reset"), {"email": "rep@example.com"})
    settings.PASSWORD_RESET_TIMEOUT = -1
    response = client.get(_reset_link(mailoutbox[0]), follow=True)
    assert response.context["validlink"] is False


def test_reset_does_not_reveal_whether_an_address_exists(client, org, mailoutbox, fresh_cache):
    known = client.post(reverse("accounts:password_reset"), {"email": "rep@example.com"})
    unknown = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert len(mailoutbox) == 1
    assert client.post(reverse("accounts:password_reset"), {"email": "not an address"}).status_code == 400


def test_reset_requests_are_throttled_per_address_and_per_account(client, org, mailoutbox, settings, fresh_cache):
    settings.CRM_PASSWORD_RESET_LIMIT = 2
    url = reverse("accounts:password_reset")
    statuses = [client.post(url, {"email": "rep@example.com"}).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert len(mailoutbox) == 2
    # Another client address may ask for another account, but not for this one any more.
    assert client.post(url, {"email": "teammate@example.com"}, REMOTE_ADDR="10.0.0.9").status_code == 302
    assert client.post(url, {"email": "rep@example.com"}, REMOTE_ADDR="10.0.0.8").status_code == 429
    # The same client address is throttled for any address, known or not, with the same answer.
    for _ in range(2):
        client.post(url, {"email": f"x{_}@example.com"}, REMOTE_ADDR="10.0.0.7")
    assert client.post(url, {"email": "nobody@example.com"}, REMOTE_ADDR="10.0.0.7").status_code == 429
    assert client.post(url, {"email": "sh_rep@example.com"}, REMOTE_ADDR="10.0.0.7").status_code == 429


def test_reset_lifts_a_login_lock_out(client, org, mailoutbox, settings, fresh_cache):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "rep", "password": "wrong"})
    assert client.post(reverse("login"), {"username": "rep", "password": PASSWORD}).status_code == 429
    client.post(reverse("accounts:password_reset"), {"email": "rep@example.com"})
    set_url = client.get(_reset_link(mailoutbox[0]), follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": NEW, "new_password2": NEW})
    assert client.post(reverse("login"), {"username": "rep", "password": NEW}).status_code == 302


# --- an administrator's reset: a temporary password, changed at the next log-in ---------------------------------
def test_admin_reset_page_shows_a_temporary_password_once(client, org, rep_token):
    client.force_login(org.admin)
    assert 'data-testid="user-reset-password"' in client.get(
        reverse("accounts:user_edit", args=[org.rep.pk])).content.decode()
    response = client.post(reverse("accounts:user_reset_password", args=[org.rep.pk]))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    temporary = response.context["temporary"]
    org.rep.refresh_from_db()
    assert org.rep.check_password(temporary) and org.rep.must_change_password
    assert not token_works(rep_token)
    assert password_events(org.rep) == [[None, PasswordEvent.TEMPORARY]]


def test_admin_reset_needs_manage_settings_and_is_not_for_oneself(client, org):
    client.force_login(org.manager)
    assert client.post(reverse("accounts:user_reset_password", args=[org.rep.pk])).status_code == 403
    client.force_login(org.ceo)
    response = client.post(reverse("accounts:user_reset_password", args=[org.ceo.pk]))
    assert response.status_code == 302
    assert client.get(reverse("accounts:user_reset_password", args=[org.rep.pk])).status_code == 405
    org.rep.refresh_from_db()
    org.ceo.refresh_from_db()
    assert not org.rep.must_change_password and not org.ceo.must_change_password


def test_temporary_password_forces_a_change_at_the_next_login(client, org):
    temporary = services.reset_password_by_admin(org.rep, actor=org.ceo)
    response = client.post(reverse("login"), {"username": "rep", "password": temporary}, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:password_change"))
    assert "temporary password" in response.context["intro"]
    # Every other page sends the user back; the API with this session answers 403.
    customers = client.get(reverse("customers:list"))
    assert customers.status_code == 302 and customers["Location"].startswith(reverse("accounts:password_change"))
    assert client.get("/api/me/").status_code == 403
    response = client.post(reverse("accounts:password_change"),
                           {"old_password": temporary, "new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 302
    org.rep.refresh_from_db()
    assert not org.rep.must_change_password
    assert client.get(reverse("customers:list")).status_code == 200


def test_no_api_token_for_a_temporary_password(org, fresh_cache):
    temporary = services.reset_password_by_admin(org.rep, actor=org.ceo)
    response = APIClient().post("/api/auth/token/", {"username": "rep", "password": temporary}, format="json")
    assert response.status_code == 400 and "non_field_errors" in response.data
    services.set_password(org.rep, NEW, actor=org.rep, reason=PasswordEvent.CHANGED)
    response = APIClient().post("/api/auth/token/", {"username": "rep", "password": NEW}, format="json")
    assert response.status_code == 200 and token_works(response.data["token"])


def test_api_admin_reset(org, rep_token):
    url = f"/api/users/{org.rep.pk}/reset-password/"
    assert _api_as(org.manager).post(url).status_code == 403
    response = _api_as(org.ceo).post(url)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    org.rep.refresh_from_db()
    assert org.rep.check_password(response.data["temporary_password"]) and org.rep.must_change_password
    assert not token_works(rep_token)
    assert _api_as(org.ceo).get(f"/api/users/{org.rep.pk}/").data["must_change_password"] is True
    assert _api_as(org.ceo).post(f"/api/users/{org.ceo.pk}/reset-password/").status_code == 400
    assert _api_as(org.ceo).post("/api/users/987654/reset-password/").status_code == 404
