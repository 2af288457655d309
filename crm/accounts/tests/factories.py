import factory

from crm.accounts.choices import Action, DataScopeKind, UnitKind
from crm.accounts.models import OrgUnit, Role, User
from crm.core.permissions import codes_for_verbs

ALL_ACTIONS = list(Action.values)
SALES_ACTIONS = [Action.VIEW, Action.CREATE, Action.CHANGE, Action.EXPORT]


class OrgUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrgUnit

    name = factory.Sequence(lambda n: f"Unit {n}")
    kind = UnitKind.TEAM

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        unit = model_class(*args, **kwargs)
        unit.save()
        unit.path = f"{unit.parent.path if unit.parent_id else '/'}{unit.pk}/"
        OrgUnit.objects.filter(pk=unit.pk).update(path=unit.path)
        return unit


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Role
        django_get_or_create = ("name",)

    class Params:
        # The old global verbs, expanded to the permission codes they stand for (readable set-ups);
        # pass ``permissions=[...]`` to grant codes directly.
        actions = factory.LazyFunction(lambda: list(SALES_ACTIONS))

    name = factory.Sequence(lambda n: f"Role {n}")
    permissions = factory.LazyAttribute(lambda o: codes_for_verbs(o.actions))
    data_scope = DataScopeKind.OWN


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    role = factory.SubFactory(RoleFactory)
    password = factory.PostGenerationMethodCall("set_password", "pw-Secret-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()
