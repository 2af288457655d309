"""Forms of the customer pages.  They check formats and collect input; saving is the services' job.

Custom fields (R1.4) get one input each, named ``cf_<key>``; their values are validated again by
``crm.core.custom_fields`` inside the services, and service errors are mapped back onto the inputs
by ``crm.core.pages.apply_validation_error`` (through :meth:`CustomerForm.field_for_error`).
"""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.models import fields_for_model
from django.utils.translation import gettext_lazy as _

from crm.accounts.models import OrgUnit, User
from crm.accounts.queries import assignable_units, assignable_users
from crm.core.choices import CustomFieldType
from crm.core.phones import format_phone, normalize_phone

from .models import Contact, Customer, PoolRule, Tag
from .permissions import can_assign

CUSTOM_PREFIX = "cf_"

CUSTOMER_FORM_FIELDS = (
    "kind", "name", "phone", "email", "website", "province", "city", "district", "address", "industry",
    "source", "status", "customer_type", "notes",
)
CONTACT_FORM_FIELDS = (
    "name", "title", "purchase_role", "mobile", "phone", "email", "birthday", "preferences",
    "important_facts", "is_primary",
)

BOOLEAN_CHOICES = [("", "—"), ("true", _("Yes")), ("false", _("No"))]


def custom_field_name(key):
    return f"{CUSTOM_PREFIX}{key}"


def custom_form_field(definition):
    """One form input for an admin-defined field, by its type."""
    common = {"label": definition.label, "required": definition.required,
              "help_text": definition.help_text}
    kind = definition.field_type
    if kind == CustomFieldType.NUMBER:
        # A text input that only hints at numbers: the service's number check gives the message.
        return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common)
    if kind == CustomFieldType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == CustomFieldType.CHOICE:
        choices = [("", "—"), *((str(c), str(c)) for c in definition.choices)]
        return forms.ChoiceField(choices=choices, **common)
    if kind == CustomFieldType.BOOLEAN:
        return forms.ChoiceField(choices=BOOLEAN_CHOICES, **common)
    return forms.CharField(max_length=500, **common)


def custom_initial(definition, value):
    if value is None:
        return ""
    if definition.field_type == CustomFieldType.BOOLEAN:
        return "true" if value else "false"
    return str(value)


def _formfield(model_field, **kwargs):
    if isinstance(model_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return model_field.formfield(**kwargs)


class CustomerForm(forms.Form):
    """Kind, facts, tags, notes and custom fields; owner and branch for users who may assign."""

    tags = forms.ModelMultipleChoiceField(
        label=_("Tags"), queryset=Tag.objects.all(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    allow_duplicate = forms.BooleanField(label=_("Save anyway"), required=False)

    def __init__(self, *args, user, instance: Customer | None = None, definitions=(), **kwargs):
        self.user = user
        self.instance = instance
        self.definitions = list(definitions)
        if instance is not None:
            initial = {name: getattr(instance, name) for name in CUSTOMER_FORM_FIELDS}
            initial["phone"] = format_phone(instance.phone)
            initial["tags"] = list(instance.tags.all())
            initial["owner"] = instance.owner_id
            initial["branch"] = instance.branch_id
            stored = instance.custom_fields or {}
            for definition in self.definitions:
                initial[custom_field_name(definition.key)] = custom_initial(
                    definition, stored.get(definition.key))
            kwargs["initial"] = {**initial, **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        fields = fields_for_model(Customer, fields=CUSTOMER_FORM_FIELDS, formfield_callback=_formfield, widgets={
            "kind": forms.RadioSelect,
            "notes": forms.Textarea(attrs={"rows": 3}),
            "phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
        })
        fields["tags"] = self.fields["tags"]
        if can_assign(user):
            fields.update(self._assignment_fields())
        for definition in self.definitions:
            fields[custom_field_name(definition.key)] = custom_form_field(definition)
        fields["allow_duplicate"] = self.fields["allow_duplicate"]
        self.fields = fields

    def _assignment_fields(self):
        users = assignable_users(self.user)
        units = assignable_units(self.user)
        if self.instance is not None:
            # The current owner and unit stay selectable, even when they are outside the editor's scope.
            if self.instance.owner_id:
                users = users | User.objects.filter(pk=self.instance.owner_id)
            if self.instance.branch_id:
                units = units | OrgUnit.objects.filter(pk=self.instance.branch_id)
        fields = {
            "owner": forms.ModelChoiceField(
                label=_("Owner"), queryset=users.distinct().order_by("full_name", "username"),
                required=False,
                help_text=_("Leave empty to own it yourself.") if self.instance is None else "",
            ),
            "branch": forms.ModelChoiceField(
                label=_("Branch / team"), queryset=units.distinct().order_by("path"), required=False,
                help_text=_("Leave empty for the owner's unit.") if self.instance is None else "",
            ),
        }
        if self.instance is not None:
            fields["reason"] = forms.CharField(
                label=_("Reason for the change of owner"), max_length=255, required=False)
        return fields

    @property
    def can_assign(self):
        return "owner" in self.fields

    def clean_phone(self):
        raw = self.cleaned_data.get("phone", "")
        normalize_phone(raw)  # raises the field error; the service stores the normalised form
        return raw

    def custom_fields(self):
        return [self[custom_field_name(d.key)] for d in self.definitions]

    def field_for_error(self, key):
        """The input of a service error's key that is not a form field: a custom field's ``cf_<key>``."""
        return custom_field_name(key)

    def model_fields(self):
        return [self[name] for name in CUSTOMER_FORM_FIELDS]

    def service_data(self):
        return {name: self.cleaned_data[name] for name in CUSTOMER_FORM_FIELDS}

    def custom_values(self):
        """What the user typed per custom field key; the service validates and converts."""
        values = {}
        for definition in self.definitions:
            value = self.cleaned_data.get(custom_field_name(definition.key), "")
            if value in ("", None):
                continue
            values[definition.key] = value
        return values

    def assignment_changed(self):
        if not self.can_assign or self.instance is None:
            return False
        owner, branch = self.cleaned_data.get("owner"), self.cleaned_data.get("branch")
        return (owner.pk if owner else None) != self.instance.owner_id or (
            (branch.pk if branch else None) != self.instance.branch_id)


class AssignForm(forms.Form):
    owner = forms.ModelChoiceField(label=_("New owner"), queryset=User.objects.none(), required=False,
                                   empty_label=_("— nobody (customer pool) —"))
    branch = forms.ModelChoiceField(label=_("Branch / team"), queryset=OrgUnit.objects.none(),
                                    required=False,
                                    help_text=_("Leave empty to follow the new owner's unit."))
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)

    def __init__(self, *args, user, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_users(user).order_by("full_name", "username")
        self.fields["branch"].queryset = assignable_units(user).order_by("path")


class ContactForm(forms.Form):
    def __init__(self, *args, instance: Contact | None = None, **kwargs):
        self.instance = instance
        if instance is not None:
            kwargs["initial"] = {name: getattr(instance, name) for name in CONTACT_FORM_FIELDS}
            kwargs["initial"].update(mobile=format_phone(instance.mobile), phone=format_phone(instance.phone))
        super().__init__(*args, **kwargs)
        self.fields = fields_for_model(Contact, fields=CONTACT_FORM_FIELDS, widgets={
            "birthday": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "preferences": forms.Textarea(attrs={"rows": 2}),
            "important_facts": forms.Textarea(attrs={"rows": 2}),
            "mobile": forms.TextInput(attrs={"inputmode": "tel"}),
            "phone": forms.TextInput(attrs={"inputmode": "tel"}),
        })

    def clean_mobile(self):
        normalize_phone(self.cleaned_data.get("mobile", ""))
        return self.cleaned_data.get("mobile", "")

    def clean_phone(self):
        normalize_phone(self.cleaned_data.get("phone", ""))
        return self.cleaned_data.get("phone", "")

    def clean_birthday(self):
        birthday = self.cleaned_data.get("birthday")
        if birthday and birthday > datetime.date.today():
            raise ValidationError(_("A birthday cannot be in the future."))
        return birthday

    def service_data(self):
        return {name: self.cleaned_data[name] for name in CONTACT_FORM_FIELDS}


# --- customer pool and hand-over ------------------------------------------------------------------------

class ReleaseForm(forms.Form):
    reason = forms.CharField(
        label=_("Why does the customer go back to the pool?"), max_length=255,
        widget=forms.TextInput(attrs={"data-testid": "release-reason"}),
    )


class PoolRuleForm(forms.ModelForm):
    class Meta:
        model = PoolRule
        fields = ["customer_type", "days_without_activity", "warn_days_before", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer_type"].choices = [("", _("(every type without its own rule)")),
                                                *self.fields["customer_type"].choices[1:]]
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("data-testid", f"pool-rule-{name.replace('_', '-')}")


def _user_label(user):
    return f"{user.display_name} ({user.username})" + ("" if user.is_active else f" · {_('inactive')}")


class HandoverForm(forms.Form):
    from_user = forms.ModelChoiceField(label=_("Whose customers move"), queryset=User.objects.none(),
                                       help_text=_("Usually someone who is leaving or changing jobs."))
    to_user = forms.ModelChoiceField(label=_("To one person"), queryset=User.objects.none(), required=False)
    to_unit = forms.ModelChoiceField(label=_("Or spread across a team"), queryset=OrgUnit.objects.none(),
                                     required=False,
                                     help_text=_("Shared evenly: whoever owns fewest customers gets the next one."))
    reason = forms.CharField(label=_("Reason"), max_length=255)

    def __init__(self, *args, user, **kwargs):
        from .queries import handover_candidates

        super().__init__(*args, **kwargs)
        self.fields["from_user"].queryset = handover_candidates(user).order_by("-is_active", "full_name", "username")
        self.fields["from_user"].label_from_instance = _user_label
        self.fields["to_user"].queryset = assignable_users(user).order_by("full_name", "username")
        self.fields["to_user"].label_from_instance = _user_label
        self.fields["to_unit"].queryset = assignable_units(user).order_by("path")
        for name, testid in (("from_user", "handover-from"), ("to_user", "handover-to-user"),
                             ("to_unit", "handover-to-unit"), ("reason", "handover-reason")):
            self.fields[name].widget.attrs["data-testid"] = testid

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("to_user") and cleaned.get("to_unit"):
            self.add_error("to_unit", _("Choose one person or one team, not both."))
        elif not cleaned.get("to_user") and not cleaned.get("to_unit") and not self.has_error("to_user"):
            self.add_error("to_user", _("Choose the person or the team who takes over."))
        return cleaned
