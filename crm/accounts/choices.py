from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    HEAD_OFFICE = "head_office", _("head office")
    BRANCH = "branch", _("branch")
    TEAM = "team", _("team")


class Action(models.TextChoices):
    """The global verbs roles granted before rights were per model.  Nothing checks them any more:
    :func:`crm.core.permissions.codes_for_verbs` expands them into permission codes, so demo data and
    tests can still set up a role in a few words."""

    VIEW = "view", _("view")
    CREATE = "create", _("create")
    CHANGE = "change", _("change")
    DELETE = "delete", _("delete")
    EXPORT = "export", _("export")
    ASSIGN = "assign", _("assign owner and branch")
    MANAGE_SETTINGS = "manage_settings", _("manage settings")


class DataScopeKind(models.TextChoices):
    OWN = "own", _("own records")
    SUBORDINATES = "subordinates", _("own and subordinates' records")
    TEAM = "team", _("own team")
    BRANCH = "branch", _("own branch")
    BRANCH_TREE = "branch_tree", _("own branch and its sub-branches")
    ALL = "all", _("all records")


class PasswordEvent(models.TextChoices):
    """Why a password changed; recorded in the audit log.  Every one of them revokes the API token."""

    CHANGED = "changed", _("changed by the user")
    RESET_BY_EMAIL = "reset_by_email", _("reset through an e-mailed link")
    SET_BY_ADMIN = "set_by_admin", _("set by an administrator")
    TEMPORARY = "temporary", _("temporary password set by an administrator")
    COMMAND = "command", _("changed with a management command")
