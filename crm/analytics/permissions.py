"""Record rules of the analytics app.

Reading analytics needs the role's *view* action, and every figure is computed over the customers the
user may see (``visible_to``).  Starting a refresh on demand recomputes the figures for the whole
company, so it needs *manage settings* (the nightly refresh needs no one).
"""

from crm.accounts.choices import Action

REFRESH_ACTION = Action.MANAGE_SETTINGS
VIEW_ACTION = Action.VIEW


def can_refresh(user) -> bool:
    return bool(user and user.is_authenticated and user.can(REFRESH_ACTION))
