"""Verbs that change users, roles and the organisation tree.  Each takes an explicit actor."""

import hashlib

from axes.utils import reset as reset_login_failures
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from crm.core import permissions as rights
from crm.core.audit import acting_as, record
from crm.core.choices import AuditAction
from crm.core.permissions import require

from .choices import PasswordEvent, UnitKind
from .models import OrgUnit, Role, User
from .permissions import MANAGE_USERS, is_administrator
from .queries import subordinate_ids


def _set_path(unit: OrgUnit):
    unit.path = f"{unit.parent.path if unit.parent_id else '/'}{unit.pk}/"


@transaction.atomic
def save_unit(unit: OrgUnit, *, actor) -> OrgUnit:
    """Create or update a unit; moving a unit moves its whole subtree."""
    require(actor, MANAGE_USERS)
    with acting_as(actor):
        if unit.parent_id is None and unit.kind != UnitKind.HEAD_OFFICE:
            raise ValidationError({"parent": _("Only the head office has no parent.")})
        if unit.pk and unit.parent_id:
            parent = OrgUnit.objects.get(pk=unit.parent_id)
            if parent.path.startswith(OrgUnit.objects.get(pk=unit.pk).path):
                raise ValidationError({"parent": _("A unit cannot be moved under itself.")})
        old_path = OrgUnit.objects.filter(pk=unit.pk).values_list("path", flat=True).first() if unit.pk else None
        unit.save()
        _set_path(unit)
        OrgUnit.objects.filter(pk=unit.pk).update(path=unit.path)
        if old_path and old_path != unit.path:
            for child in OrgUnit.objects.filter(path__startswith=old_path).exclude(pk=unit.pk):
                child.path = unit.path + child.path[len(old_path):]
                OrgUnit.objects.filter(pk=child.pk).update(path=child.path)
    return unit


@transaction.atomic
def delete_unit(unit: OrgUnit, *, actor):
    require(actor, MANAGE_USERS)
    if unit.children.exists() or unit.members.exists():
        raise ValidationError(_("Move this unit's members and sub-units elsewhere first."))
    with acting_as(actor):
        unit.delete()


@transaction.atomic
def save_role(role: Role, *, actor) -> Role:
    require(actor, MANAGE_USERS)
    role.full_clean()  # refuses unknown permission codes rather than dropping them
    granted = set(role.permissions or [])
    role.permissions = [p.code for p in rights.registered() if p.code in granted]
    with acting_as(actor):
        role.save()
    return role


@transaction.atomic
def save_user(user: User, *, actor, password: str | None = None) -> User:
    """Create or update a user.  Refuses a manager line that would loop."""
    require(actor, MANAGE_USERS)
    if user.pk and user.manager_id and (user.manager_id == user.pk or user.manager_id in subordinate_ids(user)):
        raise ValidationError({"manager": _("A user cannot report to themselves or to a subordinate.")})
    if not actor.is_superuser:
        _refuse_superuser_change(user, actor)
        if user.is_superuser:
            raise ValidationError({"is_superuser": _("Only a superuser can grant superuser status.")})
    if password:
        check_password_rules(password, user)
    was_active = User.objects.filter(pk=user.pk).values_list("is_active", flat=True).first() if user.pk else None
    with acting_as(actor):
        if password:
            user.set_password(password)
        elif not user.pk:
            user.set_unusable_password()
        user.save()
        if password and was_active is not None:
            record(user, AuditAction.UPDATE, {"password": [None, PasswordEvent.SET_BY_ADMIN.value]})
    if password or (was_active and not user.is_active):
        end_api_access(user, actor=actor)
    user.forget_access_cache()
    return user


def check_password_rules(raw_password: str, user: User):
    """Raise a ValidationError on the ``password`` field unless ``raw_password`` meets the password rules
    (AUTH_PASSWORD_VALIDATORS) for ``user``.  :func:`save_user` and :func:`set_password` call it, so no
    page, API call, command or import stores a password that breaks them; forms may call it earlier to
    show the errors on their own fields."""
    try:
        validate_password(raw_password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc


def _refuse_superuser_change(user: User, actor):
    if not actor.is_superuser and user.pk and User.objects.filter(pk=user.pk, is_superuser=True).exists():
        raise PermissionDenied(_("Only a superuser can change a superuser's account."))


@transaction.atomic
def set_password(user: User, raw_password: str | None, *, actor, reason: PasswordEvent) -> User:
    """Give ``user`` a new password (``None``: an unusable one) and revoke their API token.

    Every way a password changes ends here: the user's own change page, an administrator's edit (pages,
    API, Django admin), the e-mailed reset link and the ``changepassword`` command.  A password that
    breaks the password rules is refused (:func:`check_password_rules`).  Other browser sessions of the
    user end because the session hash depends on the password; the API token is deleted here, since it
    does not.
    """
    if actor is not None and actor.pk != user.pk:
        require(actor, MANAGE_USERS)
        _refuse_superuser_change(user, actor)
    user = _concrete_user(user)
    if raw_password is not None:
        check_password_rules(raw_password, user)
    if raw_password is None:
        user.set_unusable_password()
    else:
        user.set_password(raw_password)
    user.must_change_password = reason == PasswordEvent.TEMPORARY
    with acting_as(actor):
        user.save()
    note_password_changed(user, actor=actor, reason=reason)
    return user


@transaction.atomic
def note_password_changed(user: User, *, actor, reason: PasswordEvent):
    """What follows a new password: an audit entry and the end of API access.

    Called by :func:`set_password`, and by the ``changepassword`` command after Django's own code
    has stored the password.
    """
    user = _concrete_user(user)
    with acting_as(actor):
        record(user, AuditAction.UPDATE, {"password": [None, PasswordEvent(reason).value]})
    end_api_access(user, actor=actor)
    if reason != PasswordEvent.CHANGED:
        # Whoever was locked out by failed log-ins gets in with the new password.
        reset_login_failures(username=user.get_username())


# Letters and digits that cannot be mistaken for one another when read aloud or copied by hand.
TEMPORARY_PASSWORD_CHARS = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def reset_password_by_admin(user: User, *, actor) -> str:
    """Give ``user`` a temporary password that they must change at their next log-in; return it.

    The administrator passes it on by hand.  The user's sessions and API token end as with any other
    new password.
    """
    if actor is not None and actor.pk == user.pk:
        raise ValidationError(_("Change your own password on your password page."))
    require(actor, MANAGE_USERS)
    temporary = get_random_string(12, TEMPORARY_PASSWORD_CHARS)
    set_password(user, temporary, actor=actor, reason=PasswordEvent.TEMPORARY)
    return temporary


def check_api_token_request(user: User, code: str | None):
    """What an API token needs beyond the password; raises ValidationError naming the field.

    No token while an administrator's temporary password is unchanged.  A user with two-factor log-in
    sends the current code from their authenticator app as ``otp``; an administrator whom
    ``CRM_REQUIRE_2FA_FOR_ADMINS`` obliges to use it gets no token before enrolling on the web site.
    """
    if user.must_change_password:
        raise ValidationError(_("Your password was reset by an administrator: log in on the web site and "
                                "choose a new password first."))
    if has_two_factor(user):
        if not code:
            raise ValidationError({"otp": _("Enter the code from your authenticator app.")})
        if verify_two_factor(user, code) is None:
            raise ValidationError({"otp": _("The code is wrong or has expired.")})
    elif two_factor_required(user):
        raise ValidationError(_("Set up two-factor log-in on the web site first."))


# --- two-factor log-in (TOTP) ------------------------------------------------------------------------
def has_two_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


def two_factor_required(user: User) -> bool:
    """Administrators (superusers, and roles that manage users or settings) must use two-factor log-in
    when the setting says so."""
    return settings.CRM_REQUIRE_2FA_FOR_ADMINS and is_administrator(user)


def verify_two_factor(user: User, code: str):
    """The confirmed device that accepts ``code``, or None.  django-otp throttles repeated failures and
    refuses a code that was used already."""
    code = (code or "").replace(" ", "")
    if not code.isdigit() or len(code) > 8:
        return None
    return match_token(user, code)


def start_two_factor(user: User) -> TOTPDevice:
    """The device being enrolled: a new secret, kept (unconfirmed) until the user types a first code."""
    user = _concrete_user(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


@transaction.atomic
def confirm_two_factor(user: User, code: str, *, actor) -> TOTPDevice | None:
    """Switch two-factor log-in on once the user proves their app shows the right codes."""
    user = _concrete_user(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    code = (code or "").replace(" ", "")
    if device is None or not code.isdigit() or not device.verify_token(code):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    with acting_as(actor):
        record(user, AuditAction.UPDATE, {"two_factor": [None, "enabled"]})
    return device


@transaction.atomic
def disable_two_factor(user: User, *, actor) -> bool:
    """Switch two-factor log-in off: the user themselves (unless required of them) or an administrator,
    e.g. when the phone is lost."""
    if actor is None or actor.pk != user.pk:
        require(actor, MANAGE_USERS)
        _refuse_superuser_change(user, actor)
    elif two_factor_required(user):
        raise ValidationError(_("Two-factor log-in is required for administrators."))
    user = _concrete_user(user)
    deleted = TOTPDevice.objects.filter(user=user).delete()[0] > 0
    if deleted:
        with acting_as(actor):
            record(user, AuditAction.UPDATE, {"two_factor": ["enabled", None]})
    return deleted


def allow_password_reset_request(email: str, address: str | None) -> bool:
    """Count a password reset request; False once the e-mail address or the client address has made
    ``CRM_PASSWORD_RESET_LIMIT`` requests within ``CRM_PASSWORD_RESET_WINDOW`` seconds.

    The same answer whether or not an account has the address, so the limit reveals nothing.
    """
    limit, window = settings.CRM_PASSWORD_RESET_LIMIT, settings.CRM_PASSWORD_RESET_WINDOW
    email_key = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    allowed = True
    for key in (f"pwreset:email:{email_key}", f"pwreset:addr:{address or '-'}"):
        cache.add(key, 0, window)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, window)
            count = 1
        allowed = allowed and count <= limit
    return allowed


def _concrete_user(user) -> User:
    """The user as a model instance (a request's user is a lazy wrapper the audit log cannot type)."""
    return user if type(user) is User else User.objects.get(pk=user.pk)


@transaction.atomic
def regenerate_api_token(user: User, *, actor):
    """Replace ``user``'s API token with a new one (any previous token stops working at once).

    A user manages their own token; managing someone else's needs the manage-settings action.
    The audit log records that the token changed, never the token itself.
    """
    if actor is None or actor.pk != user.pk:
        require(actor, MANAGE_USERS)
    user = _concrete_user(user)
    had_token = Token.objects.filter(user=user).delete()[0] > 0
    token = Token.objects.create(user=user)
    with acting_as(actor):
        record(user, AuditAction.UPDATE, {"api_token": ["set" if had_token else None, "regenerated"]})
    return token


@transaction.atomic
def revoke_api_token(user: User, *, actor) -> bool:
    if actor is None or actor.pk != user.pk:
        require(actor, MANAGE_USERS)
    user = _concrete_user(user)
    deleted = Token.objects.filter(user=user).delete()[0] > 0
    if deleted:
        with acting_as(actor):
            record(user, AuditAction.UPDATE, {"api_token": ["set", None]})
    return deleted


@transaction.atomic
def end_api_access(user: User, *, actor) -> bool:
    """Delete ``user``'s API token because their credentials changed (password or deactivation).

    Needs no right of its own: it only takes access away, and runs as part of the verbs above (and
    after the ``changepassword`` command).  A new token must be asked for with the new password.
    """
    user = _concrete_user(user)
    deleted = Token.objects.filter(user=user).delete()[0] > 0
    if deleted:
        with acting_as(actor):
            record(user, AuditAction.UPDATE, {"api_token": ["set", None]})
    return deleted
