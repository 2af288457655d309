"""Framework views: home, health, the audit log and custom field definitions.

Core depends on no domain app: permissions are asked of the user object (``user.can(code)``, with the
codes of :mod:`crm.core.permissions`) and the models that carry custom fields are found through the app
registry.
"""

import datetime
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods

from . import services
from .forms import AuditFilterForm, CustomFieldDefinitionForm
from .models import AuditEntry, CustomFieldDefinition
from .pages import edit_page, paginate
from .permissions import MANAGE_SETTINGS

AUDIT_PAGE_SIZE = 50


def permission_required(code, message=None):
    """Log-in required, then the user's role must grant the permission ``code``; otherwise the site's 403
    page (``403.html``), which also shows the message of a ``PermissionDenied`` the view raises."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not request.user.can(code):
                raise PermissionDenied(message or _("Your role does not allow this."))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


settings_required = permission_required(MANAGE_SETTINGS, _lazy("Your role does not allow managing settings."))


@login_required
def home(request):
    return redirect("customers:list")


def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


# --- Audit log (read-only) -------------------------------------------------------------------------
def _field_label(model, attname):
    if model is None:
        return attname
    for field in model._meta.get_fields():
        if getattr(field, "attname", None) == attname or field.name == attname:
            return str(getattr(field, "verbose_name", attname))
    return attname


def record_type_label(content_type):
    model = content_type.model_class()
    return str(model._meta.verbose_name) if model else content_type.model


def _display(value):
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | dict):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)


def change_rows(entry):
    """The entry's changes as rows of (field label, before, after), in a stable order."""
    model = entry.content_type.model_class()
    rows = []
    for key in sorted(entry.changes or {}):
        value = entry.changes[key]
        label = _field_label(model, key)
        if isinstance(value, list | tuple) and len(value) == 2:
            before, after = value
        elif isinstance(value, dict):  # many-to-many: {"added": [...]} / {"removed": [...]}
            before = ", ".join(map(str, value.get("removed", []))) or None
            after = ", ".join(map(str, value.get("added", []))) or None
            if "cleared" in value:
                after = _("(cleared)")
        else:
            before, after = None, value
        rows.append({"key": key, "label": label, "before": _display(before), "after": _display(after)})
    return rows


def _day_start(day: datetime.date):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _filtered_audit(form):
    qs = AuditEntry.objects.all()
    if not form.is_valid():
        return qs.none()
    data = form.cleaned_data
    if data.get("record_type"):
        qs = qs.filter(content_type_id=data["record_type"])
    if data.get("user"):
        qs = qs.filter(actor=data["user"])
    if data.get("action"):
        qs = qs.filter(action=data["action"])
    if data.get("object_id"):
        qs = qs.filter(object_id=data["object_id"].strip())
    if data.get("date_from"):
        qs = qs.filter(at__gte=_day_start(data["date_from"]))
    if data.get("date_to"):
        qs = qs.filter(at__lt=_day_start(data["date_to"] + datetime.timedelta(days=1)))
    return qs


@settings_required
@require_GET
def audit_list(request):
    """Newest first, one keyset page at a time (the shared pager's ``?cursor=``), never an OFFSET over the
    table."""
    form = AuditFilterForm(request.GET)
    qs = _filtered_audit(form).select_related("content_type", "actor")
    page = paginate(request, qs, ordering=("-id",), page_size=AUDIT_PAGE_SIZE)
    entries = page.rows
    for entry in entries:
        entry.change_rows = change_rows(entry)
        entry.type_label = record_type_label(entry.content_type)
    params = request.GET.copy()
    for key in ("cursor", "page_size"):
        params.pop(key, None)
    context = {
        "form": form,
        "entries": entries,
        "older_url": page.next_url,
        "newer_url": page.previous_url,
        "base_query": params.urlencode(),
        "paged": "cursor" in request.GET,
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = "core/partials/audit_rows.html" if partial else "core/audit_list.html"
    return render(request, template, context)


@settings_required
@require_GET
def audit_detail(request, pk):
    entry = get_object_or_404(AuditEntry.objects.select_related("content_type", "actor"), pk=pk)
    entry.type_label = record_type_label(entry.content_type)
    return render(request, "core/audit_detail.html", {"entry": entry, "rows": change_rows(entry)})


# --- Custom fields -------------------------------------------------------------------------------------
@settings_required
@require_GET
def customfield_list(request):
    definitions = list(CustomFieldDefinition.objects.select_related("content_type")
                       .order_by("content_type_id", "position", "id"))
    groups = {}
    for definition in definitions:
        groups.setdefault(record_type_label(definition.content_type), []).append(definition)
    return render(request, "core/customfield_list.html", {"groups": sorted(groups.items())})


@settings_required
@require_http_methods(["GET", "POST"])
def customfield_edit(request, pk=None):
    definition = get_object_or_404(CustomFieldDefinition, pk=pk) if pk else None
    form = CustomFieldDefinitionForm(request.POST or None, instance=definition)
    return edit_page(request, form, save=lambda form: services.save_custom_field(form.instance, actor=request.user),
                     template="core/customfield_form.html", context={"definition": definition},
                     success_url="core:customfield_list",
                     success_message=lambda saved: _("Custom field “%(label)s” saved.") % {"label": saved.label})
