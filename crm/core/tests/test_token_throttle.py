"""The token endpoint slows guessing per account and address, as the log-in page does (django-axes),
and per address over all accounts; a locked-out caller gets 429 with ``Retry-After``."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Secret-123"  # what the user factory sets
OFFICE = "203.0.113.7"      # one address for a whole office behind NAT


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


def token(username, password, address=OFFICE):
    return APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json",
                            REMOTE_ADDR=address)


def login_page(client, username, password, address=OFFICE):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(username, times, address=OFFICE):
    return [token(username, f"guess{i}", address).status_code for i in range(times)]


def test_locked_out_account_gets_429_with_retry_after_even_with_the_right_password(org):
    # the failure that reaches the limit already answers 429, as the log-in page does
    assert fail("rep", settings.AXES_FAILURE_LIMIT) == [400] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    response = token("rep", PASSWORD)
    assert response.status_code == 429
    assert "detail" in response.json()
    assert 0 < int(response["Retry-After"]) <= settings.AXES_COOLOFF_TIME * 3600
    assert not Token.objects.exists()


def test_one_persons_typos_do_not_lock_out_colleagues_at_the_same_address(org):
    fail("rep", 12)  # past the lock-out and the old per-address limit of 10 a minute
    assert token("teammate", PASSWORD).status_code == 200
    assert token("manager", PASSWORD).status_code == 200
    # the same account from another address is not locked either (as on the log-in page)
    assert token("rep", PASSWORD, address="198.51.100.9").status_code == 200


def test_token_endpoint_and_log_in_page_share_the_lock_out(org, client):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login_page(client, "rep", "wrong")
    assert token("rep", PASSWORD).status_code == 429
    fail("teammate", settings.AXES_FAILURE_LIMIT)
    assert login_page(client, "teammate", PASSWORD).status_code == 429


def test_one_address_trying_many_accounts_is_throttled(org, settings):
    settings.AXES_ENABLED = False  # measure the address throttle on its own
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth_token_address": "5/min"}}
    statuses = [token(f"user{i}", "guess").status_code for i in range(6)]
    assert statuses == [400] * 5 + [429]
    response = token("rep", PASSWORD)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert token("rep", PASSWORD, address="198.51.100.9").status_code == 200
