"""Administration pages: the organisation tree, users, roles; and each user's own API token.

Views stay thin: every change goes through ``services`` with the request's user as the actor.
"""

import base64
from base64 import b32encode

import django_otp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods
from rest_framework.authtoken.models import Token

from crm.core.middleware import client_address
from crm.core.pages import apply_validation_error
from crm.core.views import permission_required

from . import services
from .choices import DataScopeKind
from .forms import (
    SCOPE_EXPLANATIONS,
    OrgUnitForm,
    OwnPasswordChangeForm,
    ResetPasswordForm,
    ResetRequestForm,
    RoleForm,
    TwoFactorCodeForm,
    UserForm,
)
from .middleware import session_has_two_factor
from .models import OrgUnit, Role, User
from .permissions import MANAGE_USERS

USERS_PER_PAGE = 50

users_required = permission_required(MANAGE_USERS, gettext_lazy("Your role does not allow managing settings."))


def _wants_partial(request):
    return bool(request.htmx) and not request.htmx.history_restore_request


# --- Organisation tree --------------------------------------------------------------------------
@users_required
@require_GET
def unit_list(request):
    units = list(OrgUnit.objects.annotate(
        member_count=Count("members", filter=Q(members__is_active=True)),
    ).order_by("path"))
    # Members of the whole subtree: each unit adds its own count to every ancestor (ids in the path).
    totals = {u.pk: 0 for u in units}
    for unit in units:
        for ancestor_id in unit.path.strip("/").split("/"):
            if ancestor_id and int(ancestor_id) in totals:
                totals[int(ancestor_id)] += unit.member_count
    child_counts = {}
    for unit in units:
        if unit.parent_id:
            child_counts[unit.parent_id] = child_counts.get(unit.parent_id, 0) + 1
    for unit in units:
        unit.subtree_member_count = totals[unit.pk]
        unit.child_count = child_counts.get(unit.pk, 0)
        unit.tree_depth = min(unit.depth, 8)
    return render(request, "accounts/unit_list.html", {"units": units})


@users_required
@require_http_methods(["GET", "POST"])
def unit_edit(request, pk=None):
    unit = get_object_or_404(OrgUnit, pk=pk) if pk else None
    initial = {}
    if unit is None and request.GET.get("parent"):
        initial["parent"] = request.GET["parent"]
    form = OrgUnitForm(request.POST or None, instance=unit, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_unit(form.instance, actor=request.user)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Unit “%(name)s” saved.") % {"name": saved.name})
            return redirect("accounts:unit_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/unit_form.html", {"form": form, "unit": unit}, status=status)


@users_required
@require_http_methods(["GET", "POST"])
def unit_delete(request, pk):
    unit = get_object_or_404(OrgUnit, pk=pk)
    error = None
    if request.method == "POST":
        try:
            services.delete_unit(unit, actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("Unit “%(name)s” deleted.") % {"name": unit.name})
            return redirect("accounts:unit_list")
    context = {
        "unit": unit,
        "error": error,
        "member_count": unit.members.count(),
        "child_count": unit.children.count(),
    }
    return render(request, "accounts/unit_confirm_delete.html", context, status=400 if error else 200)


# --- Users ---------------------------------------------------------------------------------------
def _filtered_users(request):
    qs = User.objects.select_related("org_unit", "role", "manager").order_by("username")
    q = (request.GET.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(full_name__icontains=q) | Q(email__icontains=q)
                       | Q(phone__icontains=q) | Q(first_name__icontains=q) | Q(last_name__icontains=q))
    status = request.GET.get("status", "")
    if status == "active":
        qs = qs.filter(is_active=True)
    elif status == "inactive":
        qs = qs.filter(is_active=False)
    return qs, q, status


@users_required
@require_GET
def user_list(request):
    qs, q, status = _filtered_users(request)
    page = Paginator(qs, USERS_PER_PAGE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {"page": page, "users": page.object_list, "q": q, "status": status, "base_query": params.urlencode()}
    template = "accounts/partials/user_rows.html" if _wants_partial(request) else "accounts/user_list.html"
    return render(request, template, context)


@users_required
@require_http_methods(["GET", "POST"])
def user_edit(request, pk=None):
    edited = get_object_or_404(User, pk=pk) if pk else None
    form = UserForm(request.POST or None, instance=edited, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_user(form.instance, actor=request.user,
                                       password=form.cleaned_data.get("password1") or None)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("User “%(name)s” saved.") % {"name": saved.display_name})
            return redirect("accounts:user_list")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "edited": edited,
               "edited_two_factor": bool(edited) and services.has_two_factor(edited)}
    return render(request, "accounts/user_form.html", context, status=status)


@users_required
@require_http_methods(["POST"])
def user_reset_password(request, pk):
    """An administrator's reset: a temporary password, shown once, that must be changed at the next log-in."""
    edited = get_object_or_404(User, pk=pk)
    try:
        temporary = services.reset_password_by_admin(edited, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("accounts:user_edit", pk=edited.pk)
    response = render(request, "accounts/temporary_password.html", {"edited": edited, "temporary": temporary})
    response["Cache-Control"] = "no-store"
    return response


# --- Roles ---------------------------------------------------------------------------------------
@users_required
@require_GET
def role_list(request):
    roles = Role.objects.annotate(user_count=Count("users", filter=Q(users__is_active=True))).order_by("name")
    scopes = [(value, label, SCOPE_EXPLANATIONS[value]) for value, label in DataScopeKind.choices]
    return render(request, "accounts/role_list.html", {"roles": roles, "scopes": scopes})


@users_required
@require_http_methods(["GET", "POST"])
def role_edit(request, pk=None):
    role = get_object_or_404(Role, pk=pk) if pk else None
    form = RoleForm(request.POST or None, instance=role)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_role(form.instance, actor=request.user)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Role “%(name)s” saved.") % {"name": saved.name})
            return redirect("accounts:role_list")
    status = 400 if request.method == "POST" else 200
    user_count = role.users.count() if role else 0
    return render(request, "accounts/role_form.html", {"form": form, "role": role, "user_count": user_count},
                  status=status)


# --- My API token ----------------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def token(request):
    """Any logged-in user manages their own token; a new token is shown once, on this response."""
    new_key = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            if services.revoke_api_token(request.user, actor=request.user):
                messages.success(request, _("Your API token was revoked."))
            return redirect("accounts:token")
        new_key = services.regenerate_api_token(request.user, actor=request.user).key
    existing = Token.objects.filter(user=request.user).only("created").first()
    response = render(request, "accounts/token.html", {"existing": existing, "new_key": new_key})
    if new_key:
        response["Cache-Control"] = "no-store"
    return response


# --- My password -----------------------------------------------------------------------------------
class FormPageMixin:
    """Context for ``accounts/simple_form.html``; a refused form answers 400 like the other pages."""

    template_name = "accounts/simple_form.html"
    title = submit_label = intro = ""
    testid = "simple-form"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(title=self.title, submit_label=self.submit_label, intro=self.intro, testid=self.testid)
        return context

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class PasswordChangeView(FormPageMixin, auth_views.PasswordChangeView):
    """The user's own change (current password first).  Other sessions and the API token end."""

    form_class = OwnPasswordChangeForm
    success_url = reverse_lazy("accounts:token")
    title = submit_label = gettext_lazy("Change password")
    intro = gettext_lazy("After the change, your other sessions end and your API token stops working.")
    testid = "password-change-form"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.request.user.must_change_password:
            context["intro"] = _("An administrator reset your password. Enter the temporary password you were "
                                 "given, then choose your own.")
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password was changed."))
        return response


# --- Password reset by e-mail ------------------------------------------------------------------------
class PasswordResetView(FormPageMixin, auth_views.PasswordResetView):
    """Ask for a link.  The answer is the same whether or not an account has the address; requests are
    throttled per e-mail address and per client address (429), also without telling either way."""

    form_class = ResetRequestForm
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")
    title = gettext_lazy("Forgot your password?")
    submit_label = gettext_lazy("Send me a link")
    intro = gettext_lazy("Enter the e-mail address of your account. We will send you a link to choose a new "
                         "password.")
    testid = "password-reset-form"

    def form_valid(self, form):
        if not services.allow_password_reset_request(form.cleaned_data["email"], client_address(self.request)):
            form.add_error(None, _("Too many requests. Try again later."))
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            return response
        return super().form_valid(form)


def password_reset_done(request):
    hours = max(1, round(settings.PASSWORD_RESET_TIMEOUT / 3600))
    text = ngettext(
        "If an account has this address, an e-mail with a link is on its way. The link works once, for %(n)d hour.",
        "If an account has this address, an e-mail with a link is on its way. The link works once, for %(n)d hours.",
        hours) % {"n": hours}
    return render(request, "accounts/message.html", {"title": _("Check your e-mail"), "text": text,
                                                      "testid": "password-reset-sent"})


class PasswordResetConfirmView(FormPageMixin, auth_views.PasswordResetConfirmView):
    form_class = ResetPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
    title = gettext_lazy("Choose a new password")
    submit_label = gettext_lazy("Set password")
    testid = "password-reset-confirm-form"


def password_reset_complete(request):
    return render(request, "accounts/message.html", {
        "title": _("Password set"), "text": _("Your new password is set. Log in with it."),
        "login_link": True, "testid": "password-reset-complete",
    })


# --- Two-factor log-in ---------------------------------------------------------------------------------
MAX_CODE_FAILURES = 5


def _next_url(request, default):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def _qr_data_uri(text):
    """The QR code as an SVG data URI, drawn here (no outside service sees the secret)."""
    svg = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2).to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    """The second step of a log-in: the code from the user's authenticator app."""
    if request.user.is_verified() or not session_has_two_factor(request, refresh=True):
        return redirect(_next_url(request, settings.LOGIN_REDIRECT_URL))
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = services.verify_two_factor(request.user, form.cleaned_data["code"])
        if device is not None:
            django_otp.login(request, device)
            request.session.pop("crm_code_failures", None)
            return redirect(_next_url(request, reverse(settings.LOGIN_REDIRECT_URL)))
        failures = request.session.get("crm_code_failures", 0) + 1
        if failures >= MAX_CODE_FAILURES:
            logout(request)
            messages.error(request, _("Too many wrong codes. Log in again."))
            return redirect("login")
        request.session["crm_code_failures"] = failures
        form.add_error("code", _("The code is wrong or has expired."))
    context = {"form": form, "title": _("Two-factor log-in"), "submit_label": _("Verify"),
               "intro": _("Enter the code your authenticator app shows for Kehu CRM."),
               "testid": "two-factor-verify-form", "next": _next_url(request, "")}
    return render(request, "accounts/two_factor_verify.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request):
    """Switch two-factor log-in on (scan the QR code, type a first code) or off (type a current code)."""
    user = request.user
    enabled = session_has_two_factor(request, refresh=True)
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        if not enabled:
            device = services.confirm_two_factor(user, code, actor=user)
            if device is not None:
                django_otp.login(request, device)
                session_has_two_factor(request, refresh=True)
                messages.success(request, _("Two-factor log-in is on. From now on you enter a code after your "
                                            "password."))
                return redirect(_next_url(request, reverse("accounts:token")))
            form.add_error("code", _("The code is wrong or has expired."))
        elif services.verify_two_factor(user, code) is None:
            form.add_error("code", _("The code is wrong or has expired."))
        else:
            try:
                services.disable_two_factor(user, actor=user)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                session_has_two_factor(request, refresh=True)
                messages.success(request, _("Two-factor log-in is off."))
                return redirect("accounts:token")
    context = {"form": form, "enabled": enabled, "required": services.two_factor_required(user),
               "next": _next_url(request, "")}
    if not enabled:
        device = services.start_two_factor(user)
        secret = b32encode(device.bin_key).decode()
        context.update(qr=_qr_data_uri(device.config_url),
                       secret=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)))
    response = render(request, "accounts/two_factor.html", context, status=400 if form.errors else 200)
    response["Cache-Control"] = "no-store"
    return response


@users_required
@require_http_methods(["POST"])
def user_remove_two_factor(request, pk):
    """An administrator switches a user's two-factor log-in off (a lost phone); the user may enrol again."""
    edited = get_object_or_404(User, pk=pk)
    try:
        removed = services.disable_two_factor(edited, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if removed:
            messages.success(request, _("Two-factor log-in of “%(name)s” is off.") % {"name": edited.display_name})
    return redirect("accounts:user_edit", pk=edited.pk)
