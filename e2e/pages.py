"""Page objects: what a test may do on each page, in the user's terms.

Selectors prefer ``data-testid`` attributes, then roles and form field ids, never visible text
alone (the UI switches between Chinese and English).  URLs come from the URL names, so a changed
path does not break the tests.
"""

from urllib.parse import parse_qs, urlsplit

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

    def forgot_password(self):
        with self.page.expect_navigation():
            self.page.get_by_test_id("link-forgot-password").click()
        return PasswordResetPage(self.page)


class SimpleFormPage(BasePage):
    """The one-form pages of accounts (password pages, the two-factor code): fill fields, submit."""

    def fill(self, **values):
        for name, value in values.items():
            self.page.get_by_test_id(name.replace("_", "-")).fill(value)
        return self

    def submit(self):
        with self.page.expect_navigation():
            self.page.get_by_test_id("form-submit").click()
        return self


class PasswordResetPage(SimpleFormPage):
    url_name = "accounts:password_reset"

    def ask_for_link(self, email):
        self.page.get_by_test_id("reset-email").fill(email)
        self.submit()
        expect(self.page.get_by_test_id("password-reset-sent")).to_be_visible()
        return self


class SetPasswordPage(SimpleFormPage):
    """Opened from the e-mailed link."""

    def set_password(self, password):
        self.fill(new_password1=password, new_password2=password).submit()
        expect(self.page.get_by_test_id("password-reset-complete")).to_be_visible()
        return self


class PasswordChangePage(SimpleFormPage):
    url_name = "accounts:password_change"

    def change(self, old, new):
        return self.fill(old_password=old, new_password1=new, new_password2=new).submit()


class TwoFactorPage(BasePage):
    url_name = "accounts:two_factor"

    @property
    def qr_code(self):
        return self.page.get_by_test_id("two-factor-qr")

    @property
    def status(self):
        return self.page.get_by_test_id("two-factor-status")

    def switch_on(self, code):
        self.page.get_by_test_id("two-factor-code").fill(code)
        with self.page.expect_navigation():
            self.page.get_by_test_id("two-factor-enable").click()
        return self


class TwoFactorVerifyPage(SimpleFormPage):
    url_name = "accounts:two_factor_verify"

    def enter(self, code):
        return self.fill(two_factor_code=code).submit()


class CustomerListPage(BasePage):
    """The customer list: search box and filters swap the result rows through htmx."""

    url_name = "customers:list"

    @property
    def search_box(self):
        return self.page.get_by_test_id("customer-search")

    @property
    def rows(self):
        return self.page.get_by_test_id("customer-results").get_by_test_id("customer-row")

    def row(self, name):
        return self.rows.filter(has=self.page.get_by_test_id("customer-name").get_by_text(name, exact=True))

    @property
    def names(self):
        return self.page.get_by_test_id("customer-results").get_by_test_id("customer-name")

    def search(self, text):
        """Type into the search box like a user and wait for htmx to answer with the matching rows."""

        def is_search_for_text(response):
            query = parse_qs(urlsplit(response.url).query)
            return response.request.headers.get("hx-request") == "true" and query.get("q") == [text]

        with self.page.expect_response(is_search_for_text):
            self.search_box.press_sequentially(text, delay=20)
        return self

    def new_customer(self):
        self.page.get_by_test_id("customer-new").click()
        expect(self.page.get_by_test_id("customer-form")).to_be_visible()
        return CustomerFormPage(self.page)

    def open_customer(self, name):
        self.row(name).get_by_test_id("customer-name").click()
        expect(self.page.get_by_test_id("customer-title")).to_have_text(name)
        return CustomerDetailPage(self.page)


class CustomerFormPage(BasePage):
    """Create or edit a customer.  Inputs are the form's fields, found by their ids."""

    url_name = "customers:create"

    def field(self, name):
        return self.page.locator(f"[data-testid=customer-form] #id_{name}")

    def field_error(self, name):
        return self.page.get_by_test_id(f"field-error-{name}")

    @property
    def errors(self):
        return self.page.locator("[data-testid=customer-form] [data-testid^=field-error-]")

    def fill(self, **values):
        for name, value in values.items():
            field = self.field(name)
            if field.evaluate("el => el.tagName") == "SELECT":
                field.select_option(value)
            else:
                field.fill(value)
        return self

    def choose_kind(self, value):
        self.page.locator(f"[data-testid=customer-form] input[name=kind][value={value}]").check()
        return self

    def submit(self):
        with self.page.expect_navigation():
            self.page.get_by_test_id("customer-submit").click()
        return self

    def save(self):
        """Submit and expect to land on the new customer's 360° page."""
        self.submit()
        expect(self.page.get_by_test_id("customer-title")).to_be_visible()
        return CustomerDetailPage(self.page)


class CustomerDetailPage(BasePage):
    """A customer's 360° page: profile, contacts (edited inline through htmx), owner and history."""

    url_name = "customers:detail"

    @property
    def title(self):
        return self.page.get_by_test_id("customer-title")

    @property
    def profile(self):
        return self.page.get_by_test_id("customer-profile")

    @property
    def phone(self):
        return self.page.get_by_test_id("customer-profile").get_by_test_id("customer-phone")

    @property
    def owner_name(self):
        return self.page.get_by_test_id("customer-owner-name")

    @property
    def ownership_history(self):
        return self.page.get_by_test_id("ownership-history")

    @property
    def timeline(self):
        return self.page.get_by_test_id("customer-timeline")

    @property
    def contacts(self):
        return self.page.get_by_test_id("contacts")

    @property
    def contact_rows(self):
        return self.contacts.get_by_test_id("contact-row")

    def contact_row(self, name):
        return self.contact_rows.filter(has=self.page.get_by_test_id("contact-name").get_by_text(name, exact=True))

    def add_contact(self, *, primary=False, **values):
        """Open the inline contact form, fill it in and save; the contacts section is swapped in place."""
        self.page.get_by_test_id("contact-add").click()
        form = self.page.get_by_test_id("contact-form")
        expect(form).to_be_visible()
        for name, value in values.items():
            form.locator(f"#id_{name}").fill(value)
        if primary:
            form.locator("#id_is_primary").check()
        form.get_by_test_id("contact-submit").click()
        expect(form).to_have_count(0)
        return self


class UserAdminPage(BasePage):
    """Administration of users: the list, and the edit form with organisation unit, manager and role."""

    url_name = "accounts:user_list"

    def row(self, username):
        return self.page.locator(f"[data-testid=user-row][data-username='{username}']")

    def edit(self, username):
        with self.page.expect_navigation():
            self.row(username).get_by_test_id("user-edit-link").click()
        expect(self.form).to_be_visible()
        return self

    @property
    def form(self):
        return self.page.get_by_test_id("user-form")

    @property
    def role(self):
        return self.page.get_by_test_id("user-role")

    def set_role(self, role):
        self.role.select_option(str(role.pk))
        return self

    def save(self):
        """Save the form and land back on the user list."""
        with self.page.expect_navigation():
            self.page.get_by_test_id("user-save").click()
        expect(self.page.get_by_test_id("user-table")).to_be_visible()
        return self

    def reset_password(self):
        """Reset the edited user's password; returns the temporary password shown once."""
        self.page.once("dialog", lambda dialog: dialog.accept())  # "Reset this user's password?"
        with self.page.expect_navigation():
            self.page.get_by_test_id("user-reset-password-button").click()
        return self.page.get_by_test_id("temporary-password").inner_text()



class PoolPage(BasePage):
    """The customer pool: claimable customers, a Claim button per row (htmx swaps the row and the cap)."""

    url_name = "customers:pool"

    @property
    def rows(self):
        return self.page.get_by_test_id("pool-row")

    def row(self, name):
        return self.rows.filter(has=self.page.get_by_test_id("pool-name").get_by_text(name, exact=True))

    @property
    def cap(self):
        return self.page.get_by_test_id("pool-cap")

    def claim(self, name):
        row = self.row(name)
        with self.page.expect_response(lambda r: "/claim/" in r.url):
            row.get_by_test_id("pool-claim").click()
        return row


class HandoverPage(BasePage):
    """Hand over a user's customers and to-dos to one person or a team."""

    url_name = "customers:handover"

    def choose_leaving_user(self, user):
        with self.page.expect_response(lambda r: "from_user=" in r.url):
            self.page.get_by_test_id("handover-from").select_option(str(user.pk))
        return self.page.get_by_test_id("handover-counts")

    def hand_over(self, *, to_user=None, to_unit=None, reason):
        if to_user is not None:
            self.page.get_by_test_id("handover-to-user").select_option(str(to_user.pk))
        if to_unit is not None:
            self.page.get_by_test_id("handover-to-unit").select_option(str(to_unit.pk))
        self.page.get_by_test_id("handover-reason").fill(reason)
        self.page.once("dialog", lambda dialog: dialog.accept())  # "Move all … now?"
        with self.page.expect_navigation():
            self.page.get_by_test_id("handover-submit").click()
        return self.page.get_by_test_id("handover-result")


def amount(text):
    """A figure as the sales pages show it ("4,474.98", "24.4%") → Decimal, to compare numbers not text."""
    from decimal import Decimal

    return Decimal(text.strip().rstrip("%").replace(",", "").replace("\u00a0", "").replace(" ", ""))


class OrderFormPage(BasePage):
    """Create or edit an order: header fields, then line rows (added through htmx, removed in the page)."""

    url_name = "sales:order_create"

    def open_for(self, customer):
        self.page.goto(f"{self.url()}?customer={customer.pk}")
        expect(self.page.get_by_test_id("order-form")).to_be_visible()
        return self

    @property
    def rows(self):
        return self.page.get_by_test_id("order-line-row")

    def add_line(self):
        """Click "Add line" and wait for htmx to append the new row; returns that row."""
        count = self.rows.count()
        with self.page.expect_response(lambda r: "/line-row/" in r.url):
            self.page.get_by_test_id("add-line").click()
        expect(self.rows).to_have_count(count + 1)
        return self.rows.nth(count)

    def fill_line(self, row, *, product=None, code=None, quantity=None, price=None, discount=None):
        """Fill one row: ``product`` is a Product chosen in the select, ``code`` typed instead."""
        if product is not None:
            row.get_by_test_id("line-product").select_option(str(product.pk))
        if code is not None:
            row.get_by_test_id("line-code").fill(code)
        for testid, value in (("line-quantity", quantity), ("line-price", price), ("line-discount", discount)):
            if value is not None:
                row.get_by_test_id(testid).fill(str(value))
        return row

    def line_error(self, row, name):
        return row.get_by_test_id(f"line-error-{name}")

    def submit(self):
        with self.page.expect_navigation():
            self.page.get_by_test_id("order-save").click()
        return self

    def save(self):
        """Save and land on the order's page."""
        self.submit()
        expect(self.page.get_by_test_id("order-totals")).to_be_visible()
        return OrderDetailPage(self.page)


class OrderDetailPage(BasePage):
    """One order: its lines with amount, cost and margin, and the order's totals."""

    url_name = "sales:order_detail"

    @property
    def lines(self):
        return self.page.get_by_test_id("order-line")

    def figure(self, testid):
        """The number shown under ``testid`` (order-total, order-cost, order-margin, order-margin-rate …)."""
        locator = self.page.get_by_test_id(testid)
        expect(locator).to_be_visible()
        return amount(locator.inner_text())


class CustomerActivityPage(CustomerDetailPage):
    """The 360° page's activity part: the log-interaction form (htmx) and the filterable timeline."""

    @property
    def interaction_form(self):
        return self.page.get_by_test_id("log-interaction-form")

    def log_interaction(self, *, kind, summary, follow_up_on=None):
        """Fill the form and submit; htmx swaps the form (with a confirmation) and the timeline."""
        form = self.interaction_form
        form.get_by_test_id("interaction-kind").select_option(kind)
        form.get_by_test_id("interaction-summary").fill(summary)
        if follow_up_on is not None:
            form.get_by_test_id("interaction-follow-up").fill(follow_up_on.isoformat())
        with self.page.expect_response(lambda r: "/interactions/new/" in r.url and r.request.method == "POST"):
            form.get_by_test_id("interaction-submit").click()
        expect(self.page.get_by_test_id("interaction-logged")).to_be_visible()
        return self

    @property
    def events(self):
        return self.page.get_by_test_id("timeline").get_by_test_id("timeline-event")

    def filter_button(self, name):
        return self.page.get_by_test_id(f"timeline-filter-{name}")

    def filter_timeline(self, name):
        """Click a kind filter ("all", "order", "interaction", …) and wait for htmx to swap the timeline."""
        with self.page.expect_response(lambda r: "/timeline/" in r.url):
            self.filter_button(name).click()
        expect(self.page.get_by_test_id("timeline")).to_have_attribute("data-kind", name)
        return self


class MyDayPage(BasePage):
    """My day: to-dos and follow-ups due, what comes up, customers about to return to the pool."""

    url_name = "activities:my_day"

    def open(self, *args, **kwargs):
        super().open(*args, **kwargs)
        expect(self.page.get_by_test_id("my-day")).to_be_visible()
        return self

    @property
    def follow_ups(self):
        return self.page.get_by_test_id("follow-ups-due").get_by_test_id("todo-row")

    def follow_up_for(self, customer_name):
        return self.follow_ups.filter(
            has=self.page.get_by_test_id("todo-customer").get_by_text(customer_name, exact=True))

    def complete(self, row):
        """Click "Done" on a to-do row; htmx replaces the row with its done state."""
        todo_id = row.get_attribute("data-todo-id")
        with self.page.expect_response(lambda r: f"/todos/{todo_id}/complete/" in r.url):
            row.get_by_test_id("todo-complete").click()
        return self.page.locator(f"[data-testid=todo-row][data-todo-id='{todo_id}']")


class AnalyticsPage(BasePage):
    """The customer value dashboard: charts and figures over the user's customers, and the refresh."""

    url_name = "analytics:dashboard"

    def chart(self, name):
        return self.page.get_by_test_id(f"chart-{name}")

    def figure(self, name):
        return self.page.get_by_test_id(f"figure-{name}")

    @property
    def customers_analysed(self):
        return self.page.get_by_test_id("analytics-customers")

    @property
    def empty_state(self):
        return self.page.get_by_test_id("analytics-empty")

    @property
    def refresh_button(self):
        return self.page.get_by_test_id("refresh-button")

    @property
    def progress(self):
        return self.page.get_by_test_id("refresh-progress")

    @property
    def done(self):
        return self.page.get_by_test_id("refresh-done")

    def open_quality(self):
        """Follow the header's link to "How good are these predictions?"."""
        self.page.get_by_test_id("quality-link-header").click()
        return QualityPage(self.page)

    def refresh(self):
        """Start a refresh; the progress bar appears in place of the button's status."""
        self.refresh_button.click()
        return self


class QualityPage(BasePage):
    """How good are these predictions: each model beside its naive guess, with a verdict per section."""

    url_name = "analytics:quality"

    def verdict(self, section):
        return self.page.get_by_test_id(f"verdict-{section}")

    def chart(self, name):
        return self.page.get_by_test_id(f"chart-quality-{name}")


class CustomerFiltersPanel:
    """The filters of the customer list, set like a user would and applied with the button."""

    def __init__(self, page: Page):
        self.page = page

    def choose(self, **values):
        for name, value in values.items():
            self.page.locator(f"[data-testid=customer-filters] #id_{name}").select_option(value)
        return self

    def apply(self):
        with self.page.expect_response(lambda r: r.request.headers.get("hx-request") == "true"):
            self.page.get_by_test_id("customer-filter-submit").click()
        return self


class RoleEditorPage(BasePage):
    """A role's form: name, customer cap, the rights grouped by app, the data scope."""

    url_name = "accounts:role_edit"

    def group(self, app_label):
        return self.page.get_by_test_id(f"role-permissions-{app_label}")

    def right(self, code):
        return self.page.get_by_test_id(f"role-permission-{code}")

    def save(self):
        """Save and land on the role list."""
        with self.page.expect_navigation():
            self.page.get_by_test_id("role-save").click()
        return self
