import datetime

import factory
from django.utils import timezone

from crm.activities.choices import InteractionKind, TimelineKind, TodoKind
from crm.activities.models import Interaction, TimelineEvent, Todo
from crm.customers.tests.factories import CustomerFactory


class InteractionFactory(factory.django.DjangoModelFactory):
    """An interaction placed directly (bypassing services): for arranging test data only."""

    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    kind = InteractionKind.CALL
    occurred_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(hours=1))
    summary = factory.Sequence(lambda n: f"沟通记录{n}")


class TodoFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Todo

    owner = factory.LazyAttribute(lambda o: o.customer.owner if o.customer else None)
    customer = None
    kind = TodoKind.TASK
    title = factory.Sequence(lambda n: f"待办{n}")
    due_on = factory.LazyFunction(timezone.localdate)


class TimelineEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimelineEvent

    customer = factory.SubFactory(CustomerFactory)
    at = factory.LazyFunction(timezone.now)
    kind = TimelineKind.NOTE
    title = factory.Sequence(lambda n: f"事件{n}")


def bulk_events(customer, n, *, start=None, kinds=("order", TimelineKind.INTERACTION,
                                                     "ownership")):
    """``n`` events for ``customer``, one a minute going back from ``start``; every third pair shares
    a timestamp so that the cursor's tie-break on id is exercised."""
    start = start or timezone.now() - datetime.timedelta(minutes=1)
    rows = []
    for i in range(n):
        minutes = i - (i % 3 == 1)  # rows 0/1, 3/4, 6/7 … share their minute
        rows.append(TimelineEvent(customer=customer, at=start - datetime.timedelta(minutes=minutes),
                                  kind=kinds[i % len(kinds)], title=f"事件{i}"))
    return TimelineEvent.objects.bulk_create(rows)
