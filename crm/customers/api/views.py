"""Customer archive endpoints.  Querysets come from ``queries``; every change goes through ``services``.

A record outside the caller's data scope is not in the queryset, so retrieving, changing, deleting or
assigning it answers 404, exactly as if it did not exist.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from crm.core.api import ApiViewMixin, crud_codes, read_write_codes

from .. import permissions as perms
from .. import services
from ..filtersets import ContactFilterSet, CustomerFilterSet, metric_orderings
from ..models import Contact, OwnershipChange, PoolRule, Tag
from ..queries import customers_for, pool_for, pool_list
from .serializers import (
    AssignSerializer,
    ContactSerializer,
    CustomerSerializer,
    HandoverResultSerializer,
    HandoverSerializer,
    OwnershipChangeSerializer,
    PoolCustomerSerializer,
    PoolRuleSerializer,
    ReleaseSerializer,
    TagSerializer,
)

DUPLICATE_RESPONSE = OpenApiResponse(
    description="Invalid input: `{field: [messages]}`.  A possible duplicate answers "
                "`{\"possible_duplicates\": [message], \"duplicates\": [{id, name}], \"hidden_duplicates\": n}`; "
                "send `allow_duplicate: true` to create it anyway.",
    examples=[OpenApiExample(
        "Possible duplicate",
        value={
            "possible_duplicates": ["Possible duplicate of: 北京星通科技有限公司. Confirm to save anyway."],
            "duplicates": [{"id": 42, "name": "北京星通科技有限公司"}],
            "hidden_duplicates": 0,
        },
    )],
)


@extend_schema_view(
    list=extend_schema(summary="List the customers the caller may see"),
    create=extend_schema(summary="Create a customer", responses={201: CustomerSerializer, 400: DUPLICATE_RESPONSE}),
    update=extend_schema(summary="Replace a customer's facts (owner/branch need customers.assign_customer)"),
    partial_update=extend_schema(summary="Change some of a customer's facts"),
    destroy=extend_schema(summary="Delete a customer"),
)
class CustomerViewSet(ApiViewMixin, viewsets.ModelViewSet):
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilterSet
    ordering = ["-created_at"]

    @property
    def ordering_fields(self):
        # Then the sortable columns other apps add: clv, p_alive, loyalty, figures of the current analytics
        # snapshot (customers without one are left out).
        return ["name", "created_at", "updated_at", *metric_orderings()]
    # claim: becoming the owner changes the customer.  release: the owner (change) or a manager (assign);
    # checked in the action, before the lookup, so a refused role is a 403 whatever the record.
    permission_codes = {**crud_codes("customers", "customer"), "assign": perms.ASSIGN, "history": perms.VIEW,
                        "claim": perms.CHANGE, "release": perms.VIEW}

    def get_queryset(self):
        return customers_for(self.request.user).prefetch_related("tags")

    def create(self, request, *args, **kwargs):
        try:
            return super().create(request, *args, **kwargs)
        except services.PossibleDuplicate as exc:
            # Not a plain field error: the body names the matches the caller may see (typed ids).
            return Response({
                "possible_duplicates": exc.messages,
                "duplicates": [{"id": c.pk, "name": c.name} for c in exc.visible],
                "hidden_duplicates": exc.hidden_count,
            }, status=status.HTTP_400_BAD_REQUEST)

    def perform_create(self, serializer):
        kwargs, data = serializer.service_kwargs()
        serializer.instance = services.create_customer(
            actor=self.request.user, owner=data.get("owner"), branch=data.get("branch"),
            allow_duplicate=data.get("allow_duplicate", False), **kwargs,
        )

    def perform_update(self, serializer):
        kwargs, data = serializer.service_kwargs()
        assignment = {name: data[name] for name in ("owner", "branch") if name in data}
        services.edit_customer(serializer.instance, actor=self.request.user, reason=_("changed through the API"),
                               **assignment, **kwargs)

    def perform_destroy(self, instance):
        services.delete_customer(instance, actor=self.request.user)

    @extend_schema(
        summary="Give the customer to another owner (and unit)",
        request=AssignSerializer, responses={200: CustomerSerializer},
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        customer = self.get_object()
        payload = AssignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.assign_customer(
            customer, actor=request.user, owner=payload.validated_data["owner"],
            branch=payload.validated_data.get("branch"), reason=payload.validated_data["reason"],
        )
        customer = customers_for(request.user).prefetch_related("tags").filter(pk=customer.pk).first() or customer
        return Response(CustomerSerializer(customer, context=self.get_serializer_context()).data)

    @extend_schema(summary="Ownership history of the customer, newest first",
                   responses={200: OwnershipChangeSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request, pk=None):
        customer = self.get_object()
        changes = OwnershipChange.objects.filter(customer=customer).select_related(
            "from_owner", "to_owner", "from_branch", "to_branch", "changed_by"
        )
        return Response(OwnershipChangeSerializer(changes, many=True).data)

    @extend_schema(
        summary="Claim a customer from the caller's customer pool",
        description="The customer must be in the caller's pool (no owner, in the caller's branch or its "
                    "sub-branches; any branch for a role that sees all records).  The role's customer cap "
                    "(`max_customers`) counts the caller's owned customers: at the cap the answer is 400 "
                    "with a message saying so.  Claiming a customer that has an owner is a 400; a customer "
                    "neither in the pool nor visible to the caller is a 404.",
        request=None, responses={200: CustomerSerializer, 400: OpenApiResponse(description="Over the cap, or owned.")},
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def claim(self, request, pk=None):
        user = request.user
        if not str(pk).isdigit():
            raise NotFound
        customer = pool_for(user).filter(pk=pk).first() or customers_for(user).filter(pk=pk).first()
        if customer is None:
            raise NotFound
        claimed = services.claim_customer(customer, actor=user)
        customer = customers_for(user).prefetch_related("tags").filter(pk=claimed.pk).first() or claimed
        return Response(CustomerSerializer(customer, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Release the customer to the pool of its branch, with a reason",
        description="The owner may release (with customers.change_customer), and so may a user with "
                    "customers.assign_customer.  The reason is kept in the ownership history and the timeline.",
        request=ReleaseSerializer, responses={200: CustomerSerializer},
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def release(self, request, pk=None):
        if not perms.can_release_some(request.user):
            raise PermissionDenied(_("Your role does not allow releasing customers."))
        customer = self.get_object()
        payload = ReleaseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        released = services.release_customer(customer, actor=request.user, reason=payload.validated_data["reason"])
        return Response(CustomerSerializer(released, context=self.get_serializer_context()).data)


@extend_schema_view(
    list=extend_schema(summary="List contacts of the customers the caller may see"),
    create=extend_schema(summary="Add a contact to a customer (needs customers.change_customer)"),
    destroy=extend_schema(summary="Delete a contact (needs customers.change_customer)"),
)
class ContactViewSet(ApiViewMixin, viewsets.ModelViewSet):
    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
    ordering_fields = ["name", "created_at", "updated_at"]
    ordering = ["-created_at"]
    # Contacts are part of their customer: adding or removing one changes the customer.
    permission_codes = {**crud_codes("customers", "customer"), "create": perms.CHANGE, "destroy": perms.CHANGE}

    def get_queryset(self):
        return Contact.objects.visible_to(self.request.user).select_related("customer")

    def perform_create(self, serializer):
        customer = serializer.validated_data["customer"]
        serializer.instance = services.add_contact(customer, actor=self.request.user, **serializer.service_kwargs())

    def perform_update(self, serializer):
        services.update_contact(serializer.instance, actor=self.request.user, **serializer.service_kwargs())

    def perform_destroy(self, instance):
        services.delete_contact(instance, actor=self.request.user)


@extend_schema_view(list=extend_schema(summary="List tags (customers refer to tags by name)"))
class TagViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = TagSerializer
    queryset = Tag.objects.all()
    permission_codes = crud_codes("customers", "customer")
    ordering_fields = ["name"]
    ordering = ["name"]



# --- customer pool (公海), pool rules, hand-over ---------------------------------------------------------

@extend_schema_view(list=extend_schema(
    summary="Customers in the caller's pool (claimable), the most recently returned first",
    description="Unowned customers of the caller's branch and its sub-branches (every unowned customer for "
                "a role that sees all records), with when and why each last returned to the pool.  Claim "
                "one with `POST /api/customers/{id}/claim/`.",
))
class PoolViewSet(ApiViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = PoolCustomerSerializer
    permission_codes = crud_codes("customers", "customer")
    filterset_class = CustomerFilterSet
    ordering_fields = ["name", "updated_at"]
    ordering = ["-updated_at"]

    def get_queryset(self):
        return pool_list(self.request.user)


@extend_schema_view(
    list=extend_schema(summary="Pool rules: when owned customers return to the pool"),
    create=extend_schema(summary="Add a pool rule (one per customer type; empty type = every other type)"),
)
class PoolRuleViewSet(ApiViewMixin, viewsets.ModelViewSet):
    serializer_class = PoolRuleSerializer
    permission_codes = read_write_codes(perms.MANAGE_POOL_RULES, perms.MANAGE_POOL_RULES)
    pagination_class = None
    filter_backends = []
    queryset = PoolRule.objects.order_by("customer_type", "id")

    def perform_create(self, serializer):
        serializer.instance = services.save_pool_rule(PoolRule(**serializer.validated_data), actor=self.request.user)

    def perform_update(self, serializer):
        rule = serializer.instance
        for key, value in serializer.validated_data.items():
            setattr(rule, key, value)
        services.save_pool_rule(rule, actor=self.request.user)

    def perform_destroy(self, instance):
        services.delete_pool_rule(instance, actor=self.request.user)


class CanAssign(permissions.BasePermission):
    def has_permission(self, request, view):
        return perms.can_assign(request.user)


class HandoverView(GenericAPIView):
    """Hand over a user's whole portfolio in one step (R1.3: customers are company property)."""

    permission_classes = [CanAssign]
    serializer_class = HandoverSerializer

    @extend_schema(
        summary="Move all of a user's customers, open to-dos and follow-ups to one person or a team",
        description="Send `to_user` or `to_unit`.  With a unit, customers are spread evenly across its active "
                    "members (whoever owns fewest gets the next one; ties by user id), to-dos follow their "
                    "customer.  Users and units outside the caller's access are unknown ids (400).  Every "
                    "customer's move is recorded with the caller and the reason.",
        request=HandoverSerializer, responses={200: HandoverResultSerializer},
    )
    def post(self, request):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        result = services.reassign_portfolio(actor=request.user, from_user=data["from_user"],
                                             to_user=data.get("to_user"), to_unit=data.get("to_unit"),
                                             reason=data["reason"])
        body = {
            "customers": result["customers"],
            "todos": result["todos"],
            "recipients": [{"user": r["user"].pk, "user_name": r["user"].display_name, "customers": r["customers"],
                            "todos": r["todos"]} for r in result["recipients"]],
        }
        return Response(HandoverResultSerializer(body).data)
