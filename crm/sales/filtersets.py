"""One FilterSet per model, shared by the list pages, the API and exports; filters on people are narrowed
to the caller's scope by ``ScopedFilterSet``."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.accounts.models import User
from crm.core.filtersets import ScopedFilterSet
from crm.core.text import prefix_range
from crm.customers.models import Customer
from crm.customers.queries import search_q

from .choices import OrderStatus, SalesChannel, StockMovementKind
from .models import ChannelPartner, Order, Product, ProductCategory, StockMovement


class OrderFilterSet(ScopedFilterSet):
    scoped_people = ("seller",)

    q = django_filters.CharFilter(label=_("Customer"), method="filter_customer_search",
                                  help_text=_("Customer name, pinyin initials, phone or email"))
    customer = django_filters.NumberFilter(label=_("Customer id"), field_name="customer_id")
    customer_ref = django_filters.CharFilter(label=_("Customer external reference"),
                                             field_name="customer__external_ref")
    status = django_filters.MultipleChoiceFilter(label=_("Status"), choices=OrderStatus.choices)
    channel = django_filters.ChoiceFilter(label=_("Sales channel"), choices=SalesChannel.choices)
    seller = django_filters.ModelChoiceFilter(label=_("Sold by"), queryset=User.objects.all())
    partner = django_filters.ModelChoiceFilter(label=_("Channel partner"), queryset=ChannelPartner.objects.all())
    date_from = django_filters.DateFilter(label=_("Order date from"), field_name="order_date", lookup_expr="gte")
    date_to = django_filters.DateFilter(label=_("Order date until"), field_name="order_date", lookup_expr="lte")
    external_ref = django_filters.CharFilter(label=_("External reference"), field_name="external_ref")
    is_promotion = django_filters.BooleanFilter(label=_("Promotion"))

    class Meta:
        model = Order
        fields = []

    def filter_customer_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(customer_id__in=Customer.objects.filter(search_q(value)).values("pk"))


class ProductFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="filter_search", help_text=_("Code or name"))
    category = django_filters.ModelChoiceFilter(label=_("Category"), queryset=ProductCategory.objects.all())
    active = django_filters.BooleanFilter(label=_("Active"))
    code = django_filters.CharFilter(label=_("Code"), field_name="code")

    class Meta:
        model = Product
        fields = []

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        low, high = prefix_range(value)
        return queryset.filter(Q(code__gte=low, code__lt=high) | Q(code__iexact=value) | Q(name__icontains=value))


class ProductCategoryFilterSet(ScopedFilterSet):
    parent = django_filters.ModelChoiceFilter(queryset=ProductCategory.objects.all())

    class Meta:
        model = ProductCategory
        fields = []


class ChannelPartnerFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), field_name="name", lookup_expr="icontains")
    region = django_filters.CharFilter(label=_("Region"))
    active = django_filters.BooleanFilter(label=_("Active"))
    external_ref = django_filters.CharFilter(label=_("External reference"))

    class Meta:
        model = ChannelPartner
        fields = []


class StockMovementFilterSet(ScopedFilterSet):
    product = django_filters.ModelChoiceFilter(label=_("Product id"), queryset=Product.objects.all())
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=StockMovementKind.choices)
    date_from = django_filters.DateFilter(label=_("From"), field_name="occurred_on", lookup_expr="gte")
    date_to = django_filters.DateFilter(label=_("Until"), field_name="occurred_on", lookup_expr="lte")

    class Meta:
        model = StockMovement
        fields = []
