"""Serializers of users, the organisation tree and roles.  Saving goes through ``accounts.services``."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer

from crm.core import permissions as rights
from crm.core.api import validation_detail

from .. import services
from ..choices import DataScopeKind
from ..models import OrgUnit, Role, User


class UserSerializer(serializers.ModelSerializer):
    org_unit_name = serializers.CharField(source="org_unit.name", read_only=True, allow_null=True)
    role_name = serializers.CharField(source="role.name", read_only=True, allow_null=True)
    display_name = serializers.CharField(read_only=True)
    password = serializers.CharField(
        write_only=True, required=False, allow_blank=False, style={"input_type": "password"},
        help_text="Sets the password (checked by the password rules).  Omit to keep it; a new user "
                  "created without one cannot log in until it is set.",
    )

    class Meta:
        model = User
        fields = [
            "id", "username", "full_name", "display_name", "email", "phone", "org_unit", "org_unit_name",
            "manager", "role", "role_name", "is_active", "is_superuser", "password", "must_change_password",
            "last_login", "date_joined",
        ]
        read_only_fields = ["id", "must_change_password", "last_login", "date_joined"]

    def validate(self, attrs):
        password = attrs.get("password")
        if password:
            probe = self.instance or User(**{k: v for k, v in attrs.items() if k in {"username", "email",
                                                                                        "full_name"}})
            try:
                validate_password(password, probe)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"password": exc.messages}) from exc
        return attrs


class OrgUnitSerializer(serializers.ModelSerializer):
    depth = serializers.IntegerField(read_only=True)

    class Meta:
        model = OrgUnit
        fields = ["id", "name", "kind", "parent", "path", "depth", "created_at", "updated_at"]
        read_only_fields = ["id", "path", "depth", "created_at", "updated_at"]


def permission_choices():
    return [(p.code, str(p.label)) for p in rights.registered()]


class PermissionCodesField(serializers.MultipleChoiceField):
    """A list of permission codes from the registry; answered in the registry's order."""

    def __init__(self, **kwargs):
        super().__init__(choices=(), **kwargs)

    def bind(self, field_name, parent):
        super().bind(field_name, parent)
        self.choices = permission_choices()

    def to_internal_value(self, data):
        self.choices = permission_choices()
        granted = super().to_internal_value(data)
        return [code for code in self.choices if code in granted]

    def to_representation(self, value):
        held = set(value or [])
        return [p.code for p in rights.registered() if p.code in held]


class RoleSerializer(serializers.ModelSerializer):
    permissions = PermissionCodesField(
        required=False, help_text="The permission codes the role grants, e.g. customers.view_customer.")
    data_scope = serializers.ChoiceField(choices=DataScopeKind.choices, required=False)

    class Meta:
        model = Role
        fields = ["id", "name", "description", "permissions", "data_scope", "max_customers", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class ScopeSerializer(serializers.Serializer):
    all = serializers.BooleanField(help_text="True when every record is visible.")
    owner_ids = serializers.ListField(child=serializers.IntegerField(),
                                      help_text="Records owned by these users are visible.")
    unit_ids = serializers.ListField(child=serializers.IntegerField(),
                                     help_text="Records held by these org units are visible.")


class MeSerializer(serializers.ModelSerializer):
    org_unit_name = serializers.CharField(source="org_unit.name", read_only=True, allow_null=True)
    role_name = serializers.CharField(source="role.name", read_only=True, allow_null=True)
    display_name = serializers.CharField(read_only=True)
    permissions = serializers.SerializerMethodField()
    data_scope = serializers.SerializerMethodField()
    scope = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id", "username", "full_name", "display_name", "email", "org_unit", "org_unit_name", "role",
            "role_name", "is_superuser", "permissions", "data_scope", "scope",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField(), help_text="Permission codes."))
    def get_permissions(self, user):
        return [p.code for p in rights.registered() if user.can(p.code)]

    @extend_schema_field(OpenApiTypes.STR)
    def get_data_scope(self, user):
        """The role's scope kind (own, subordinates, team, branch, branch_tree, all), or null."""
        if user.is_superuser:
            return DataScopeKind.ALL.value
        return user.role.data_scope if user.role_id else None

    @extend_schema_field(ScopeSerializer)
    def get_scope(self, user):
        scope = user.data_scope()
        return {"all": scope.all, "owner_ids": sorted(scope.owner_ids), "unit_ids": sorted(scope.unit_ids)}


class TemporaryPasswordSerializer(serializers.Serializer):
    temporary_password = serializers.CharField(
        help_text="Shown only in this response.  The user must choose a new password at the next log-in.")


class TokenRequestSerializer(AuthTokenSerializer):
    """Username and password, then what the account needs beyond them (``services.check_api_token_request``)."""

    otp = serializers.CharField(
        required=False, allow_blank=True, max_length=16, write_only=True,
        help_text="The current code of the user's authenticator app; required when they use two-factor log-in.",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        try:
            services.check_api_token_request(attrs["user"], attrs.get("otp"))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(validation_detail(exc)) from exc
        return attrs
