"""API plumbing shared by every app: error shape, base permissions, pagination and serializer helpers.

Errors always have one shape: a 400 body maps each field to a list of messages (``non_field_errors``
for the whole record; nested objects such as ``custom_fields`` map their keys the same way).  Records
outside the caller's scope are simply not in the queryset, so they answer 404, never 403.

Query parameters follow the same rule: every endpoint inherits :class:`ApiViewMixin`, whose filter
backend and pagination answer 400 under the parameter's name for a value they cannot read, a yes/no
that is neither, a page size outside 1 to the maximum, or (on lists) a parameter the list does not take.
"""

import datetime
import re
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from rest_framework import exceptions, parsers, permissions, serializers
from rest_framework.filters import OrderingFilter
from rest_framework.views import exception_handler as drf_exception_handler

from .pagination import KeysetPagination
from .validators import date_out_of_range_message, in_date_range, validate_date_range
from .visibility import related_visible

MAX_INTEGER = 2**63 - 1  # ids and counts are 64-bit; larger numbers match nothing and overflow queries


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


class JSONParser(parsers.JSONParser):
    """Every JSON body of the API is read here.  What is not JSON (DRF's parser already says where), or
    nests deeper than any field of the API needs, is a 400 ``{"detail": ...}`` before a view sees it:
    the decoder recurses, so a few thousand ``[`` would otherwise end in a ``RecursionError``."""

    max_depth = 64

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise self._too_deep() from None
        if _nests_deeper_than(data, self.max_depth):
            raise self._too_deep()
        return data

    def _too_deep(self):
        return exceptions.ParseError(_("JSON parse error - lists and objects nest deeper than %(depth)d levels.")
                                     % {"depth": self.max_depth})


def _nests_deeper_than(data, limit):
    """True when lists and objects in ``data`` nest more than ``limit`` levels (without recursing)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


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
    elif isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        exc = exceptions.ValidationError({"non_field_errors": [_body_too_large()]})
    return drf_exception_handler(exc, context)


def _body_too_large():
    return _("The request body is too large: at most %(n)d bytes.") % {"n": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}


ANY_USER = "*"  # in ``permission_codes``: any signed-in user


def crud_codes(app_label: str, model_name: str) -> dict:
    """``permission_codes`` for a model's viewset: read needs ``view_<model>``, POST ``add_<model>``,
    PUT and PATCH ``change_<model>``, DELETE ``delete_<model>``."""
    return {
        "GET": f"{app_label}.view_{model_name}", "POST": f"{app_label}.add_{model_name}",
        "PUT": f"{app_label}.change_{model_name}", "PATCH": f"{app_label}.change_{model_name}",
        "DELETE": f"{app_label}.delete_{model_name}",
    }


def read_write_codes(read: str, write: str) -> dict:
    """``permission_codes`` where reading needs ``read`` (or :data:`ANY_USER`) and every write ``write``."""
    return {"GET": read, "POST": write, "PUT": write, "PATCH": write, "DELETE": write}


class CodePermission(permissions.BasePermission):
    """The permission code a request needs, from the view's ``permission_codes``: the viewset action's
    name (``"claim"``, ``"bulk"``) first, then the HTTP method (HEAD and OPTIONS as GET); :data:`ANY_USER`
    lets every signed-in user through.  A view that declares no codes is a programming error, not an
    open door."""

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False
        codes = getattr(view, "permission_codes", None)
        if codes is None:
            raise ImproperlyConfigured(f"{type(view).__name__} declares no permission_codes.")
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        code = codes.get(getattr(view, "action", None)) or codes.get(method)
        if code is None:  # a method the view does not take answers 405, one it takes without a code 403
            return request.method not in getattr(view, "allowed_methods", ())
        return code == ANY_USER or user.can(code)


def page_size_param(request, name, *, default, maximum):
    """The page size a request asks for: ``default`` when absent, else a whole number from 1 to
    ``maximum`` or a 400 under the parameter's name (never silently the default or the maximum)."""
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise exceptions.ValidationError({name: [
            _("Enter a whole number from 1 to %(max)d.") % {"max": maximum}]})
    return int(raw)


class ApiKeysetPagination(KeysetPagination):
    """Keyset pagination whose order always ends on the primary key.

    ``?ordering=name`` alone is not a total order (two customers may share a name), and a cursor
    over a partial order can skip or repeat rows.  The id is appended in the direction of the
    first field, so every ordering the view allows walks all rows exactly once.
    """

    def get_page_size(self, request):
        return page_size_param(request, self.page_size_query_param, default=self.page_size,
                               maximum=self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters

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


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter with nothing silently ignored: an unreadable value is a 400 (as the stock backend
    does), and so is a yes/no filter that is neither true nor false (its widget would read it as "no
    filter") and, on a list, a query parameter that neither the filter set, the pagination nor the
    ordering takes.  Views name extra parameters they read themselves in ``query_parameters``."""

    GLOBAL_PARAMETERS = {"format"}

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        errors = {}
        if not filterset.is_valid():
            errors.update(translate_validation(filterset.errors).detail)
        else:
            errors.update(self._range_errors(filterset))
        errors.update(self._boolean_errors(filterset, request.query_params))
        if getattr(view, "action", None) == "list":
            errors.update(self._unknown_parameters(filterset, request, view))
        if errors:
            raise exceptions.ValidationError(errors)
        return filterset.qs

    @staticmethod
    def _range_errors(filterset):
        """Values that parse but no record can hold: dates outside the sane range, numbers beyond 64 bits."""
        errors = {}
        for name, value in filterset.form.cleaned_data.items():
            if isinstance(value, datetime.date) and not in_date_range(value):
                errors[name] = [date_out_of_range_message()]
            elif isinstance(value, int | Decimal) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
                errors[name] = [_("This number is too large.")]
        return errors

    @staticmethod
    def _boolean_errors(filterset, params):
        errors = {}
        for name, field in filterset.form.fields.items():
            if not isinstance(field, forms.NullBooleanField) or params.get(name) in (None, ""):
                continue
            if field.widget.value_from_datadict({name: params.get(name).strip()}, {}, name) is None:
                errors[name] = [_("Enter true or false.")]
        return errors

    def _unknown_parameters(self, filterset, request, view):
        known = set(self.GLOBAL_PARAMETERS) | set(getattr(view, "query_parameters", ()))
        for name, field in filterset.form.fields.items():
            suffixes = getattr(field.widget, "suffixes", None)
            known |= {f"{name}_{suffix}" if suffix else name for suffix in suffixes} if suffixes else {name}
        paginator = getattr(view, "paginator", None)
        for attribute in ("cursor_query_param", "page_size_query_param", "page_query_param"):
            if getattr(paginator, attribute, None):
                known.add(getattr(paginator, attribute))
        for backend in view.filter_backends:
            if getattr(backend, "ordering_param", None):
                known.add(backend.ordering_param)
        message = _("Unknown parameter. This list takes: %(names)s.") % {"names": ", ".join(sorted(known))}
        return {name: [message] for name in request.query_params if name not in known}


class ApiViewMixin:
    """What every endpoint shares: ``permission_codes``, keyset pagination, strict filters and ordering."""

    permission_classes = [CodePermission]
    pagination_class = ApiKeysetPagination
    filter_backends = [StrictFilterBackend, StrictOrderingFilter]
    ordering_fields: list = []


class AwareDateTimeField(serializers.DateTimeField):
    """A moment sent with its time zone (``2026-03-01T09:30:00+08:00`` or ``…Z``), between the sane
    dates.  A datetime without a zone is a 400: an integration in another zone would be silently off by
    hours."""

    default_error_messages = {
        "naive": gettext_lazy("Give the time zone, e.g. 2026-03-01T09:30:00+08:00."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", [validate_date_range])
        super().__init__(**kwargs)

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


class DateField(serializers.DateField):
    """A calendar day between the sane dates (1900-01-01 to 2100-12-31)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", [validate_date_range])
        super().__init__(**kwargs)


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


class VisibleNameField(serializers.CharField):
    """The name of a related record that has its own visibility (a to-do's customer), or null when the
    caller may not see that record.  Querysets load the answer with ``with_related_visibility``."""

    def __init__(self, relation, **kwargs):
        self.relation = relation
        kwargs.setdefault("source", f"{relation}.name")
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def get_attribute(self, instance):
        request = self.context.get("request")
        if not related_visible(instance, self.relation, getattr(request, "user", None)):
            return None
        return super().get_attribute(instance)
