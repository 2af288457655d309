"""Switching the interface language with the buttons in the page header."""

import re

import pytest
from django.utils import translation
from playwright.sync_api import expect

from e2e.pages import BasePage, LoginPage

pytestmark = pytest.mark.e2e

CURRENT = re.compile(r"\bcurrent\b")


def zh(text):
    """The Chinese catalogue's translation of ``text`` (the text itself while it is untranslated)."""
    with translation.override("zh-hans"):
        return translation.gettext(text)


def test_switch_to_chinese_and_back(org, login):
    page = login("rep")
    screen = BasePage(page)
    nav_customers = page.locator("nav.mainnav a").first
    assert screen.html_lang == "en"
    expect(screen.language_button("en")).to_have_class(CURRENT)
    expect(nav_customers).to_have_text("Customers")

    screen.switch_language("zh-hans")

    expect(screen.language_button("zh-hans")).to_have_class(CURRENT)
    expect(screen.language_button("en")).not_to_have_class(CURRENT)
    expect(nav_customers).to_have_text(zh("Customers"))
    # The choice is remembered for the following pages.
    page.reload()
    assert screen.html_lang == "zh-hans"

    screen.switch_language("en")

    expect(screen.language_button("en")).to_have_class(CURRENT)
    expect(screen.language_button("zh-hans")).not_to_have_class(CURRENT)
    expect(nav_customers).to_have_text("Customers")


def test_log_in_page_switches_before_logging_in(page, live_server):
    login = LoginPage(page).open()
    assert login.html_lang == "en"

    login.switch_language("zh-hans")

    expect(login.language_button("zh-hans")).to_have_class(CURRENT)
    expect(page.locator("main h1")).to_have_text(zh("Log in"))
    expect(login.username).to_be_visible()
