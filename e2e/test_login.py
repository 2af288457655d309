"""Logging in through the real form (django-axes in front of the model backend)."""

import pytest
from playwright.sync_api import expect

from e2e.pages import LoginPage

pytestmark = pytest.mark.e2e


@pytest.fixture
def rep(org):
    return org.rep


def test_log_in_lands_on_the_customer_list(page, rep):
    customers = LoginPage(page).open().log_in("rep", "pw-Secret-123")

    expect(customers.whoami).to_have_text(rep.display_name)
    assert page.url.endswith(customers.url())


def test_wrong_password_shows_an_error_and_keeps_the_username(page, rep):
    login = LoginPage(page).open().submit("rep", "not-the-password")

    expect(login.error).to_be_visible()
    expect(login.username).to_have_value("rep")
    expect(login.whoami).to_have_count(0)


def test_anonymous_visitor_is_sent_to_the_log_in_form(page, rep):
    from e2e.pages import CustomerListPage

    CustomerListPage(page).open()

    expect(LoginPage(page).username).to_be_visible()
    assert "/login/" in page.url
