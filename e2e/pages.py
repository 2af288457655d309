"""Page objects: what a test may do on each page, in the user's terms.

Selectors prefer ``data-testid`` attributes, then roles and form field ids, never visible text
alone (the UI switches between Chinese and English).  URLs come from the URL names, so a changed
path does not break the tests.
"""

from django.urls import reverse
from playwright.sync_api import Page, expect


class BasePage:
    """The layout every page shares: header, language switch, current user, messages."""

    url_name = None

    def __init__(self, page: Page):
        self.page = page

    def url(self, *args, **kwargs):
        return reverse(self.url_name, args=args or None, kwargs=kwargs or None)

    def open(self, *args, **kwargs):
        self.page.goto(self.url(*args, **kwargs))
        return self

    @property
    def html_lang(self):
        return self.page.locator("html").get_attribute("lang")

    @property
    def whoami(self):
        return self.page.get_by_test_id("whoami")

    def language_button(self, code):
        return self.page.get_by_test_id(f"lang-{code}")

    def switch_language(self, code):
        with self.page.expect_navigation():
            self.language_button(code).click()
        expect(self.page.locator("html")).to_have_attribute("lang", code)
        return self

    def log_out(self):
        with self.page.expect_navigation():
            self.page.locator("form[action$='/logout/'] button[type=submit]").click()
        return LoginPage(self.page)

    @property
    def messages(self):
        return self.page.locator("ul.messages li")


class LoginPage(BasePage):
    url_name = "login"

    @property
    def username(self):
        return self.page.locator("#id_username")

    @property
    def password(self):
        return self.page.locator("#id_password")

    @property
    def error(self):
        return self.page.locator("main form [role=alert]")

    def submit(self, username, password):
        self.username.fill(username)
        self.password.fill(password)
        with self.page.expect_navigation():
            self.page.locator("main form button[type=submit]").click()
        return self

    def log_in(self, username, password):
        """Log in and land on the page after it (the customer list by default)."""
        self.submit(username, password)
        expect(self.whoami).to_be_visible()
        return CustomerListPage(self.page)


class CustomerListPage(BasePage):
    url_name = "customers:list"
