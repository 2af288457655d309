"""Users, org units, roles and the caller's own profile.  Writes go through ``accounts.services``."""

import django_filters
from django.db.models import Q
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.core import api_views as core_api_views
from crm.core.api import ANY_USER, ApiViewMixin, read_write_codes

from .. import services
from ..models import OrgUnit, Role, User
from ..permissions import MANAGE_USERS
from ..queries import assignable_users
from .serializers import (
    MeSerializer,
    OrgUnitSerializer,
    RoleSerializer,
    TemporaryPasswordSerializer,
    TokenRequestSerializer,
    UserSerializer,
)


class UserFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", help_text="Username, name or email contains")
    org_unit = django_filters.ModelChoiceFilter(queryset=OrgUnit.objects.all())
    role = django_filters.ModelChoiceFilter(queryset=Role.objects.all())
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = User
        fields = []

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(username__icontains=value) | Q(full_name__icontains=value)
                               | Q(email__icontains=value))


@extend_schema_view(
    list=extend_schema(summary="Users: those the caller may assign records to; every user for admins"),
    create=extend_schema(summary="Create a user (accounts.manage_users)"),
    update=extend_schema(summary="Change a user (accounts.manage_users)"),
    partial_update=extend_schema(summary="Change some of a user's fields (accounts.manage_users)"),
)
class UserViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Users are deactivated (``is_active: false``), never deleted: their records keep their history."""

    serializer_class = UserSerializer
    permission_codes = {**read_write_codes(ANY_USER, MANAGE_USERS), "reset_password": MANAGE_USERS}
    filterset_class = UserFilterSet
    ordering_fields = ["username", "full_name", "date_joined"]
    ordering = ["username"]

    def get_queryset(self):
        user = self.request.user
        if not getattr(user, "is_authenticated", False):
            return User.objects.none()
        qs = User.objects.all() if user.can(MANAGE_USERS) else assignable_users(user)
        return qs.select_related("org_unit", "role")

    def _save(self, serializer, user):
        data = dict(serializer.validated_data)
        password = data.pop("password", None)
        for key, value in data.items():
            setattr(user, key, value)
        serializer.instance = services.save_user(user, actor=self.request.user, password=password)

    def perform_create(self, serializer):
        self._save(serializer, User())

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance)

    @extend_schema(summary="Reset a user's password to a temporary one they must change (accounts.manage_users)",
                   request=None, responses={200: TemporaryPasswordSerializer})
    @action(detail=True, methods=["post"], url_path="reset-password")
    def reset_password(self, request, pk=None):
        temporary = services.reset_password_by_admin(self.get_object(), actor=request.user)
        response = Response(TemporaryPasswordSerializer({"temporary_password": temporary}).data)
        response["Cache-Control"] = "no-store"
        return response


@extend_schema_view(list=extend_schema(summary="The organisation tree, in tree order (head office first)"))
class OrgUnitViewSet(ApiViewMixin, viewsets.ModelViewSet):
    serializer_class = OrgUnitSerializer
    permission_codes = read_write_codes(ANY_USER, MANAGE_USERS)
    queryset = OrgUnit.objects.all()
    pagination_class = None
    ordering = ["path"]
    filterset_fields = ["kind", "parent"]

    def _save(self, serializer, unit):
        for key, value in serializer.validated_data.items():
            setattr(unit, key, value)
        serializer.instance = services.save_unit(unit, actor=self.request.user)

    def perform_create(self, serializer):
        self._save(serializer, OrgUnit())

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance)

    def perform_destroy(self, instance):
        services.delete_unit(instance, actor=self.request.user)


@extend_schema_view(list=extend_schema(summary="Roles: permission codes and data scope (accounts.manage_users)"))
class RoleViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  mixins.UpdateModelMixin, viewsets.GenericViewSet):
    serializer_class = RoleSerializer
    permission_codes = read_write_codes(MANAGE_USERS, MANAGE_USERS)
    queryset = Role.objects.all()
    pagination_class = None
    ordering = ["name"]

    def _save(self, serializer, role):
        data = dict(serializer.validated_data)
        for key, value in data.items():
            setattr(role, key, value)
        serializer.instance = services.save_role(role, actor=self.request.user)

    def perform_create(self, serializer):
        self._save(serializer, Role())

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance)


class MeView(APIView):
    """The signed-in user: role, granted permission codes and data scope."""

    permission_classes = [IsAuthenticated]

    @extend_schema(summary="The signed-in user, their permission codes and data scope", responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class TokenView(core_api_views.TokenView):
    """The token endpoint with the account's own conditions: no token while an administrator's temporary
    password is unchanged, and a two-factor code when the user has set up two-factor log-in."""

    serializer_class = TokenRequestSerializer

    @extend_schema(
        summary="Exchange a username and password for an API token",
        request=inline_serializer("TokenRequest", {
            "username": serializers.CharField(), "password": serializers.CharField(),
            "otp": serializers.CharField(required=False, help_text="Code of the authenticator app; required "
                                         "when the user has two-factor log-in."),
        }),
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
