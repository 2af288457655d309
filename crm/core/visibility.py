"""The one visibility method: ``Model.objects.visible_to(user)``.

Every list, detail page, API endpoint, search, export and count goes through it.  The rule is data:
a user's role yields a :class:`DataScope` (computed in ``crm.accounts``, cached per user object),
and each restricted model says which of its fields carry the owner and the organisational unit.
A record is visible when the scope covers all records, or its owner is one of the scope's owners,
or its unit is one of the scope's units.

A record names the records it refers to (a to-do its customer), and a name follows the visibility of
the record it names: :func:`with_related_visibility` asks ``visible_to`` about the related record in
the same query, :func:`related_visible` reads the answer.
"""

from dataclasses import dataclass, field

from django.db import models
from django.db.models import Exists, OuterRef, Q, Value


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


def with_related_visibility(queryset, relation, user):
    """``queryset`` annotated with ``<relation>_visible``: whether ``user`` may see the record the
    foreign key ``relation`` points to (by that model's ``visible_to``), as an EXISTS in the same query."""
    field = queryset.model._meta.get_field(relation)
    scope = scope_for(user)
    if scope.all or scope.is_empty:
        flag = Value(scope.all)
    else:
        flag = Exists(field.related_model._default_manager.visible_to(user).filter(pk=OuterRef(field.attname)))
    return queryset.annotate(**{f"{relation}_visible": flag})


def related_visible(obj, relation, user) -> bool:
    """Whether ``user`` may see ``obj``'s related record ``relation``: the annotation of
    :func:`with_related_visibility` when ``obj`` was loaded with it, otherwise one query."""
    field = obj._meta.get_field(relation)
    related_id = getattr(obj, field.attname)
    if related_id is None:
        return False
    flag = getattr(obj, f"{relation}_visible", None)
    if flag is not None:
        return bool(flag)
    return field.related_model._default_manager.visible_to(user).filter(pk=related_id).exists()
