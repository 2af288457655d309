"""Record rules: actions a role grants, checked by every service."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .choices import Action


def require(actor, action: str):
    if actor is None or not actor.is_authenticated or not actor.can(action):
        label = dict(Action.choices).get(action, action)
        raise PermissionDenied(_("Your role does not allow: %(action)s.") % {"action": label})
