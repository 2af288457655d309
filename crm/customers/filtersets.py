"""One FilterSet per model, shared by the list page, the API and exports."""

import datetime

import django_filters
from django.db.models import F, FilteredRelation, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.accounts.models import OrgUnit, User
from crm.core.filtersets import ScopedFilterSet

from .choices import CustomerKind, CustomerStatus, CustomerType, Industry, Province, Source
from .models import Contact, Customer, Tag
from .queries import search_q

# Figures of the current analytics snapshot, joined once (one row per customer per snapshot) and
# exposed under these names for filters, sorting (keyset: the figure, then id) and list columns.
METRIC_COLUMNS = {
    "metric_segment": "segment", "metric_tier": "tier", "metric_class": "value_class",
    "metric_at_risk": "at_risk", "metric_next_purchase": "next_purchase_on",
    "clv": "clv", "p_alive": "p_alive", "loyalty": "loyalty",
}
METRIC_ORDERINGS = ("clv", "p_alive", "loyalty")
BOOLEAN_CHOICES = [("true", _("Yes")), ("false", _("No"))]


def _day_start(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _analytics_choices():
    from crm.analytics import choices

    return choices


def current_snapshot_id():
    """The id of the current analytics snapshot as a sub-select, so joining its figures costs no extra
    query (the database evaluates it once)."""
    from django.db.models import Subquery

    from crm.analytics.choices import SnapshotStatus
    from crm.analytics.models import Snapshot

    return Subquery(Snapshot.objects.filter(status=SnapshotStatus.COMPLETE).order_by("-finished_at", "-id")
                    .values("pk")[:1])


def with_current_metrics(queryset, snapshot_id=None):
    """Customers with the figures of snapshot ``snapshot_id`` (default: the current one; NULL where not
    analysed): a LEFT JOIN on the (snapshot, customer) unique index, in the list's own query."""
    snapshot_id = current_snapshot_id() if snapshot_id is None else snapshot_id
    queryset = queryset.annotate(current_metrics=FilteredRelation(
        "metrics", condition=Q(metrics__snapshot_id=snapshot_id)))
    return queryset.annotate(**{name: F(f"current_metrics__{field}") for name, field in METRIC_COLUMNS.items()})


def _segment_choices():
    from crm.analytics.models import Segment

    choices = _analytics_choices()
    rows = list(Segment.objects.order_by("position", "id").values_list("key", "label"))
    if not rows:
        from crm.analytics.stats.rfm import DEFAULT_SEGMENTS

        rows = [(key, label) for key, label, _cells in DEFAULT_SEGMENTS]
    return [(key, choices.segment_label(key, label)) for key, label in rows]


def _tier_choices():
    return _analytics_choices().Tier.choices


def _class_choices():
    return _analytics_choices().ValueClass.choices


class CustomerFilterSet(ScopedFilterSet):
    scoped_people = ("owner",)
    scoped_units = ("branch",)

    q = django_filters.CharFilter(label=_("Search"), method="filter_search",
                                  help_text=_("Name, pinyin initials, phone, or email"))
    owner = django_filters.ModelChoiceFilter(label=_("Owner"), queryset=User.objects.all())
    branch = django_filters.ModelChoiceFilter(label=_("Branch / team"), queryset=OrgUnit.objects.all())
    tag = django_filters.ModelChoiceFilter(label=_("Tag"), field_name="tags", queryset=Tag.objects.all())
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=CustomerKind.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=CustomerStatus.choices)
    customer_type = django_filters.ChoiceFilter(label=_("Customer type"), choices=CustomerType.choices)
    industry = django_filters.ChoiceFilter(label=_("Industry"), choices=Industry.choices)
    source = django_filters.ChoiceFilter(label=_("Source"), choices=Source.choices)
    province = django_filters.ChoiceFilter(label=_("Province"), choices=Province.choices)
    city = django_filters.CharFilter(label=_("City"), field_name="city")
    created_after = django_filters.DateFilter(label=_("Created from"), method="filter_created_after")
    created_before = django_filters.DateFilter(label=_("Created until"), method="filter_created_before")
    # Customer value (current analytics snapshot).
    segment = django_filters.ChoiceFilter(label=_("RFM segment"), choices=_segment_choices,
                                          field_name="metric_segment", method="filter_metric")
    tier = django_filters.ChoiceFilter(label=_("Value tier"), choices=_tier_choices, field_name="metric_tier",
                                       method="filter_metric")
    value_class = django_filters.ChoiceFilter(label=_("Value class"), choices=_class_choices,
                                              field_name="metric_class", method="filter_metric")
    at_risk = django_filters.ChoiceFilter(label=_("At risk of churn"), choices=BOOLEAN_CHOICES,
                                          method="filter_at_risk")
    due_this_week = django_filters.ChoiceFilter(label=_("Due to buy this week"), choices=[("true", _("Yes"))],
                                                method="filter_due_this_week")
    clv_min = django_filters.NumberFilter(label=_("Lifetime value from"), field_name="clv", lookup_expr="gte")
    clv_max = django_filters.NumberFilter(label=_("Lifetime value up to"), field_name="clv", lookup_expr="lte")

    class Meta:
        model = Customer
        fields = []

    # The figures are joined only when a filter or the sort uses them, or when the list shows them
    # (``with_metrics=True``): the API and exports without them keep their plain query.
    METRIC_FILTERS = ("segment", "tier", "value_class", "at_risk", "due_this_week", "clv_min", "clv_max")

    def __init__(self, *args, with_metrics=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.with_metrics = with_metrics

    @property
    def qs(self):
        if not hasattr(self, "_qs"):
            qs = super().qs
            if not self.is_bound and self.with_metrics:  # a bound filterset joined them in filter_queryset
                qs = with_current_metrics(qs)
            self._qs = qs
        return self._qs

    def _metric_orderings(self):
        """The figures in ``?ordering=`` (which may list several fields, comma-separated)."""
        raw = self.request.GET.get("ordering", "") if self.request is not None else ""
        return [name for name in (part.strip().lstrip("-") for part in raw.split(",")) if name in METRIC_ORDERINGS]

    def _needs_metrics(self):
        data = self.form.cleaned_data
        return (self.with_metrics or bool(self._metric_orderings())
                or any(data.get(name) not in (None, "") for name in self.METRIC_FILTERS))

    def filter_queryset(self, queryset):
        if self._needs_metrics():
            queryset = with_current_metrics(queryset)
            for ordering in self._metric_orderings():
                # Sorting by a figure lists the customers that have it (a keyset cannot start from NULL).
                queryset = queryset.filter(**{f"{ordering}__isnull": False})
        return super().filter_queryset(queryset)

    def filter_metric(self, queryset, name: str, value: str):
        return queryset.filter(**{name: value}) if value else queryset  # name: the annotated column

    def filter_at_risk(self, queryset, name, value):
        return queryset.filter(metric_at_risk=value == "true") if value else queryset

    def filter_due_this_week(self, queryset, name, value):
        if value != "true":
            return queryset
        today = timezone.localdate()
        week_start = today - datetime.timedelta(days=today.weekday())
        return queryset.filter(metric_next_purchase__gte=week_start,
                               metric_next_purchase__lte=week_start + datetime.timedelta(days=6))

    def filter_search(self, queryset, name, value):
        return queryset.filter(search_q(value)) if value.strip() else queryset

    # Dates are local calendar days; compare on the indexed timestamp, not on a cast of it.
    def filter_created_after(self, queryset, name, value):
        return queryset.filter(created_at__gte=_day_start(value))

    def filter_created_before(self, queryset, name, value):
        return queryset.filter(created_at__lt=_day_start(value + datetime.timedelta(days=1)))


class ContactFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="filter_search")
    customer = django_filters.NumberFilter(field_name="customer_id")
    purchase_role = django_filters.CharFilter()
    is_primary = django_filters.BooleanFilter()

    class Meta:
        model = Contact
        fields = []

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(name__icontains=value) | queryset.filter(email__istartswith=value)
