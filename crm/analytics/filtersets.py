"""One FilterSet for the per-customer metrics, shared by the API and the pages' filtered lists."""

import datetime

import django_filters
from django.utils.translation import gettext_lazy as _

from crm.core.filtersets import ScopedFilterSet

from .choices import Tier, ValueClass
from .models import CustomerMetrics, Snapshot
from .queries import week_bounds


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

    class Meta:
        model = CustomerMetrics
        fields = ["customer", "segment", "tier", "value_class", "at_risk"]

    def filter_owner(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        if value == "me" and user is not None and user.is_authenticated:
            return queryset.filter(customer__owner=user)
        return queryset

    def filter_due(self, queryset, name, value: datetime.date):
        monday, sunday = week_bounds(value)
        return queryset.filter(next_purchase_on__gte=monday, next_purchase_on__lte=sunday, at_risk=False)



class SnapshotFilterSet(ScopedFilterSet):
    status = django_filters.CharFilter(label=_("running, complete or failed"))

    class Meta:
        model = Snapshot
        fields = ["status"]
