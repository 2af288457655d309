"""Forms of the framework pages: audit log filters and custom field definitions."""

from django import forms
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext_lazy as _

from .choices import AuditAction, CustomFieldType
from .models import ChangeLoggedModel, CustomFieldDefinition, CustomFieldsModel


def _content_types_for(predicate):
    models = [m for m in apps.get_models() if predicate(m)]
    by_model = ContentType.objects.get_for_models(*models) if models else {}
    return sorted(by_model.items(), key=lambda pair: str(pair[0]._meta.verbose_name))


def audited_content_types():
    """Record types that the audit log holds: change-logged models and custom field definitions."""
    return _content_types_for(lambda m: issubclass(m, ChangeLoggedModel) or m is CustomFieldDefinition)


def custom_field_content_types():
    """Models that carry custom fields, found through the app registry (no domain imports)."""
    return _content_types_for(lambda m: issubclass(m, CustomFieldsModel))


class DateInput(forms.DateInput):
    input_type = "date"


class AuditFilterForm(forms.Form):
    record_type = forms.TypedChoiceField(label=_("Record type"), required=False, coerce=int, empty_value=None)
    user = forms.ModelChoiceField(label=_("User"), required=False, queryset=None, empty_label=_("Anyone"))
    action = forms.ChoiceField(label=_("Action"), required=False,
                               choices=[("", _("Any action")), *AuditAction.choices])
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput)
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput)
    object_id = forms.CharField(label=_("Record id"), required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["record_type"].choices = [
            ("", _("Any record type")),
            *((ct.pk, str(model._meta.verbose_name)) for model, ct in audited_content_types()),
        ]
        self.fields["user"].queryset = get_user_model()._default_manager.order_by("username")
        self.fields["user"].label_from_instance = lambda u: f"{u} ({u.get_username()})"
        for name, field in self.fields.items():
            field.widget.attrs["data-testid"] = f"audit-filter-{name}"


class ContentTypeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        model = obj.model_class()
        return str(model._meta.verbose_name) if model else obj.model


class CustomFieldDefinitionForm(forms.ModelForm):
    choices_text = forms.CharField(
        label=_("Choices"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("For choice fields: one allowed value per line."),
    )

    class Meta:
        model = CustomFieldDefinition
        fields = ["content_type", "key", "label", "field_type", "required", "help_text", "position", "active"]
        field_classes = {"content_type": ContentTypeChoiceField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        ids = [ct.pk for _model, ct in custom_field_content_types()]
        self.fields["content_type"].queryset = ContentType.objects.filter(pk__in=ids).order_by("model")
        self.fields["content_type"].empty_label = None
        if self.instance.pk:
            # Values are stored under the key in each record: renaming it would orphan them.
            self.fields["content_type"].disabled = True
            self.fields["key"].disabled = True
            self.fields["key"].help_text = _("The key cannot change once records may hold values under it.")
            self.initial["choices_text"] = "\n".join(map(str, self.instance.choices or []))
        for name, field in self.fields.items():
            field.widget.attrs["data-testid"] = f"customfield-{name}"

    def clean_key(self):
        key = self.cleaned_data["key"]
        return key.strip().lower() if not self.instance.pk else key

    def clean(self):
        cleaned = super().clean()
        lines = [line.strip() for line in (cleaned.get("choices_text") or "").splitlines()]
        choices = list(dict.fromkeys(line for line in lines if line))
        if cleaned.get("field_type") == CustomFieldType.CHOICE:
            if not choices:
                self.add_error("choices_text", _("A choice field needs at least one choice, one per line."))
            self.instance.choices = choices
        else:
            self.instance.choices = []
        return cleaned
