"""Rights of the analytics app.

- ``analytics.view`` — read the analytics (dashboard, transitions, the value panel on a customer, the
  API); every figure is computed over the customers the user may see (``visible_to``);
- ``analytics.refresh`` — start a refresh on demand: it recomputes the figures for the whole company
  (the nightly refresh needs no one);
- ``analytics.manage_settings`` — the analytics settings and the RFM segment table.

The codes are registered from ``AnalyticsConfig.ready()``.
"""

from django.utils.translation import gettext_lazy as _

from crm.core import permissions
from crm.core.permissions import has

VIEW = "analytics.view"
REFRESH = "analytics.refresh"
MANAGE_SETTINGS = "analytics.manage_settings"

RIGHTS = [
    ("view", _("see the analytics"), "view"),
    ("refresh", _("refresh the analytics on demand"), "manage_settings"),
    ("manage_settings", _("manage the analytics settings and RFM segments"), "manage_settings"),
]


def register() -> None:
    permissions.register_all("analytics", RIGHTS)


def can_view(user) -> bool:
    return has(user, VIEW)


def can_refresh(user) -> bool:
    return has(user, REFRESH)


def can_manage_settings(user) -> bool:
    """Who edits the analytics settings and the RFM segments."""
    return has(user, MANAGE_SETTINGS)
