from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import CustomerMetrics, Snapshot


class SnapshotSerializer(serializers.ModelSerializer):
    """A refresh: its status and progress; ``results`` (company-wide figures) on the detail only."""

    status = serializers.CharField(read_only=True, help_text="running, complete or failed")

    class Meta:
        model = Snapshot
        fields = ["id", "as_of", "status", "stage", "progress", "started_at", "finished_at", "customers",
                  "error", "requested_by"]
        read_only_fields = fields


class SnapshotDetailSerializer(SnapshotSerializer):
    results = serializers.JSONField(read_only=True, help_text=(
        "Company-wide figures: fitted model parameters with log-likelihoods, the holdout check by "
        "frequency, the Lorenz curve, Gini, the 80/20 figure, composition, product analyses, timings."))
    settings_used = serializers.JSONField(read_only=True)

    class Meta(SnapshotSerializer.Meta):
        fields = [*SnapshotSerializer.Meta.fields, "settings_used", "results"]
        read_only_fields = fields


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
