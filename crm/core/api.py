"""API plumbing shared by every app: error shape and base permission."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, permissions
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """Service-layer ``ValidationError``s become 400 with per-field messages, never a 500."""
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {
                (k if k != "__all__" else "non_field_errors"): v for k, v in exc.message_dict.items()
            }
        else:
            detail = {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
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
