import datetime
from decimal import Decimal

import factory

from crm.customers.tests.factories import CustomerFactory
from crm.sales.models import ChannelPartner, Order, OrderLine, Product, ProductCategory


class ProductCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductCategory
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"CAT{n:03d}")
    name = factory.Sequence(lambda n: f"类别{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    """A product placed directly (bypassing services): for arranging test data only."""

    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"P-{n:05d}")
    name = factory.Sequence(lambda n: f"产品{n}")
    category = factory.SubFactory(ProductCategoryFactory)
    unit = "个"
    list_price = Decimal("100.00")
    standard_cost = Decimal("60.00")


class ChannelPartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChannelPartner

    name = factory.Sequence(lambda n: f"经销商{n}")
    region = "华北"


class OrderFactory(factory.django.DjangoModelFactory):
    """An order placed directly, totals as given (use the services to get computed totals)."""

    class Meta:
        model = Order

    customer = factory.SubFactory(CustomerFactory)
    order_date = factory.LazyFunction(lambda: datetime.date.today() - datetime.timedelta(days=3))


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = Decimal("1")
    unit_price = Decimal("100.00")
    unit_cost = Decimal("60.00")
    amount = Decimal("100.00")
    cost = Decimal("60.00")
    margin = Decimal("40.00")
