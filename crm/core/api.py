"""API plumbing shared by every app: error shape, base permissions, pagination and serializer helpers.

Errors always have one shape: a 400 body maps each field to a list of messages (``non_field_errors``
for the whole record; nested objects such as ``custom_fields`` map their keys the same way).  Records
outside the caller's scope are simply not in the queryset, so they answer 404, never 403.
"""

import re

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, permissions, serializers
from rest_framework.filters import OrderingFilter
from rest_framework.views import exception_handler as drf_exception_handler

from .pagination import KeysetPagination

MANAGE_SETTINGS = "manage_settings"


def validation_detail(exc: DjangoValidationError):
    """A Django ``ValidationError`` as DRF error detail: ``{field: [messages]}``."""
    if hasattr(exc, "error_dict"):
        return {(k if k != "__all__" else "non_field_errors"): v for k, v in exc.message_dict.items()}
    return {"non_field_errors": exc.messages}


def as_drf_validation_error(exc: DjangoValidationError, *, field=None):
    """Re-raise a service/model error as a DRF one, optionally nested under ``field``."""
    detail = validation_detail(exc)
    if field is not None:
        detail = {field: detail if hasattr(exc, "error_dict") else exc.messages}
    return exceptions.ValidationError(detail)


def exception_handler(exc, context):
    """Service-layer ``ValidationError``s become 400 with per-field messages, never a 500; so does
    deleting a record that others still refer to (``on_delete=PROTECT``)."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_detail(exc))
    elif isinstance(exc, ProtectedError | RestrictedError):
        objects = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
        message = ngettext("This record is still used by %(n)d other record; move or delete it first.",
                           "This record is still used by %(n)d other records; move or delete them first.",
                           len(objects)) % {"n": len(objects)}
        exc = exceptions.ValidationError({"non_field_errors": [message]})
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    return drf_exception_handler(exc, context)


class ActionPermission(permissions.BasePermission):
    """Maps HTTP methods to role actions; views name extra actions in ``action_permissions``."""

    method_actions = {
        "GET": "view", "HEAD": "view", "OPTIONS": "view",
        "POST": "create", "PUT": "change", "PATCH": "change", "DELETE": "delete",
    }

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False
        action = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        action = action or self.method_actions.get(request.method, "view")
        return user.can(action)


class ManageSettingsPermission(permissions.BasePermission):
    """Every method needs the ``manage_settings`` action."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.can(MANAGE_SETTINGS))


class ReadOrManageSettings(permissions.BasePermission):
    """Any signed-in user reads; writing needs the ``manage_settings`` action."""

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False
        return request.method in permissions.SAFE_METHODS or user.can(MANAGE_SETTINGS)


class ApiKeysetPagination(KeysetPagination):
    """Keyset pagination whose order always ends on the primary key.

    ``?ordering=name`` alone is not a total order (two customers may share a name), and a cursor
    over a partial order can skip or repeat rows.  The id is appended in the direction of the
    first field, so every ordering the view allows walks all rows exactly once.
    """

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        if not any(f.lstrip("-") in {"id", "pk"} for f in ordering):
            ordering = (*ordering, "-id" if ordering[0].startswith("-") else "id")
        return ordering


class StrictOrderingFilter(OrderingFilter):
    """``?ordering=`` with a field outside the whitelist is a 400, not silently ignored."""

    def get_ordering(self, request, queryset, view):
        params = request.query_params.get(self.ordering_param)
        if params:
            fields = [p.strip() for p in params.split(",") if p.strip()]
            valid = self.remove_invalid_fields(queryset, fields, view, request)
            if len(valid) != len(fields):
                allowed = sorted(f for f, _label in self.get_valid_fields(queryset, view, {"request": request}))
                message = _("Order by one of: %(fields)s (prefix - to reverse).") % {"fields": ", ".join(allowed)}
                raise exceptions.ValidationError({self.ordering_param: [message]})
        return super().get_ordering(request, queryset, view)

    def get_schema_operation_parameters(self, view):
        """The fields the view allows, as a pattern (comma-separated, ``-`` to reverse); no parameter when
        the view allows none."""
        fields = getattr(view, "ordering_fields", None)
        if fields == "__all__" or fields is None:
            return super().get_schema_operation_parameters(view)
        if not fields:
            return []
        names = "|".join(sorted(re.escape(f) for f in fields))
        return [{
            "name": self.ordering_param,
            "required": False,
            "in": "query",
            "description": _("Order by one of: %(fields)s (prefix - to reverse).") % {"fields": ", ".join(fields)},
            "schema": {"type": "string", "pattern": f"^-?(?:{names})(?:,-?(?:{names}))*$"},
        }]


class ApiViewMixin:
    """What every endpoint shares: role-action permissions, keyset pagination, strict ordering."""

    permission_classes = [ActionPermission]
    pagination_class = ApiKeysetPagination
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    ordering_fields: list = []


class CustomFieldsField(serializers.DictField):
    """The ``custom_fields`` JSON object: keys are definition keys, values their typed values."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.JSONField())
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            "Values of the custom fields an administrator defined (see /api/custom-fields/). "
            "Invalid values answer 400 with {\"custom_fields\": {key: [message]}}.",
        )
        super().__init__(**kwargs)
