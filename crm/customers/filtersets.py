"""One FilterSet per model, shared by the list page, the API and exports."""

import datetime

import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.accounts.models import OrgUnit, User

from .choices import CustomerKind, CustomerStatus, CustomerType, Industry, Province, Source
from .models import Contact, Customer, Tag
from .queries import search_q


def _day_start(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class CustomerFilterSet(django_filters.FilterSet):
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

    def filter_search(self, queryset, name, value):
        return queryset.filter(search_q(value)) if value.strip() else queryset

    # Dates are local calendar days; compare on the indexed timestamp, not on a cast of it.
    def filter_created_after(self, queryset, name, value):
        return queryset.filter(created_at__gte=_day_start(value))

    def filter_created_before(self, queryset, name, value):
        return queryset.filter(created_at__lt=_day_start(value + datetime.timedelta(days=1)))


class ContactFilterSet(django_filters.FilterSet):
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
