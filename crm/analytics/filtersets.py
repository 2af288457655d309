"""One FilterSet for the per-customer metrics, shared by the API and the pages' filtered lists."""

import datetime

import django_filters
from django.db.models import F, FilteredRelation, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.filtersets import ScopedFilterSet
from crm.core.registry import ListFilter

from .choices import SnapshotStatus, Tier, ValueClass, segment_label
from .models import CustomerMetrics, Segment, Snapshot
from .queries import week_bounds
from .stats.rfm import DEFAULT_SEGMENTS

# "Buying": where a customer stands against their expected next purchase.  Overdue is judged against the
# snapshot's as-of date (the figures know nothing later); the weeks ahead count from today.
BUYING_CHOICES = [
    ("overdue", _("overdue")),
    ("this_week", _("this week")),
    ("next_30_days", _("in the next 30 days")),
    ("no_pattern", _("no pattern yet (one purchase)")),
]


def buying_q(value, *, next_field, at_risk_field, frequency_field, as_of, today=None):
    """The condition of the "Buying" choice ``value`` over the given columns (``as_of``: the snapshot's
    as-of date, a date or an expression); an empty ``Q()`` for an unknown value.  Dated choices leave out
    customers at risk of churn: the expected date assumes the customer is still active; the upcoming ones
    start at the as-of date, so an overdue customer is never also "this week"."""
    today = today or timezone.localdate()
    active = Q(**{at_risk_field: False})
    if value == "overdue":
        return active & Q(**{f"{next_field}__lt": as_of})
    upcoming = active & Q(**{f"{next_field}__gte": as_of})
    if value == "this_week":
        monday, sunday = week_bounds(today)
        return upcoming & Q(**{f"{next_field}__gte": monday, f"{next_field}__lte": sunday})
    if value == "next_30_days":
        return upcoming & Q(**{f"{next_field}__lte": today + datetime.timedelta(days=30)})
    if value == "no_pattern":
        return Q(**{f"{next_field}__isnull": True, frequency_field: 0})
    return Q()


class CustomerMetricsFilterSet(ScopedFilterSet):
    """Filters of ``/api/analytics/customers/``: "at risk, tier high, owner = me" and the like."""

    customer = django_filters.NumberFilter(field_name="customer_id", label=_("customer id"))
    segment = django_filters.CharFilter(field_name="segment", label=_("RFM segment key"))
    tier = django_filters.ChoiceFilter(choices=Tier.choices, label=_("value tier"))
    value_class = django_filters.ChoiceFilter(choices=ValueClass.choices, label=_("value-chain class"))
    at_risk = django_filters.BooleanFilter(label=_("at risk of churn"))
    min_clv = django_filters.NumberFilter(field_name="clv", lookup_expr="gte", label=_("lifetime value at least"))
    max_clv = django_filters.NumberFilter(field_name="clv", lookup_expr="lte", label=_("lifetime value at most"))
    min_p_alive = django_filters.NumberFilter(field_name="p_alive", lookup_expr="gte", label=_("P(alive) at least"))
    max_p_alive = django_filters.NumberFilter(field_name="p_alive", lookup_expr="lte", label=_("P(alive) at most"))
    owner = django_filters.ChoiceFilter(choices=[("me", _("me"))], method="filter_owner",
                                        label=_("owner: 'me' for the caller's own customers"))
    due_to_buy = django_filters.DateFilter(method="filter_due", label=_(
        "next expected purchase in the week (Monday to Sunday) of this date; leaves out customers at risk"))
    buying = django_filters.ChoiceFilter(choices=BUYING_CHOICES, method="filter_buying", label=_(
        "overdue: the expected purchase is before the snapshot's as-of date; this_week: expected from the as-of "
        "date to Sunday of the current week; next_30_days: expected from the as-of date to 30 days from today "
        "(these three leave out customers at risk); no_pattern: one purchase only, no expected date"))

    class Meta:
        model = CustomerMetrics
        fields = ["customer", "segment", "tier", "value_class", "at_risk"]

    def filter_owner(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        if value == "me" and user is not None and user.is_authenticated:
            return queryset.filter(customer__owner=user)
        return queryset

    def filter_buying(self, queryset, name, value):
        return queryset.filter(buying_q(value, next_field="next_purchase_on", at_risk_field="at_risk",
                                        frequency_field="frequency", as_of=F("snapshot__as_of")))

    def filter_due(self, queryset, name, value: datetime.date):
        monday, sunday = week_bounds(value)
        return queryset.filter(next_purchase_on__gte=monday, next_purchase_on__lte=sunday, at_risk=False)



class SnapshotFilterSet(ScopedFilterSet):
    status = django_filters.CharFilter(label=_("running, complete or failed"))

    class Meta:
        model = Snapshot
        fields = ["status"]


# --- what analytics adds to the customer list (registered in apps.py) ------------------------------------

# Figures of the current snapshot, joined once (one row per customer per snapshot) and exposed on the
# customer list under these names for filters, sorting (keyset: the figure, then id) and list columns.
METRIC_COLUMNS = {
    "metric_segment": "segment", "metric_tier": "tier", "metric_class": "value_class",
    "metric_at_risk": "at_risk", "metric_next_purchase": "next_purchase_on",
    "clv": "clv", "p_alive": "p_alive", "loyalty": "loyalty",
}
BOOLEAN_CHOICES = [("true", _("Yes")), ("false", _("No"))]


def current_snapshot_id():
    """The id of the current snapshot as a sub-select, so joining its figures costs no extra query (the
    database evaluates it once)."""
    return Subquery(Snapshot.objects.filter(status=SnapshotStatus.COMPLETE).order_by("-finished_at", "-id")
                    .values("pk")[:1])


def current_as_of():
    """The as-of date of the current snapshot as a sub-select (see :func:`current_snapshot_id`)."""
    return Subquery(Snapshot.objects.filter(status=SnapshotStatus.COMPLETE).order_by("-finished_at", "-id")
                    .values("as_of")[:1])


def with_current_metrics(queryset, snapshot_id=None):
    """Customers with the figures of snapshot ``snapshot_id`` (default: the current one; NULL where not
    analysed): a LEFT JOIN on the (snapshot, customer) unique index, in the list's own query."""
    snapshot_id = current_snapshot_id() if snapshot_id is None else snapshot_id
    queryset = queryset.annotate(current_metrics=FilteredRelation(
        "metrics", condition=Q(metrics__snapshot_id=snapshot_id)))
    return queryset.annotate(**{name: F(f"current_metrics__{field}") for name, field in METRIC_COLUMNS.items()})


def _segment_choices():
    rows = list(Segment.objects.order_by("position", "id").values_list("key", "label"))
    if not rows:
        rows = [(key, label) for key, label, _cells in DEFAULT_SEGMENTS]
    return [(key, segment_label(key, label)) for key, label in rows]


def _filter_metric(queryset, name: str, value: str):
    return queryset.filter(**{name: value}) if value else queryset  # name: the annotated column


def _filter_at_risk(queryset, name, value):
    return queryset.filter(metric_at_risk=value == "true") if value else queryset


def _filter_due_this_week(queryset, name, value):
    if value != "true":
        return queryset
    monday, sunday = week_bounds(timezone.localdate())
    return queryset.filter(metric_next_purchase__gte=monday, metric_next_purchase__lte=sunday)


def _filter_buying(queryset, name, value):
    if not value:
        return queryset
    return queryset.filter(buying_q(value, next_field="metric_next_purchase", at_risk_field="metric_at_risk",
                                    frequency_field="current_metrics__frequency", as_of=current_as_of()))


def _buying_filter():
    return django_filters.ChoiceFilter(label=_("Buying"), choices=BUYING_CHOICES, method=_filter_buying)


def _segment_filter():
    return django_filters.ChoiceFilter(label=_("RFM segment"), choices=_segment_choices,
                                       field_name="metric_segment", method=_filter_metric)


def _tier_filter():
    return django_filters.ChoiceFilter(label=_("Value tier"), choices=Tier.choices, field_name="metric_tier",
                                       method=_filter_metric)


def _class_filter():
    return django_filters.ChoiceFilter(label=_("Value class"), choices=ValueClass.choices,
                                       field_name="metric_class", method=_filter_metric)


def _at_risk_filter():
    return django_filters.ChoiceFilter(label=_("At risk of churn"), choices=BOOLEAN_CHOICES, method=_filter_at_risk)


def _due_this_week_filter():
    return django_filters.ChoiceFilter(label=_("Due to buy this week"), choices=[("true", _("Yes"))],
                                       method=_filter_due_this_week)


def _clv_min_filter():
    return django_filters.NumberFilter(label=_("Lifetime value from"), field_name="clv", lookup_expr="gte")


def _clv_max_filter():
    return django_filters.NumberFilter(label=_("Lifetime value up to"), field_name="clv", lookup_expr="lte")


CUSTOMER_LIST_FILTERS = (
    ListFilter("segment", _segment_filter, order=10, annotate=with_current_metrics),
    ListFilter("tier", _tier_filter, order=20, annotate=with_current_metrics),
    ListFilter("value_class", _class_filter, order=30, annotate=with_current_metrics),
    ListFilter("at_risk", _at_risk_filter, order=40, annotate=with_current_metrics),
    ListFilter("due_this_week", _due_this_week_filter, order=50, annotate=with_current_metrics),
    ListFilter("buying", _buying_filter, order=55, annotate=with_current_metrics),
    ListFilter("clv_min", _clv_min_filter, order=60, annotate=with_current_metrics),
    ListFilter("clv_max", _clv_max_filter, order=70, annotate=with_current_metrics),
)
