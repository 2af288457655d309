"""Sales endpoints: catalogue, channel partners, stock movements and orders.

Orders are read through the caller's visible queryset: an order of a customer outside the caller's
scope answers 404 as if it did not exist.  Every write goes through ``crm.sales.services``; order
bodies are validated there, so errors come back nested by field (lines as a list of per-line objects).
"""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.core.api import ApiViewMixin, crud_codes, read_write_codes

from .. import services
from ..filtersets import (
    ChannelPartnerFilterSet,
    OrderFilterSet,
    ProductCategoryFilterSet,
    ProductFilterSet,
    StockMovementFilterSet,
)
from ..models import OrderLine, StockMovement
from ..permissions import CHANGE_ORDER, MANAGE_CATALOGUE, VIEW_CATALOGUE, VIEW_ORDER
from ..queries import categories, orders_for, partners, products
from .serializers import (
    BulkOrderResponseSerializer,
    ChannelPartnerSerializer,
    OrderCreateSerializer,
    OrderSerializer,
    OrderStatusSerializer,
    OrderWriteSerializer,
    ProductCategorySerializer,
    ProductSerializer,
    StockMovementSerializer,
)

ORDER_ERRORS = OpenApiResponse(
    description="Invalid order: `{field: [messages]}`; line errors as `{\"lines\": [{}, {field: [messages]}]}`.",
    examples=[OpenApiExample("Unknown product and bad quantity", value={
        "order_date": ["The order date is more than 30 days in the future."],
        "lines": [{}, {"product_code": ["Unknown product: XX-1."], "quantity": ["Must be greater than zero."]}],
    })],
)


class CatalogueViewSet(ApiViewMixin, viewsets.ModelViewSet):
    # Reading the master data needs sales.view_catalogue; changing it sales.manage_catalogue.
    permission_codes = read_write_codes(VIEW_CATALOGUE, MANAGE_CATALOGUE)
    create_service = update_service = None

    def perform_create(self, serializer):
        serializer.instance = type(self).create_service(actor=self.request.user, data=serializer.validated_data)

    def perform_update(self, serializer):
        type(self).update_service(serializer.instance, actor=self.request.user, data=serializer.validated_data)


@extend_schema_view(
    list=extend_schema(summary="List product categories"),
    create=extend_schema(summary="Create a product category (needs manage settings)"),
)
class ProductCategoryViewSet(CatalogueViewSet):
    serializer_class = ProductCategorySerializer
    filterset_class = ProductCategoryFilterSet
    ordering_fields = ["code", "name"]
    ordering = ["code"]

    def get_queryset(self):
        return categories()

    def perform_create(self, serializer):
        serializer.instance = services.save_category(actor=self.request.user, data=serializer.validated_data)

    def perform_update(self, serializer):
        services.save_category(serializer.instance, actor=self.request.user, data=serializer.validated_data)

    def perform_destroy(self, instance):
        services.delete_category(instance, actor=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List products (search by code prefix or name with ?q=)"),
    create=extend_schema(summary="Create a product (needs manage settings)"),
    destroy=extend_schema(summary="Delete a product that is on no order"),
)
class ProductViewSet(CatalogueViewSet):
    serializer_class = ProductSerializer
    filterset_class = ProductFilterSet
    ordering_fields = ["code", "name", "list_price"]
    ordering = ["code"]
    create_service = staticmethod(services.create_product)
    update_service = staticmethod(services.update_product)

    def get_queryset(self):
        return products()

    def perform_destroy(self, instance):
        services.delete_product(instance, actor=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List channel partners (dealers)"),
    create=extend_schema(summary="Create a channel partner (needs manage settings)"),
)
class ChannelPartnerViewSet(CatalogueViewSet):
    serializer_class = ChannelPartnerSerializer
    filterset_class = ChannelPartnerFilterSet
    ordering_fields = ["name"]
    ordering = ["name"]
    create_service = staticmethod(services.create_partner)
    update_service = staticmethod(services.update_partner)

    def get_queryset(self):
        return partners()

    def perform_destroy(self, instance):
        services.delete_partner(instance, actor=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List stock movements (newest first)"),
    create=extend_schema(summary="Record a stock movement; moves the product's stock on hand"),
)
class StockMovementViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                           mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Stock movements are history: corrections are new movements (an adjustment), never edits."""

    permission_codes = read_write_codes(VIEW_CATALOGUE, MANAGE_CATALOGUE)
    serializer_class = StockMovementSerializer
    filterset_class = StockMovementFilterSet
    ordering_fields = ["occurred_on"]
    ordering = ["-occurred_on"]

    def get_queryset(self):
        return StockMovement.objects.select_related("product")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.record_stock_movement(
            data["product"], actor=self.request.user, kind=data["kind"], quantity=data["quantity"],
            occurred_on=data.get("occurred_on"), unit_cost=data.get("unit_cost"),
            reference=data.get("reference", ""),
        )


def _order_body(request):
    if not isinstance(request.data, dict):
        raise exceptions.ValidationError({"non_field_errors": [_("The order must be a JSON object.")]})
    return dict(request.data)


@extend_schema_view(
    list=extend_schema(summary="List the orders of the customers the caller may see"),
    retrieve=extend_schema(summary="One order with its lines"),
    create=extend_schema(summary="Record an order", request=OrderCreateSerializer,
                         responses={201: OrderSerializer, 400: ORDER_ERRORS}),
    update=extend_schema(summary="Change an order: given fields are laid over it; lines, when given, replace "
                                 "all lines", request=OrderWriteSerializer,
                         responses={200: OrderSerializer, 400: ORDER_ERRORS}),
    partial_update=extend_schema(summary="Change some fields of an order (same rules as PUT)",
                                 request=OrderWriteSerializer, responses={200: OrderSerializer, 400: ORDER_ERRORS}),
    destroy=extend_schema(summary="Delete a draft order (others are cancelled, not deleted)"),
)
class OrderViewSet(ApiViewMixin, viewsets.ModelViewSet):
    serializer_class = OrderSerializer
    filterset_class = OrderFilterSet
    ordering_fields = ["order_date", "created_at"]
    ordering = ["-order_date"]
    # The upsert and the bulk endpoint check create/change per order inside the service.
    permission_codes = {**crud_codes("sales", "order"), "status": CHANGE_ORDER, "by_ref": VIEW_ORDER,
                        "bulk": VIEW_ORDER}

    def get_queryset(self):
        from django.db.models import Prefetch

        return orders_for(self.request.user).prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("position", "id")))

    def handle_exception(self, exc):
        if isinstance(exc, services.OrderInvalid):
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)

    def _fresh(self, order):
        return self.get_queryset().get(pk=order.pk)

    def get_object(self):
        """The order by id, or by its external reference on ``by-ref/{external_ref}/`` (also when
        DRF's OPTIONS metadata looks the object up to describe PUT)."""
        if "external_ref" not in self.kwargs:
            return super().get_object()
        order = self.get_queryset().filter(external_ref=self.kwargs["external_ref"]).first()
        if order is None:
            raise exceptions.NotFound()
        self.check_object_permissions(self.request, order)
        return order

    def create(self, request, *args, **kwargs):
        order = services.create_order(actor=request.user, data=_order_body(request), source="api")
        return Response(self.get_serializer(self._fresh(order)).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        order = self.get_object()
        body = _order_body(request)
        lines = body.pop("lines", None)
        order = services.update_order(order, actor=request.user, data=body, lines=lines, source="api")
        return Response(self.get_serializer(self._fresh(order)).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance):
        services.delete_order(instance, actor=self.request.user)

    @extend_schema(summary="Move the order to another status (a reason is needed to cancel or return it)",
                   request=OrderStatusSerializer, responses={200: OrderSerializer})
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        order = self.get_object()
        payload = OrderStatusSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.set_order_status(order, actor=request.user, status=payload.validated_data["status"],
                                  reason=payload.validated_data["reason"])
        return Response(self.get_serializer(self._fresh(order)).data)

    @extend_schema(
        methods=["GET"], summary="The order a back-office system knows by this reference",
        parameters=[OpenApiParameter("external_ref", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses={200: OrderSerializer}, filters=False,
    )
    @extend_schema(
        methods=["PUT"],
        summary="Create or update an order by its external reference (idempotent)",
        description="Sending the same order twice, or retrying after a timeout, never creates a duplicate: "
                    "201 when the order was created, 200 when it was updated or already as sent. "
                    "Lines are replaced.  The status is taken as the back-office system sends it.",
        parameters=[OpenApiParameter("external_ref", OpenApiTypes.STR, OpenApiParameter.PATH)],
        request=OrderCreateSerializer, responses={200: OrderSerializer, 201: OrderSerializer, 400: ORDER_ERRORS},
        filters=False,
    )
    @action(detail=False, methods=["get", "put"], url_path=r"by-ref/(?P<external_ref>[^/]+)",
            url_name="by-ref", filterset_class=None, pagination_class=None)
    def by_ref(self, request, external_ref=None):
        if request.method == "GET":
            return Response(self.get_serializer(self.get_object()).data)
        result = services.upsert_order(actor=request.user, external_ref=external_ref, payload=_order_body(request),
                                       source="api")
        code = status.HTTP_201_CREATED if result.status == services.CREATED else status.HTTP_200_OK
        return Response(self.get_serializer(self._fresh(result.order)).data, status=code)

    @extend_schema(
        summary="Create or update many orders by external reference",
        description="The body is a JSON array of orders (at most CRM_ORDER_BULK_MAX, default 5,000), each with "
                    "its `external_ref`.  Each order is validated alone; good ones are stored (each with its "
                    "lines, atomically) and bad ones reported.  200 with one result per order, in request "
                    "order: `created`, `updated`, `unchanged` (already as sent: nothing written) or `error` "
                    "with `errors` by field.  400 only when the body is not an array of at most the limit.",
        request=OrderWriteSerializer(many=True), responses={200: BulkOrderResponseSerializer}, filters=False,
    )
    @action(detail=False, methods=["post"], filterset_class=None, pagination_class=None)
    def bulk(self, request):
        payloads = request.data
        if not isinstance(payloads, list):
            raise exceptions.ValidationError({"non_field_errors": [_("Send a JSON array of orders.")]})
        limit = services.bulk_max_orders()
        if len(payloads) > limit:
            raise exceptions.ValidationError({"non_field_errors": [
                _("At most %(n)d orders per request.") % {"n": limit}]})
        results = services.bulk_upsert_orders(actor=request.user, payloads=payloads, source="api")
        counts = dict.fromkeys((services.CREATED, services.UPDATED, services.UNCHANGED, services.ERROR), 0)
        for result in results:
            counts[result.status] += 1
        return Response({"created": counts["created"], "updated": counts["updated"],
                         "unchanged": counts["unchanged"], "errors": counts["error"],
                         "results": [r.as_dict() for r in results]})
