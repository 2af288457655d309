"""Two-factor log-in (TOTP): enrolment, the code step after the password, tokens, the admin requirement."""

import time

import pytest
from django.core.cache import cache
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from crm.accounts import services
from crm.core.models import AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Secret-123"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def code_for(device, steps_ahead=0):
    """The code the app shows now (or ``steps_ahead`` periods later: a code is accepted only once)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def enrol(user):
    device = services.start_two_factor(user)
    assert services.confirm_two_factor(user, code_for(device), actor=user) is not None
    device.refresh_from_db()
    return device


def test_enrolment_page_shows_a_qr_code_drawn_here_and_confirms_with_a_code(client, org, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no waiting after the wrong code below
    client.force_login(org.rep)
    page = client.get(reverse("accounts:two_factor"))
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert page.context["qr"].startswith("data:image/svg+xml;base64,")
    device = TOTPDevice.objects.get(user=org.rep, confirmed=False)
    assert page.context["secret"].replace(" ", "") in device.config_url
    # A reload keeps the same secret (the app may have scanned it already).
    assert client.get(reverse("accounts:two_factor")).context["secret"] == page.context["secret"]
    wrong = client.post(reverse("accounts:two_factor"), {"code": "000000"})
    assert wrong.status_code == 400 and wrong.context["form"].errors["code"]
    assert client.post(reverse("accounts:two_factor"), {"code": "abc"}).status_code == 400
    response = client.post(reverse("accounts:two_factor"), {"code": code_for(device)})
    assert response.status_code == 302
    assert services.has_two_factor(org.rep)
    assert AuditEntry.objects.filter(object_id=str(org.rep.pk), changes__two_factor=[None, "enabled"]).exists()
    # This session counts as verified: no code asked now.
    assert client.get(reverse("customers:list")).status_code == 200


def test_login_asks_for_the_code_after_the_password(client, org, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    device = enrol(org.rep)
    response = client.post(reverse("login"), {"username": "rep", "password": PASSWORD})
    assert response.status_code == 302
    customers = client.get(reverse("customers:list"))
    assert customers.status_code == 302 and customers["Location"].startswith(reverse("accounts:two_factor_verify"))
    assert client.get("/api/me/").status_code == 403  # the API with this session waits too
    assert client.post(reverse("accounts:two_factor_verify"), {"code": "123456"}).status_code == 400
    response = client.post(reverse("accounts:two_factor_verify"),
                           {"code": code_for(device, 1), "next": reverse("customers:list")})
    assert response.status_code == 302 and response["Location"] == reverse("customers:list")
    assert client.get(reverse("customers:list")).status_code == 200


def test_too_many_wrong_codes_end_the_session(client, org, settings):
    enrol(org.rep)
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # measure the page's own limit, not django-otp's delays
    client.post(reverse("login"), {"username": "rep", "password": PASSWORD})
    for _ in range(4):
        assert client.post(reverse("accounts:two_factor_verify"), {"code": "000000"}).status_code == 400
    response = client.post(reverse("accounts:two_factor_verify"), {"code": "000000"})
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_user_switches_two_factor_off_with_a_code(client, org):
    device = enrol(org.rep)
    client.force_login(org.rep)
    client.post(reverse("accounts:two_factor_verify"), {"code": code_for(device, 1)})
    assert client.post(reverse("accounts:two_factor"), {"code": "000000"}).status_code == 400
    assert services.has_two_factor(org.rep)
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1, throttling_failure_count=0)
    assert client.post(reverse("accounts:two_factor"), {"code": code_for(device)}).status_code == 302
    assert not services.has_two_factor(org.rep)


def test_admin_switches_a_users_two_factor_off(client, org):
    enrol(org.rep)
    client.force_login(org.ceo)
    page = client.get(reverse("accounts:user_edit", args=[org.rep.pk]))
    assert 'data-testid="user-remove-two-factor"' in page.content.decode()
    assert client.post(reverse("accounts:user_remove_two_factor", args=[org.rep.pk])).status_code == 302
    assert not services.has_two_factor(org.rep)
    client.force_login(org.manager)
    assert client.post(reverse("accounts:user_remove_two_factor", args=[org.rep.pk])).status_code == 403


def test_setting_requires_two_factor_for_administrators(client, org, settings):
    settings.CRM_REQUIRE_2FA_FOR_ADMINS = True
    client.force_login(org.ceo)
    response = client.get(reverse("customers:list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:two_factor"))
    page = client.get(reverse("accounts:two_factor"))
    assert page.context["required"]
    device = TOTPDevice.objects.get(user=org.ceo, confirmed=False)
    client.post(reverse("accounts:two_factor"), {"code": code_for(device)})
    assert client.get(reverse("customers:list")).status_code == 200
    # Required: it cannot be switched off by the administrator themselves.
    device.refresh_from_db()
    response = client.post(reverse("accounts:two_factor"), {"code": code_for(device, 1)})
    assert response.status_code == 400 and response.context["form"].non_field_errors()
    assert services.has_two_factor(org.ceo)
    # A sales rep is not an administrator: not asked.
    client.force_login(org.rep)
    assert client.get(reverse("customers:list")).status_code == 200


# --- API tokens -----------------------------------------------------------------------------------------
def test_token_needs_the_code_when_the_user_has_two_factor(org):
    device = enrol(org.rep)
    url = "/api/auth/token/"
    response = APIClient().post(url, {"username": "rep", "password": PASSWORD}, format="json")
    assert response.status_code == 400 and "otp" in response.data
    response = APIClient().post(url, {"username": "rep", "password": PASSWORD, "otp": "12ab"}, format="json")
    assert response.status_code == 400 and "otp" in response.data
    device.refresh_from_db()
    device.throttle_reset()
    response = APIClient().post(url, {"username": "rep", "password": PASSWORD, "otp": code_for(device, 1)},
                                format="json")
    assert response.status_code == 200 and response.data["token"]


def test_token_refused_to_an_administrator_who_must_enrol_first(org, settings):
    settings.CRM_REQUIRE_2FA_FOR_ADMINS = True
    response = APIClient().post("/api/auth/token/", {"username": "ceo", "password": PASSWORD}, format="json")
    assert response.status_code == 400 and "non_field_errors" in response.data
    response = APIClient().post("/api/auth/token/", {"username": "rep", "password": PASSWORD}, format="json")
    assert response.status_code == 200


def test_the_token_page_links_to_two_factor(client, org):
    client.force_login(org.rep)
    assert reverse("accounts:two_factor") in client.get(reverse("accounts:token")).content.decode()


def test_a_wrong_code_makes_the_next_attempt_wait(client, org):
    device = enrol(org.rep)
    client.post(reverse("login"), {"username": "rep", "password": PASSWORD})
    client.post(reverse("accounts:two_factor_verify"), {"code": "000000"})
    # django-otp's throttle: right after a failure even the right code is refused for a moment.
    response = client.post(reverse("accounts:two_factor_verify"), {"code": code_for(device, 1)})
    assert response.status_code == 400
