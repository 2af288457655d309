"""Validation of admin-defined custom fields (R1.4).  Values are stored in a JSON column."""

import datetime
import decimal

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .choices import CustomFieldType
from .models import CustomFieldDefinition
from .text import clean_text


def definitions_for(model, *, active_only=True):
    qs = CustomFieldDefinition.objects.filter(content_type=ContentType.objects.get_for_model(model))
    if active_only:
        qs = qs.filter(active=True)
    return list(qs.order_by("position", "id"))


def _coerce(definition, raw):
    kind = definition.field_type
    if kind == CustomFieldType.TEXT:
        return clean_text(str(raw))
    if kind == CustomFieldType.NUMBER:
        try:
            number = decimal.Decimal(str(raw).strip())
        except decimal.InvalidOperation as exc:
            raise ValidationError(_("Enter a number.")) from exc
        if not number.is_finite():
            raise ValidationError(_("Enter a number."))
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == CustomFieldType.DATE:
        if isinstance(raw, datetime.date):
            return raw.isoformat()
        try:
            return datetime.date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError as exc:
            raise ValidationError(_("Enter a date as YYYY-MM-DD.")) from exc
    if kind == CustomFieldType.CHOICE:
        value = clean_text(str(raw))
        if value not in definition.choices:
            raise ValidationError(
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(map(str, definition.choices))}
            )
        return value
    if kind == CustomFieldType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on", "是"}:
            return True
        if text in {"0", "false", "no", "off", "否"}:
            return False
        raise ValidationError(_("Enter yes or no."))
    raise ValidationError(_("Unknown field type."))


def clean_custom_fields(model, data, *, existing=None):
    """Validate ``data`` against the model's active definitions.

    Returns the cleaned dict (unknown keys are refused, empty values removed, values of inactive
    definitions kept as they were).  Raises ``ValidationError`` with one message per field key.
    """
    data = dict(data or {})
    cleaned = {}
    existing = dict(existing or {})
    definitions = {d.key: d for d in definitions_for(model)}
    errors = {}
    for key in data:
        if key not in definitions:
            errors[key] = [_("Unknown custom field.")]
    for key, definition in definitions.items():
        raw = data.get(key)
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            if definition.required:
                errors[key] = [_("This field is required.")]
            continue
        try:
            cleaned[key] = _coerce(definition, raw)
        except ValidationError as exc:
            errors[key] = exc.messages
    if errors:
        raise ValidationError(errors)
    for key, value in existing.items():
        if key not in definitions and key not in cleaned:
            cleaned[key] = value  # a deactivated field keeps its stored value
    return cleaned
