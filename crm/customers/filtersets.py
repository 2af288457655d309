"""One FilterSet per model, shared by the list page, the API and exports."""

import datetime

import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.accounts.models import OrgUnit, User
from crm.core import registry
from crm.core.filtersets import ScopedFilterSet

from .choices import CustomerKind, CustomerStatus, CustomerType, Industry, Province, Source
from .models import Contact, Customer, Tag
from .queries import search_q

# Filters and columns other apps add to the customer list (analytics: segment, tier, lifetime value …),
# from crm.core.registry; the list joins what they need only when they are used.
CUSTOMER = "customers.customer"


def metric_orderings() -> tuple[str, ...]:
    """The sortable columns other apps add to the customer list."""
    return tuple(column.order_by for column in registry.list_columns.entries(CUSTOMER) if column.sortable)


def _day_start(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


@registry.with_list_filters(CUSTOMER)
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
    class Meta:
        model = Customer
        fields = []

    # The contributed columns are joined only when a filter or the sort uses them, or when the list shows
    # them (``with_metrics=True``): the API and exports without them keep their plain query.
    def __init__(self, *args, with_metrics=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.with_metrics = with_metrics
        self.contributed = registry.list_filters.entries(CUSTOMER)

    @property
    def qs(self):
        if not hasattr(self, "_qs"):
            qs = super().qs
            if not self.is_bound and self.with_metrics:  # a bound filterset joined them in filter_queryset
                qs = self._annotate(qs, registry.list_columns.entries(CUSTOMER))
            self._qs = qs
        return self._qs

    def _metric_orderings(self):
        """The contributed columns in ``?ordering=`` (which may list several fields, comma-separated)."""
        raw = self.request.GET.get("ordering", "") if self.request is not None else ""
        sortable = metric_orderings()
        return [name for name in (part.strip().lstrip("-") for part in raw.split(",")) if name in sortable]

    @staticmethod
    def _annotate(queryset, entries):
        done = []
        for entry in entries:
            if entry.annotate is not None and entry.annotate not in done:
                queryset = entry.annotate(queryset)
                done.append(entry.annotate)
        return queryset

    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        orderings = self._metric_orderings()
        columns = registry.list_columns.entries(CUSTOMER)
        needed = [c for c in columns if self.with_metrics or (c.sortable and c.order_by in orderings)]
        needed += [f for f in self.contributed if data.get(f.key) not in (None, "")]
        queryset = self._annotate(queryset, needed)
        for ordering in orderings:
            # Sorting by a figure lists the customers that have it (a keyset cannot start from NULL).
            queryset = queryset.filter(**{f"{ordering}__isnull": False})
        return super().filter_queryset(queryset)

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
