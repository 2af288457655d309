"""Customer value endpoints.  Figures come from ``queries`` (always over the caller's customers); a
refresh goes through ``services.request_refresh``.  Customers outside the caller's scope are never
listed."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.core.api import ApiViewMixin, CodePermission, read_write_codes

from .. import queries, services
from ..filtersets import CustomerMetricsFilterSet, SnapshotFilterSet
from ..models import CustomerMetrics, Snapshot
from ..permissions import REFRESH, VIEW
from .serializers import (
    CustomerMetricsSerializer,
    SnapshotDetailSerializer,
    SnapshotSerializer,
    TransitionsSerializer,
)

# Sorting by a model figure leaves out customers without one (when the model could not be fitted).
NULLABLE_ORDERING = {"clv", "p_alive", "loyalty"}


@extend_schema_view(
    list=extend_schema(summary="List refreshes of the customer value analysis, newest first, with progress"),
    retrieve=extend_schema(summary="One refresh; its company-wide results for an all-records scope only"),
)
class SnapshotViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Snapshots of the analysis.  Pages show only the latest *complete* one; a *running* one reports
    its ``stage`` and ``progress``; a *failed* one its ``error``.  Metadata is shared; ``customers``
    counts the caller's customers, and ``results`` (company-wide) is null unless the caller sees all."""

    permission_codes = {"GET": VIEW}
    queryset = Snapshot.objects.all()
    ordering_fields = ["started_at"]
    ordering = ["-started_at"]
    filterset_class = SnapshotFilterSet

    def get_queryset(self):
        return queries.snapshots_for(self.request.user)

    def get_serializer_class(self):
        return SnapshotDetailSerializer if self.action == "retrieve" else SnapshotSerializer


class RefreshView(APIView):
    """Start a refresh now (role action *manage settings*).  Answers 202 with the snapshot; while a
    refresh is running, with the running one — asking twice starts one refresh."""

    permission_classes = [CodePermission]
    permission_codes = read_write_codes(REFRESH, REFRESH)

    @extend_schema(summary="Refresh the customer value analysis now", request=None,
                   responses={202: SnapshotSerializer})
    def post(self, request):
        snapshot = services.request_refresh(actor=request.user)
        snapshot = queries.snapshots_for(request.user).get(pk=snapshot.pk)
        return Response(SnapshotSerializer(snapshot, context={"request": request}).data,
                        status=status.HTTP_202_ACCEPTED)


class SummaryView(APIView):
    """Every dashboard figure over the caller's customers: a branch manager gets the branch's figures."""

    permission_classes = [CodePermission]
    permission_codes = {"GET": VIEW}

    @extend_schema(summary="Customer value summary over the caller's customers (current snapshot)",
                   responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description=(
                       "segments, grid (R×F counts), scores, tiers, lorenz, gini, customers_for_80, classes, "
                       "at_risk, loyalty, kotler, models, holdout; 404 before the first refresh")),
                              404: OpenApiResponse(description="No analysis yet: run a refresh first.")})
    def get(self, request):
        summary = queries.scoped_summary(request.user)
        if summary is None:
            raise exceptions.NotFound(_("No analysis yet: run a refresh first."))
        return Response(summary)


@extend_schema_view(list=extend_schema(
    summary="Customer value metrics of the customers the caller may see (current snapshot)",
    parameters=[OpenApiParameter("ordering", OpenApiTypes.STR, description=(
        "One of clv, p_alive, loyalty, r_score, f_score, m_score, revenue, gross_profit, next_purchase_on "
        "(prefix - for descending; default -gross_profit).  Sorting by clv, p_alive or loyalty leaves out customers "
        "without that figure."))],
))
class CustomerMetricsViewSet(ApiViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Filter by segment, tier, value class, at-risk flag, lifetime value and P(alive) ranges,
    ``owner=me``, ``due_to_buy=<date>`` (next expected purchase in that week); keyset pages."""

    permission_codes = {"GET": VIEW}
    serializer_class = CustomerMetricsSerializer
    filterset_class = CustomerMetricsFilterSet
    queryset = CustomerMetrics.objects.none()
    ordering_fields = ["clv", "p_alive", "loyalty", "r_score", "f_score", "m_score", "revenue", "gross_profit",
                       "next_purchase_on"]
    ordering = ["-gross_profit"]

    def get_queryset(self):
        qs = queries.metrics_queryset(self.request.user)
        ordering = (self.request.query_params.get("ordering") or "").split(",")[0].strip().lstrip("-")
        if ordering in NULLABLE_ORDERING | {"next_purchase_on"}:
            qs = qs.filter(**{f"{ordering}__isnull": False})
        return qs


class TransitionsView(APIView):
    """How many of the caller's customers moved between segments or tiers from one snapshot to another
    (default: from the previous complete snapshot to the current one)."""

    permission_classes = [CodePermission]
    permission_codes = {"GET": VIEW}

    @extend_schema(
        summary="Movement of the caller's customers between segments or tiers",
        parameters=[
            OpenApiParameter("dimension", OpenApiTypes.STR, enum=["segment", "tier"], description="Default segment."),
            OpenApiParameter("from", OpenApiTypes.INT, description="Earlier snapshot id (default: the previous one)."),
            OpenApiParameter("to", OpenApiTypes.INT, description="Later snapshot id (default: the current one)."),
        ],
        responses={200: TransitionsSerializer,
                   404: OpenApiResponse(description="Fewer than two complete refreshes, or no such snapshot.")},
    )
    def get(self, request):
        dimension = request.query_params.get("dimension", "segment")
        if dimension not in queries.DIMENSIONS:
            raise exceptions.ValidationError({"dimension": [_("Choose segment or tier.")]})
        complete = queries.complete_snapshots()
        to = self._snapshot(complete, "to") or queries.current_snapshot()
        earlier = self._snapshot(complete, "from") or queries.previous_snapshot(to)
        if to is None or earlier is None:
            raise exceptions.NotFound(_("Two complete refreshes are needed to show movement."))
        result = queries.transition_matrix(request.user, earlier, to, dimension)
        return Response({"dimension": dimension, "from_snapshot": earlier.pk, "to_snapshot": to.pk,
                         "categories": result["categories"], "cells": result["cells"]})

    def _snapshot(self, complete, param):
        value = self.request.query_params.get(param)
        if not value:
            return None
        try:
            return complete.get(pk=int(value))
        except (ValueError, Snapshot.DoesNotExist):
            raise exceptions.ValidationError({param: [_("Not a complete snapshot.")]}) from None
