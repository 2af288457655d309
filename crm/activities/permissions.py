"""Rights of the activities app: interactions (with the customer timeline) and to-dos.

The codes (registered from ``ActivitiesConfig.ready()``): ``activities.view_interaction`` (interactions
and the customer timeline), ``add_``/``change_``/``delete_interaction``, and ``activities.view_todo``
(to-dos and My day), ``add_``/``change_``/``delete_todo`` (changing covers completing, reopening and
reassigning).  Which records: the customers the user may see, and the to-dos of the people in the
role's data scope.
"""

from django.utils.translation import gettext_lazy as _

from crm.core import permissions
from crm.core.permissions import has

VIEW_INTERACTION = "activities.view_interaction"
ADD_INTERACTION = "activities.add_interaction"
CHANGE_INTERACTION = "activities.change_interaction"
DELETE_INTERACTION = "activities.delete_interaction"
VIEW_TODO = "activities.view_todo"
ADD_TODO = "activities.add_todo"
CHANGE_TODO = "activities.change_todo"
DELETE_TODO = "activities.delete_todo"

RIGHTS = [
    ("view_interaction", _("see interactions and the customer timeline"), "view"),
    ("add_interaction", _("log interactions"), "create"),
    ("change_interaction", _("change interactions"), "change"),
    ("delete_interaction", _("delete interactions"), "delete"),
    ("view_todo", _("see to-dos and My day"), "view"),
    ("add_todo", _("create to-dos"), "create"),
    ("change_todo", _("change, complete, reopen and reassign to-dos"), "change"),
    ("delete_todo", _("delete to-dos"), "delete"),
]


def register() -> None:
    permissions.register_all("activities", RIGHTS)


def can_log_interaction(user) -> bool:
    return has(user, ADD_INTERACTION)


def can_add_todo(user) -> bool:
    return has(user, ADD_TODO)


def can_change_todo(user) -> bool:
    """Change, complete, reopen or reassign a to-do (which ones: ``queries.todos_for``)."""
    return has(user, CHANGE_TODO)
