"""One FilterSet per model, shared by the list pages, the API and exports; filters on people are narrowed
to the caller's scope by ``ScopedFilterSet``."""

import datetime

import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.accounts.models import User
from crm.core.filtersets import ScopedFilterSet

from .choices import InteractionKind, RelationshipContent, timeline_kind_choices, todo_kind_choices
from .models import Interaction, TimelineEvent, Todo


def _day_start(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class InteractionFilterSet(ScopedFilterSet):
    scoped_people = ("user",)

    customer = django_filters.NumberFilter(label=_("Customer"), field_name="customer_id")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=InteractionKind.choices)
    content = django_filters.ChoiceFilter(label=_("Relationship content"), choices=RelationshipContent.choices)
    user = django_filters.ModelChoiceFilter(label=_("By"), queryset=User.objects.all())
    occurred_after = django_filters.DateFilter(label=_("From"), method="filter_occurred_after")
    occurred_before = django_filters.DateFilter(label=_("Until"), method="filter_occurred_before")

    class Meta:
        model = Interaction
        fields = []

    # Dates are local calendar days; compare on the indexed timestamp, not on a cast of it.
    def filter_occurred_after(self, queryset, name, value):
        return queryset.filter(occurred_at__gte=_day_start(value))

    def filter_occurred_before(self, queryset, name, value):
        return queryset.filter(occurred_at__lt=_day_start(value + datetime.timedelta(days=1)))


class TodoFilterSet(ScopedFilterSet):
    scoped_people = ("owner",)
    MINE, TEAM = "mine", "team"

    who = django_filters.ChoiceFilter(
        label=_("Whose"), method="filter_who", empty_label=None,
        choices=[(MINE, _("mine")), (TEAM, _("my team (as my role allows)"))],
    )
    owner = django_filters.ModelChoiceFilter(label=_("Assigned to"), queryset=User.objects.all())
    customer = django_filters.NumberFilter(label=_("Customer"), field_name="customer_id")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=todo_kind_choices)
    status = django_filters.ChoiceFilter(
        label=_("Status"), method="filter_status",
        choices=[("open", _("open")), ("done", _("done"))],
    )
    due_after = django_filters.DateFilter(label=_("Due from"), field_name="due_on", lookup_expr="gte")
    due_before = django_filters.DateFilter(label=_("Due until"), field_name="due_on", lookup_expr="lte")

    class Meta:
        model = Todo
        fields = []

    def filter_who(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        if value == self.MINE and user is not None:
            return queryset.filter(owner=user)
        return queryset  # the team: whatever the caller's scope shows

    def filter_status(self, queryset, name, value):
        return queryset.filter(done_at__isnull=value == "open")


class TimelineEventFilterSet(ScopedFilterSet):
    customer = django_filters.NumberFilter(label=_("Customer"), field_name="customer_id", required=True)
    kind = django_filters.MultipleChoiceFilter(label=_("Kind"), choices=timeline_kind_choices)

    class Meta:
        model = TimelineEvent
        fields = []
