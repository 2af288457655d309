"""Interaction, to-do and timeline endpoints.  Querysets come from ``queries``; every change goes
through ``services``.  A record outside the caller's scope is not in the queryset: 404."""

from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from crm.core.api import ApiViewMixin, crud_codes, page_size_param
from crm.customers.queries import customers_for

from .. import permissions as perms
from .. import queries, services
from ..filtersets import InteractionFilterSet, TimelineEventFilterSet, TodoFilterSet
from ..models import TimelineEvent
from .serializers import InteractionSerializer, ReassignSerializer, TimelineEventSerializer, TodoSerializer


@extend_schema_view(
    list=extend_schema(summary="List interactions with the customers the caller may see"),
    create=extend_schema(summary="Log an interaction (a follow_up_on date creates a to-do for the owner)"),
    update=extend_schema(summary="Change an interaction (its timeline event and follow-up move with it)"),
    partial_update=extend_schema(summary="Change some fields of an interaction"),
    destroy=extend_schema(summary="Delete an interaction with its timeline event and open follow-up"),
)
class InteractionViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """Every contact with a customer (R2.1): call, visit, email, meeting, customer forum, survey, website,
    portal.  Customers outside the caller's scope answer 404; a contact must belong to the customer."""

    serializer_class = InteractionSerializer
    filterset_class = InteractionFilterSet
    permission_codes = crud_codes("activities", "interaction")
    ordering_fields = ["occurred_at", "created_at"]
    ordering = ["-occurred_at"]

    def get_queryset(self):
        return queries.interactions_for(self.request.user)

    def perform_create(self, serializer):
        customer = serializer.validated_data["customer"]
        serializer.instance = services.log_interaction(customer, actor=self.request.user,
                                                       data=serializer.service_data())

    def perform_update(self, serializer):
        services.update_interaction(serializer.instance, actor=self.request.user, data=serializer.service_data())

    def perform_destroy(self, instance):
        services.delete_interaction(instance, actor=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List to-dos: the caller's own and, per their scope, their colleagues'"),
    create=extend_schema(summary="Create a to-do (owner defaults to the caller)"),
    update=extend_schema(summary="Change a to-do (a new owner goes through reassignment)"),
    partial_update=extend_schema(summary="Change some fields of a to-do"),
    destroy=extend_schema(summary="Delete a to-do"),
)
class TodoViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """To-dos of the caller and, per their role's scope, of the people in their units.  Filter
    ``who=mine`` for the caller's own, ``status=open|done`` and ``due_after``/``due_before``."""

    serializer_class = TodoSerializer
    filterset_class = TodoFilterSet
    ordering_fields = ["due_on", "created_at"]
    ordering = ["due_on"]
    permission_codes = {**crud_codes("activities", "todo"), "complete": perms.CHANGE_TODO, "reopen": perms.CHANGE_TODO,
                        "reassign": perms.CHANGE_TODO}

    def get_queryset(self):
        return queries.todos_for(self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.create_todo(actor=self.request.user, data=serializer.service_data(),
                                                   owner=serializer.validated_data.get("owner"))

    def perform_update(self, serializer):
        todo, user = serializer.instance, self.request.user
        services.update_todo(todo, actor=user, data=serializer.service_data())
        owner = serializer.validated_data.get("owner")
        if owner is not None and owner != todo.owner:
            services.reassign_todo(todo, actor=user, owner=owner)
        serializer.instance = self.get_queryset().get(pk=todo.pk)  # as the caller now sees it

    def perform_destroy(self, instance):
        services.delete_todo(instance, actor=self.request.user)

    def _respond(self, todo):
        return Response(self.get_serializer(todo).data)

    @extend_schema(summary="Mark a to-do done (done twice changes nothing)", request=None,
                   responses={200: TodoSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._respond(services.complete_todo(self.get_object(), actor=request.user))

    @extend_schema(summary="Open a done to-do again", request=None, responses={200: TodoSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._respond(services.reopen_todo(self.get_object(), actor=request.user))

    @extend_schema(summary="Give a to-do to another user within the caller's scope", request=ReassignSerializer,
                   responses={200: TodoSerializer})
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        todo = self.get_object()
        payload = ReassignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._respond(services.reassign_todo(todo, actor=request.user, owner=payload.validated_data["owner"]))


class TimelinePagination(BasePagination):
    """Keyset pages of the timeline on ``(at, id)``: ``cursor`` comes from the previous page's ``next``."""

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri",
                         "example": "http://api.example.org/api/timeline/?customer=42&cursor=MjAyNi0xMS0yM1Q"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": self.cursor_query_param, "required": False, "in": "query",
             "description": "The cursor of the next page (from `next`).", "schema": {"type": "string"}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": f"Events per page (default {queries.TIMELINE_PAGE_SIZE}, "
                            f"at most {queries.TIMELINE_MAX_PAGE_SIZE}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": queries.TIMELINE_MAX_PAGE_SIZE}},
        ]


@extend_schema_view(list=extend_schema(
    summary="A customer's timeline, newest first (orders, interactions, ownership changes, cases)",
    parameters=[OpenApiParameter("customer", OpenApiTypes.INT, required=True,
                                 description="Customer id (required)."),
                OpenApiParameter("kind", OpenApiTypes.STR, many=True, explode=True,
                                 enum=[k for k, _label in TimelineEvent._meta.get_field("kind").choices],
                                 description="Only these kinds (repeat the parameter for several).")],
))
class TimelineViewSet(ApiViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Read-only.  Pages follow ``next`` (a keyset cursor on time and id); a customer outside the
    caller's scope answers 404."""

    serializer_class = TimelineEventSerializer
    queryset = TimelineEvent.objects.none()
    permission_codes = crud_codes("activities", "interaction")
    filterset_class = TimelineEventFilterSet
    filter_backends = [DjangoFilterBackend]
    pagination_class = TimelinePagination

    def list(self, request, *args, **kwargs):
        filterset = TimelineEventFilterSet(request.query_params, queryset=TimelineEvent.objects.none())
        if not filterset.is_valid():
            raise exceptions.ValidationError(filterset.errors)
        values = filterset.form.cleaned_data
        customer = customers_for(request.user).filter(pk=values["customer"]).values_list("pk", flat=True).first()
        if customer is None:
            raise exceptions.NotFound()
        size = page_size_param(request, "page_size", default=queries.TIMELINE_PAGE_SIZE,
                               maximum=queries.TIMELINE_MAX_PAGE_SIZE)
        try:
            page = queries.timeline_page(request.user, customer, kinds=values.get("kind") or None,
                                         cursor=request.query_params.get("cursor") or None, size=size)
        except queries.InvalidCursor:
            raise exceptions.ValidationError({"cursor": [_("This cursor is not valid.")]}) from None
        next_url = None
        if page.next_cursor:
            next_url = replace_query_param(request.build_absolute_uri(), "cursor", page.next_cursor)
        return Response({"next": next_url, "results": self.get_serializer(page.events, many=True).data})
