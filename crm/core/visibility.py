"""The one visibility method: ``Model.objects.visible_to(user)``.

Every list, detail page, API endpoint, search, export and count goes through it.  The rule is data:
a user's role yields a :class:`DataScope` (computed in ``crm.accounts``, cached per user object),
and each restricted model says which of its fields carry the owner and the organisational unit.
A record is visible when the scope covers all records, or its owner is one of the scope's owners,
or its unit is one of the scope's units.
"""

from dataclasses import dataclass, field

from django.db import models
from django.db.models import Q


@dataclass(frozen=True)
class DataScope:
    all: bool = False
    owner_ids: frozenset = field(default_factory=frozenset)
    unit_ids: frozenset = field(default_factory=frozenset)

    @classmethod
    def nothing(cls):
        return cls()

    @property
    def is_empty(self):
        return not self.all and not self.owner_ids and not self.unit_ids


def scope_for(user) -> DataScope:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return DataScope.nothing()
    return user.data_scope()


class RestrictedQuerySet(models.QuerySet):
    def visible_to(self, user):
        scope = scope_for(user)
        if scope.all:
            return self
        if scope.is_empty:
            return self.none()
        return self.filter(self.model.visibility_q(scope))


class RestrictedModel(models.Model):
    """A record whose visibility follows an owner and an organisational unit."""

    owner_path = "owner"
    unit_path = "branch"

    class Meta:
        abstract = True

    @classmethod
    def visibility_q(cls, scope: DataScope) -> Q:
        q = Q(pk__in=[])
        if scope.owner_ids:
            q |= Q(**{f"{cls.owner_path}_id__in": sorted(scope.owner_ids)})
        if scope.unit_ids:
            q |= Q(**{f"{cls.unit_path}_id__in": sorted(scope.unit_ids)})
        return q

    def is_visible_to(self, user) -> bool:
        return type(self)._default_manager.visible_to(user).filter(pk=self.pk).exists()
