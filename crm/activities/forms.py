"""Forms of the activities pages.  They collect input and check formats; the services own the rules."""

from django import forms
from django.forms.models import fields_for_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.accounts.queries import assignable_users
from crm.customers.models import Contact

from .models import Interaction, Todo

INTERACTION_FORM_FIELDS = (
    "kind", "direction", "contact", "occurred_at", "duration_minutes", "content", "summary", "follow_up_on",
)


class InteractionForm(forms.Form):
    """Log a call, visit, email … with one of the customer's contacts."""

    def __init__(self, *args, customer, **kwargs):
        self.customer = customer
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("occurred_at", timezone.localtime().replace(second=0, microsecond=0))
        super().__init__(*args, **kwargs)
        self.fields = fields_for_model(Interaction, fields=INTERACTION_FORM_FIELDS, widgets={
            "occurred_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "follow_up_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "summary": forms.Textarea(attrs={"rows": 3}),
            "duration_minutes": forms.NumberInput(attrs={"min": 0, "inputmode": "numeric"}),
        })
        # Only this customer's contacts are offered (and accepted).
        contacts = Contact.objects.filter(customer=customer).order_by("-is_primary", "name", "id")
        self.fields["contact"].queryset = contacts
        self.fields["summary"].required = False  # the service gives the message, same as the API
        self.fields["occurred_at"].required = False  # empty: now
        self.fields["follow_up_on"].help_text = _("Creates a to-do for the customer's owner on that day.")
        for name, testid in (("kind", "interaction-kind"), ("summary", "interaction-summary"),
                             ("follow_up_on", "interaction-follow-up")):
            self.fields[name].widget.attrs["data-testid"] = testid
            self.fields[name].testid = testid  # for the one-template select (partials/select.html)

    def service_data(self):
        return {name: self.cleaned_data[name] for name in INTERACTION_FORM_FIELDS}


class TodoForm(forms.ModelForm):
    """A quick to-do from the list page: title, due date and, for those who may, another assignee."""

    owner = forms.ModelChoiceField(label=_("Assigned to"), queryset=None, required=False,
                                   help_text=_("Leave empty for yourself."))

    class Meta:
        model = Todo
        fields = ["title", "due_on"]
        widgets = {"due_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_users(user).order_by("full_name", "username")

    def service_data(self):
        return {"title": self.cleaned_data["title"], "due_on": self.cleaned_data["due_on"]}
