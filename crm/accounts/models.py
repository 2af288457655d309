"""Users, the organisation tree (head office → branches → teams) and roles (R1.3, R3.5, R10.2)."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from crm.core import permissions as rights
from crm.core.models import ChangeLoggedModel
from crm.core.visibility import DataScope

from .choices import DataScopeKind, UnitKind


class OrgUnit(ChangeLoggedModel):
    """A node of the organisation: the head office, a branch (possibly nested), or a team."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=UnitKind.choices, default=UnitKind.TEAM)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    # Materialised path of ids, e.g. "/1/4/9/": descendants are a prefix match, no recursion needed.
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")

    audit_exclude = ("created_at", "updated_at", "path")

    class Meta:
        verbose_name = _("organisation unit")
        verbose_name_plural = _("organisation units")
        ordering = ["path"]

    def __str__(self):
        return self.name

    @property
    def depth(self):
        return max(self.path.count("/") - 2, 0)

    def ancestors_and_self(self):
        ids = [int(p) for p in self.path.strip("/").split("/") if p]
        units = {u.pk: u for u in OrgUnit.objects.filter(pk__in=ids)}
        return [units[i] for i in ids if i in units]

    def descendants_and_self(self):
        return OrgUnit.objects.filter(path__startswith=self.path)

    def branch_root(self):
        """The nearest unit at or above this one that is a branch or the head office."""
        for unit in reversed(self.ancestors_and_self()):
            if unit.kind != UnitKind.TEAM:
                return unit
        return self


class Role(ChangeLoggedModel):
    """What a user may do (permission codes, see :mod:`crm.core.permissions`) and which records they may
    do it to (data scope)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    permissions = models.JSONField(_("permissions"), default=list, blank=True)
    data_scope = models.CharField(
        _("data scope"), max_length=20, choices=DataScopeKind.choices, default=DataScopeKind.OWN
    )
    max_customers = models.PositiveIntegerField(
        _("customer cap"), null=True, blank=True,
        help_text=_("How many customers a user with this role may own when claiming from the pool; "
                    "empty means no cap."),
    )

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        granted = self.permissions or []
        if not isinstance(granted, list) or not all(isinstance(code, str) for code in granted):
            raise ValidationError({"permissions": _("Enter a list of permission codes.")})
        unknown = sorted(set(granted) - rights.codes())
        if unknown:
            raise ValidationError({"permissions": _("Unknown permissions: %(a)s") % {"a": ", ".join(unknown)}})

    def get_permissions_display(self):
        """The labels of the granted rights, in registry order."""
        granted = set(self.permissions or [])
        return [str(p.label) for p in rights.registered() if p.code in granted]

    def permissions_by_app(self):
        """(app verbose name, labels of the granted rights) for each app the role grants something in."""
        granted = set(self.permissions or [])
        groups = [(group.verbose_name, [str(p.label) for p in group.permissions if p.code in granted])
                  for group in rights.grouped()]
        return [(name, labels) for name, labels in groups if labels]


class User(ChangeLoggedModel, AbstractUser):
    """A person who uses the CRM.  ``manager`` forms the reporting line used by the
    "own and subordinates" scope; ``org_unit`` places the user in a team or branch."""

    full_name = models.CharField(_("full name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("team / branch"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="members",
    )
    manager = models.ForeignKey(
        "self", verbose_name=_("manager"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="reports",
    )
    role = models.ForeignKey(
        Role, verbose_name=_("role"), null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    must_change_password = models.BooleanField(
        _("must change password"), default=False,
        help_text=_("Set by an administrator's password reset: the user chooses a new password at the next "
                    "log-in before anything else."),
    )

    objects = UserManager()

    audit_exclude = ("created_at", "updated_at", "password", "last_login")

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        return self.full_name or self.get_full_name() or self.username

    # --- access -------------------------------------------------------------------------------------
    @cached_property
    def granted_permissions(self) -> frozenset:
        """The permission codes this user holds: every registered one for a superuser, none when inactive."""
        if not self.is_active:
            return frozenset()
        if self.is_superuser:
            return rights.codes()
        return frozenset(self.role.permissions if self.role_id else ())

    def can(self, code: str) -> bool:
        """True when the user holds the permission ``code`` (e.g. ``"sales.change_order"``)."""
        return code in self.granted_permissions

    def data_scope(self) -> DataScope:
        """The records this user may see, from their role's scope; cached on the instance."""
        cached = self.__dict__.get("_data_scope")
        if cached is not None:
            return cached
        from .queries import compute_data_scope

        scope = compute_data_scope(self)
        self.__dict__["_data_scope"] = scope
        return scope

    def forget_access_cache(self):
        self.__dict__.pop("_data_scope", None)
        self.__dict__.pop("granted_permissions", None)
