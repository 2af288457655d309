"""Framework endpoints: the audit log, custom field definitions and API tokens.

Core depends on no domain app: permissions are asked of the user object (``user.can(action)``) and the
models that carry custom fields are found through the app registry.
"""

import hashlib
import math
from collections.abc import Mapping

import django_filters
from axes.helpers import get_cool_off
from csp.decorators import csp_update
from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view, inline_serializer
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework import mixins, serializers, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from . import services
from .api import ANY_USER, ApiViewMixin, read_write_codes
from .choices import AuditAction
from .forms import custom_field_content_types
from .models import AuditEntry, CustomFieldDefinition, CustomFieldsModel
from .permissions import MANAGE_SETTINGS


class ContentTypeField(serializers.SlugRelatedField):
    """A record type as ``app_label.model`` (e.g. ``customers.customer``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "model")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        app_label, _sep, model = str(data).partition(".")
        try:
            return self.get_queryset().get(app_label=app_label, model=model)
        except ContentType.DoesNotExist:
            self.fail("does_not_exist", slug_name="app_label.model", value=data)

    def to_representation(self, obj):
        return f"{obj.app_label}.{obj.model}"


class CustomFieldRecordTypeField(ContentTypeField):
    """A record type that carries custom fields."""


class CustomFieldRecordTypeExtension(OpenApiSerializerFieldExtension):
    """In the schema, the record types with custom fields as an enum (found through the app registry)."""

    target_class = CustomFieldRecordTypeField

    def map_serializer_field(self, auto_schema, direction):
        types = sorted(f"{m._meta.app_label}.{m._meta.model_name}" for m in apps.get_models()
                       if issubclass(m, CustomFieldsModel))
        return {"type": "string", "enum": types}


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class ChoiceListField(serializers.JSONField):
    """The values of a choice field: a JSON list, stored as strings."""


# --- audit log --------------------------------------------------------------------------------------

@extend_schema_field(OpenApiTypes.INT)
class RecordIdFilter(django_filters.Filter):
    """A record id (the log keeps ids of every model as text): a whole number, or a 400."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        return super().filter(qs, None if value is None else str(value))


class AuditEntryFilterSet(django_filters.FilterSet):
    content_type = django_filters.CharFilter(
        method="filter_content_type", help_text="Record type as app_label.model, e.g. customers.customer",
    )
    object_id = RecordIdFilter(help_text="The record's id")
    actor = django_filters.ModelChoiceFilter(queryset=get_user_model()._default_manager.all())
    action = django_filters.ChoiceFilter(choices=AuditAction.choices)
    after = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    before = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEntry
        fields = []

    def filter_content_type(self, queryset, name, value):
        app_label, _sep, model = value.partition(".")
        content_type = ContentType.objects.filter(app_label=app_label, model=model).first()
        if content_type is None:
            raise serializers.ValidationError({"content_type": [_("Unknown record type.")]})
        return queryset.filter(content_type=content_type)


class AuditEntrySerializer(serializers.ModelSerializer):
    content_type = ContentTypeField(read_only=True)

    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor", "actor_repr", "ip_address", "source", "action", "content_type",
                  "object_id", "object_repr", "changes"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="The audit log, newest first (core.manage_settings)"),
    retrieve=extend_schema(summary="One audit entry (core.manage_settings)"),
)
class AuditEntryViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Append-only: there is no way to create, change or delete an entry through the API."""

    serializer_class = AuditEntrySerializer
    permission_codes = read_write_codes(MANAGE_SETTINGS, MANAGE_SETTINGS)
    queryset = AuditEntry.objects.select_related("content_type")
    filterset_class = AuditEntryFilterSet
    ordering = ["-at"]


# --- custom field definitions -----------------------------------------------------------------------

class CustomFieldDefinitionSerializer(serializers.ModelSerializer):
    content_type = CustomFieldRecordTypeField(
        queryset=ContentType.objects.all(),
        help_text="The record type the field belongs to, e.g. customers.customer or customers.contact.",
    )
    choices = ChoiceListField(required=False, help_text="Choice fields only: the values to choose from.")

    class Meta:
        model = CustomFieldDefinition
        fields = ["id", "content_type", "key", "label", "field_type", "choices", "required", "help_text",
                  "position", "active", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []  # the service's full_clean checks the unique key per record type

    def validate_content_type(self, value):
        allowed = {ct.pk for _model, ct in custom_field_content_types()}
        if value.pk not in allowed:
            raise serializers.ValidationError(_("This record type has no custom fields."))
        if self.instance is not None and value.pk != self.instance.content_type_id:
            raise serializers.ValidationError(_("The record type cannot change."))
        return value

    def validate_key(self, value):
        # Values are stored under the key in each record: renaming it would orphan them.
        if self.instance is not None and value != self.instance.key:
            raise serializers.ValidationError(_("The key cannot change once records may hold values under it."))
        return value

    def validate_choices(self, value):
        if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
            raise serializers.ValidationError(_("Enter a list of values."))
        return [str(v) for v in value]


@extend_schema_view(
    list=extend_schema(summary="Custom field definitions (any signed-in user reads; core.manage_settings writes)"),
)
class CustomFieldDefinitionViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                                   mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Definitions are deactivated (``active: false``), not deleted: stored values stay readable."""

    serializer_class = CustomFieldDefinitionSerializer
    permission_codes = read_write_codes(ANY_USER, MANAGE_SETTINGS)
    queryset = CustomFieldDefinition.objects.select_related("content_type")
    pagination_class = None
    filterset_fields = ["field_type", "active"]
    ordering = ["content_type", "position", "id"]

    def _save(self, serializer, definition):
        for key, value in serializer.validated_data.items():
            setattr(definition, key, value)
        serializer.instance = services.save_custom_field(definition, actor=self.request.user)

    def perform_create(self, serializer):
        self._save(serializer, CustomFieldDefinition())

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance)


# --- tokens -----------------------------------------------------------------------------------------

class _TokenThrottle(SimpleRateThrottle):
    """A rate from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]``, or the class's default."""

    default_rate = None

    def get_rate(self):
        return settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}).get(self.scope, self.default_rate)


class TokenObtainThrottle(_TokenThrottle):
    """Slows guessing one account's password from one address (``auth_token``, default 10/min): as on
    the log-in page, one person's typos do not hold up colleagues behind the same address."""

    scope = "auth_token"
    default_rate = "10/min"

    def get_cache_key(self, request, view):
        data = request.data if isinstance(request.data, Mapping) else {}
        account = hashlib.sha256(str(data.get("username", "")).encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": f"{self.get_ident(request)}:{account}"}


class TokenAddressThrottle(_TokenThrottle):
    """Stops one address from trying account after account (``auth_token_address``, default 60/min),
    a rate no office reaches by typing."""

    scope = "auth_token_address"
    default_rate = "60/min"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def lock_out_seconds(request):
    """Seconds until django-axes lets this username and address try again (each attempt during a
    lock-out starts the cool-off anew, as on the log-in page)."""
    cool_off = get_cool_off(request)
    return math.ceil(cool_off.total_seconds()) if cool_off else None


class TokenView(ObtainAuthToken):
    """Wrong credentials answer 400 ``{"non_field_errors": [...]}``.  Too many attempts answer 429 with
    ``Retry-After``: after ``LOGIN_FAILURE_LIMIT`` failures for a username from one address, django-axes
    locks that pair for both this endpoint and the log-in page, and even the right password waits."""

    authentication_classes = []
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES  # ObtainAuthToken names DRF's own
    throttle_classes = [TokenAddressThrottle, TokenObtainThrottle]

    @extend_schema(
        summary="Exchange a username and password for an API token",
        request=inline_serializer("TokenRequest", {
            "username": serializers.CharField(), "password": serializers.CharField(),
        }),
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            if getattr(request, "axes_locked_out", False):  # set by django-axes during authenticate()
                raise Throttled(wait=lock_out_seconds(request), detail=_(
                    "Too many failed log-ins for this account from your address. Try again later.")) from None
            raise


# --- browsable docs ---------------------------------------------------------------------------------

class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script served as a file (the CSP forbids inline scripts)."""

    template_name = "core/api/swagger_ui.html"


@method_decorator(csp_update({"worker-src": ["'self'", "blob:"], "style-src": ["'unsafe-inline'"]}),
                  name="dispatch")
class RedocView(SpectacularRedocView):
    """ReDoc from the local bundle.  Its components inject their own styles and its search index
    runs in a worker started from a blob, so this one page relaxes style-src and worker-src;
    scripts stay limited to this site."""

    template_name = "core/api/redoc.html"
