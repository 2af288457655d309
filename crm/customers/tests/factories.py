import factory

from crm.customers.models import Contact, Customer, Tag


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"标签{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    """A customer placed directly (bypassing services): for arranging test data only."""

    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"测试客户{n}有限公司")
    phone = factory.Sequence(lambda n: f"+86138{n:08d}")
    email = factory.Sequence(lambda n: f"c{n}@example.cn")
    owner = None
    branch = factory.LazyAttribute(lambda o: o.owner.org_unit if o.owner else None)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"联系人{n}")
    mobile = factory.Sequence(lambda n: f"+86139{n:08d}")
