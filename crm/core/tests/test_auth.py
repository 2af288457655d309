"""Log-in: throttled after repeated failures, session key rotated, idle timeout configured."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


def login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_login_with_good_password_redirects_and_rotates_session(org, client):
    client.get(reverse("login"))
    client.session["probe"] = 1
    before = client.session.session_key
    response = login(client, "rep", "pw-Secret-123")
    assert response.status_code == 302
    assert client.session.session_key != before
    assert client.session.get("_auth_user_id") == str(org.rep.pk)


def _login_error(response):
    found = re.search(rb'<div class="form-errors" role="alert">(.*?)</div>', response.content, re.S)
    return found and found.group(1)


def test_wrong_password_shows_error_without_saying_which_part(org, client):
    # "username" alone is on every log-in page (the field's name): the error must be there, and the same
    # whether the user exists or not.
    response = login(client, "rep", "wrong")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    wrong_password = _login_error(response)
    assert wrong_password and b"username and password" in wrong_password
    assert _login_error(login(client, "nobody-here", "wrong")) == wrong_password


def test_repeated_failures_lock_the_account_for_that_address(org, client):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "rep", "wrong")
    response = login(client, "rep", "pw-Secret-123")  # even the right password is refused now
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # another user from the same address is not locked out
    assert login(client, "teammate", "pw-Secret-123").status_code == 302


def test_idle_timeout_settings():
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert 0 < settings.SESSION_COOKIE_AGE <= 8 * 3600


def test_pages_need_login(client):
    response = client.get("/")
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_csp_header_forbids_inline_script(org, client):
    response = client.get(reverse("login"))
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
