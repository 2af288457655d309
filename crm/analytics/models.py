"""Customer value analytics: settings, the editable RFM segment table, dated snapshots and the
per-customer metrics of each snapshot (R5, R6, R7)."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.core.models import ChangeLoggedModel
from crm.core.visibility import RestrictedModel, RestrictedQuerySet
from crm.customers.choices import RelationshipLevel

from .choices import ClvBasis, ModelPeriod, RefreshStage, SnapshotStatus, Tier, ValueClass

SHARE = [MinValueValidator(0), MaxValueValidator(1)]


class AnalyticsSettings(ChangeLoggedModel):
    """Run-time settings of the analysis (one row; admins change it on the settings page)."""

    lookback_days = models.PositiveIntegerField(
        _("look-back window (days)"), null=True, blank=True, default=3 * 365,
        help_text=_("Only orders of this many days before the as-of date count; empty: all history."))
    period = models.CharField(_("model time unit"), max_length=4, choices=ModelPeriod.choices,
                              default=ModelPeriod.WEEK)
    high_value_share = models.FloatField(_("high-value: top share of gross profit"), default=0.80,
                                         validators=SHARE)
    general_share = models.FloatField(_("general: up to this cumulative share"), default=0.95, validators=SHARE)
    clv_horizon_months = models.PositiveIntegerField(_("lifetime value horizon (months)"), default=36)
    annual_discount_rate = models.FloatField(_("annual discount rate"), default=0.10,
                                             validators=[MinValueValidator(0), MaxValueValidator(1)])
    clv_basis = models.CharField(_("lifetime value basis"), max_length=8, choices=ClvBasis.choices,
                                 default=ClvBasis.MARGIN)
    churn_threshold = models.FloatField(
        _("at risk of churn below P(alive)"), null=True, blank=True, default=None, validators=SHARE,
        help_text=_("Empty: chosen from the data by each refresh's backtest (recommended)."))
    holdout_months = models.PositiveIntegerField(_("holdout period for the model check (months)"), default=6)
    # Cost to serve (R5.3): unit costs an admin sets.
    cost_per_interaction = models.DecimalField(_("cost per interaction"), max_digits=10, decimal_places=2,
                                               default=Decimal("30"))
    cost_per_case = models.DecimalField(_("cost per service case"), max_digits=10, decimal_places=2,
                                        default=Decimal("120"))
    cost_per_campaign_message = models.DecimalField(_("cost per campaign message"), max_digits=10,
                                                    decimal_places=2, default=Decimal("2"))
    # Value-chain class rules (documented on the dashboard).
    transaction_promo_share = models.FloatField(
        _("transaction customer: at least this share of orders on promotion"), default=0.6, validators=SHARE)
    transaction_max_repeats = models.PositiveIntegerField(
        _("transaction customer: at most this many repeat purchases"), default=1)
    quasi_wallet_share = models.FloatField(
        _("quasi-cash-flow: share of wallet below"), default=0.5, validators=SHARE)
    low_yield_cost_ratio = models.FloatField(
        _("low-yield: cost to serve above this share of gross profit"), default=0.3, validators=SHARE)
    keep_snapshots = models.PositiveIntegerField(_("snapshots kept"), default=12)

    class Meta:
        verbose_name = _("analytics settings")
        verbose_name_plural = _("analytics settings")

    def __str__(self):
        return str(self._meta.verbose_name)

    @classmethod
    def load(cls):
        obj = cls.objects.order_by("pk").first()
        return obj or cls.objects.create()


class Segment(ChangeLoggedModel):
    """An RFM segment: the cells of the R×F grid it covers, and the relationship level practised
    with its customers (R7)."""

    key = models.SlugField(_("key"), max_length=40, unique=True)
    label = models.CharField(_("name"), max_length=60)
    description = models.CharField(_("description"), max_length=255, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    cells = models.JSONField(_("R×F cells"), default=list, help_text=_("List of [R, F] pairs, 1–5 each."))
    practised_level = models.CharField(_("relationship level practised"), max_length=12,
                                       choices=RelationshipLevel.choices, blank=True)

    class Meta:
        verbose_name = _("RFM segment")
        verbose_name_plural = _("RFM segments")
        ordering = ["position", "id"]

    def __str__(self):
        return self.label


class Snapshot(models.Model):
    """One refresh of the analysis, as of a date.  Metrics rows of a running snapshot are never shown:
    pages read the latest complete snapshot only."""

    as_of = models.DateField(_("as of"))
    status = models.CharField(_("status"), max_length=10, choices=SnapshotStatus.choices,
                              default=SnapshotStatus.RUNNING)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)
    stage = models.CharField(_("stage"), max_length=100, blank=True, choices=RefreshStage.choices)
    error = models.TextField(_("error"), blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    settings_used = models.JSONField(default=dict, blank=True)
    # Company-wide results: fitted parameters, log-likelihoods, holdout check, Pareto curve, Gini,
    # composition, product analyses, timings.
    results = models.JSONField(default=dict, blank=True)
    customers = models.PositiveIntegerField(_("customers analysed"), default=0)

    class Meta:
        verbose_name = _("analytics snapshot")
        verbose_name_plural = _("analytics snapshots")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["status", "-finished_at"], name="snapshot_status_idx")]

    def __str__(self):
        return f"{self.as_of} ({self.get_status_display()})"


class CustomerMetricsQuerySet(RestrictedQuerySet):
    def current(self):
        from .queries import current_snapshot

        snapshot = current_snapshot()
        return self.filter(snapshot=snapshot) if snapshot else self.none()


class CustomerMetrics(RestrictedModel):
    """Every figure of one customer in one snapshot.  Written in bulk by the refresh job."""

    owner_path = "customer__owner"
    unit_path = "customer__branch"

    # No single-column indexes: (snapshot, customer) and (customer, snapshot) below serve both, and
    # every extra index slows the bulk write of a refresh.
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="metrics", db_index=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="metrics",
                                 db_index=False)
    # history
    first_purchase = models.DateField(null=True)
    last_purchase = models.DateField(null=True)
    transactions = models.PositiveIntegerField(default=0)
    frequency = models.PositiveIntegerField(default=0)  # repeat transactions
    recency = models.FloatField(default=0)  # periods between first and last transaction
    age = models.FloatField(default=0)  # periods between first transaction and as-of
    days_since_last = models.PositiveIntegerField(null=True)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    gross_profit = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    avg_order_value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    promo_share = models.FloatField(null=True)
    # RFM
    r_score = models.PositiveSmallIntegerField(null=True)
    f_score = models.PositiveSmallIntegerField(null=True)
    m_score = models.PositiveSmallIntegerField(null=True)
    segment = models.CharField(max_length=40, blank=True)
    # value
    tier = models.CharField(max_length=8, choices=Tier.choices, blank=True)
    profit_rank_share = models.FloatField(null=True)  # cumulative profit share before this customer
    value_class = models.CharField(max_length=16, choices=ValueClass.choices, blank=True)
    share_of_wallet = models.FloatField(null=True)
    cost_to_serve = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    # models
    p_alive = models.FloatField(null=True)
    at_risk = models.BooleanField(default=False)
    expected_purchases = models.FloatField(null=True)  # next period
    expected_purchases_horizon = models.FloatField(null=True)
    expected_spend = models.FloatField(null=True)
    clv = models.FloatField(null=True)
    next_purchase_on = models.DateField(null=True)
    # loyalty (0–100) and its components (0–1 each)
    loyalty = models.FloatField(null=True)
    loyalty_components = models.JSONField(default=dict, blank=True)
    # relationship strategy (R7)
    recommended_level = models.CharField(max_length=12, choices=RelationshipLevel.choices, blank=True)

    objects = CustomerMetricsQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer metrics")
        verbose_name_plural = _("customer metrics")
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "customer"], name="metrics_unique_customer"),
        ]
        indexes = [
            models.Index(fields=["customer", "snapshot"], name="metrics_customer_idx"),
            models.Index(fields=["snapshot", "segment"], name="metrics_segment_idx"),
            models.Index(fields=["snapshot", "tier"], name="metrics_tier_idx"),
            models.Index(fields=["snapshot", "at_risk"], name="metrics_risk_idx"),
            models.Index(fields=["snapshot", "-clv"], name="metrics_clv_idx"),
            models.Index(fields=["snapshot", "next_purchase_on"], name="metrics_next_purchase_idx"),
        ]

    def __str__(self):
        return f"{self.snapshot_id}/{self.customer_id}"
