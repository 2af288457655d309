"""Rights of the accounts app: who manages users, the organisation and roles, and who sees records at all.

A role grants permission codes (``Role.permissions``) from the registry in :mod:`crm.core.permissions`;
each app declares its own there from its ``AppConfig.ready()``.  This app's are:

- ``accounts.view_records`` — see records within the role's data scope; without it the data scope is
  empty, whatever it says (it was the global *view* verb's part in the data scope);
- ``accounts.manage_users`` — users, passwords and API tokens, the organisation tree and roles.

Services check them with :func:`crm.core.permissions.require`.
"""

from django.utils.translation import gettext_lazy as _

from crm.core import permissions

VIEW_RECORDS = "accounts.view_records"
MANAGE_USERS = "accounts.manage_users"

RIGHTS = [
    ("view_records", _("see records within the role's data scope"), "view"),
    ("manage_users", _("manage users, the organisation and roles"), "manage_settings"),
]


def register() -> None:
    permissions.register_all("accounts", RIGHTS)


def can_manage_users(user) -> bool:
    return permissions.has(user, MANAGE_USERS)


def is_administrator(user) -> bool:
    """Superusers and those who manage users or the settings (two-factor log-in applies to them)."""
    return bool(user.is_superuser or permissions.has_any(user, MANAGE_USERS, permissions.MANAGE_SETTINGS))
