"""Forgotten password by e-mail, an administrator's reset, and two-factor log-in, in a real browser."""

import re
import time

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from e2e.pages import (
    LoginPage,
    PasswordChangePage,
    SetPasswordPage,
    TwoFactorPage,
    TwoFactorVerifyPage,
    UserAdminPage,
)

pytestmark = pytest.mark.e2e

NEW = "Brand-New-Pass-2024"


def code_for(device, steps_ahead=0):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def test_forgotten_password_by_email_link(page, org, mailoutbox):
    LoginPage(page).open().forgot_password().ask_for_link("rep@example.com")

    assert len(mailoutbox) == 1
    link = re.search(r"https?://\S+", mailoutbox[0].body).group(0)
    page.goto(link)
    SetPasswordPage(page).set_password(NEW)
    with page.expect_navigation():
        page.get_by_test_id("link-login").click()

    customers = LoginPage(page).log_in("rep", NEW)
    expect(customers.whoami).to_have_text(org.rep.display_name)


def test_admin_reset_forces_a_change_at_the_next_login(login, new_context, org):
    admin_page = login("ceo")
    users = UserAdminPage(admin_page).open().edit("rep")
    temporary = users.reset_password()
    assert temporary

    page = new_context().new_page()
    LoginPage(page).open().submit("rep", temporary)
    change = PasswordChangePage(page)
    expect(change.page.get_by_test_id("password-change-form")).to_be_visible()
    assert "/accounts/password/" in page.url
    change.page.goto("/customers/")  # any other page sends the user back
    assert "/accounts/password/" in page.url
    change.change(temporary, NEW)
    expect(change.whoami).to_be_visible()
    expect(change.messages.first).to_be_visible()
    page.goto("/customers/")
    assert page.url.endswith("/customers/")


def test_enrol_two_factor_then_log_in_with_a_code(login, new_context, org):
    page = login("rep")
    page.get_by_test_id("whoami").click()
    with page.expect_navigation():
        page.get_by_test_id("link-two-factor").click()
    two_factor = TwoFactorPage(page)
    expect(two_factor.qr_code).to_be_visible()
    device = TOTPDevice.objects.get(user=org.rep, confirmed=False)
    two_factor.switch_on(code_for(device))
    expect(two_factor.messages.first).to_be_visible()
    two_factor.log_out()

    page = new_context().new_page()
    LoginPage(page).open().submit("rep", "pw-Secret-123")
    assert "/accounts/two-factor/verify/" in page.url
    verify = TwoFactorVerifyPage(page)
    verify.enter("000000")
    expect(page.get_by_test_id("error-code")).to_be_visible()
    time.sleep(1.1)  # django-otp makes the next attempt wait after a wrong code
    device.refresh_from_db()
    verify.enter(code_for(device, 1))
    expect(verify.whoami).to_have_text(org.rep.display_name)
    assert "/customers/" in page.url
