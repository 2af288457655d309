from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.core.visibility import scope_for

from ..models import CustomerMetrics, Snapshot


class SnapshotSerializer(serializers.ModelSerializer):
    """A refresh: its status and progress (shared), and how many of the caller's customers it analysed.
    Company-wide ``results`` are on the detail, for callers whose data scope is all records only."""

    # Instances come from ``queries.snapshots_for(user)``, which counts ``customers_in_scope``.

    status = serializers.CharField(read_only=True, help_text="running, complete or failed")
    customers = serializers.IntegerField(source="customers_in_scope", read_only=True, help_text=(
        "Analysed customers in the caller's scope (the figure of /api/analytics/summary/); the whole "
        "company's for an all-records scope."))
    scope = serializers.SerializerMethodField(help_text=(
        "all: the caller sees every record and gets the company-wide results; scoped: figures cover "
        "the caller's customers only and results is null."))

    class Meta:
        model = Snapshot
        fields = ["id", "as_of", "status", "stage", "progress", "started_at", "finished_at", "customers",
                  "scope", "error", "requested_by"]
        read_only_fields = fields

    def _scope_all(self):
        request = self.context.get("request")
        return scope_for(getattr(request, "user", None)).all

    @extend_schema_field(serializers.ChoiceField(choices=["all", "scoped"]))
    def get_scope(self, obj):
        return "all" if self._scope_all() else "scoped"


class SnapshotDetailSerializer(SnapshotSerializer):
    results = serializers.JSONField(read_only=True, allow_null=True, help_text=(
        "Company-wide figures: fitted model parameters with log-likelihoods, the holdout check by "
        "frequency, the Lorenz curve, Gini, the 80/20 figure, composition, product analyses, timings.  "
        "null unless the caller's data scope is all records: the figures over one's own customers are "
        "at /api/analytics/summary/."))
    settings_used = serializers.JSONField(read_only=True)

    class Meta(SnapshotSerializer.Meta):
        fields = [*SnapshotSerializer.Meta.fields, "settings_used", "results"]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self._scope_all():
            data["results"] = None
        return data


class CustomerMetricsSerializer(serializers.ModelSerializer):
    """Every figure of one customer in the current snapshot."""

    customer_name = serializers.CharField(source="customer.name", read_only=True)
    owner = serializers.IntegerField(source="customer.owner_id", read_only=True, allow_null=True)
    loyalty_components = serializers.SerializerMethodField()

    class Meta:
        model = CustomerMetrics
        fields = ["customer", "customer_name", "owner", "snapshot", "first_purchase", "last_purchase",
                  "transactions", "frequency", "recency", "age", "days_since_last", "revenue", "gross_profit",
                  "avg_order_value", "promo_share", "r_score", "f_score", "m_score", "segment", "tier",
                  "profit_rank_share", "value_class", "share_of_wallet", "cost_to_serve", "p_alive", "at_risk",
                  "expected_purchases", "expected_purchases_horizon", "expected_spend", "clv", "next_purchase_on",
                  "loyalty", "loyalty_components", "recommended_level"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_loyalty_components(self, obj):
        return obj.loyalty_components


class TransitionCellSerializer(serializers.Serializer):
    from_ = serializers.CharField(help_text="Category in the earlier snapshot ('' = not analysed then).")
    to = serializers.CharField(help_text="Category in the later snapshot ('' = not analysed now).")
    customers = serializers.IntegerField()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class TransitionsSerializer(serializers.Serializer):
    dimension = serializers.ChoiceField(choices=["segment", "tier"])
    from_snapshot = serializers.IntegerField(allow_null=True)
    to_snapshot = serializers.IntegerField(allow_null=True)
    categories = serializers.ListField(child=serializers.CharField())
    cells = TransitionCellSerializer(many=True)
