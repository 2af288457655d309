"""Server-rendered customer pages (htmx).  Views stay thin: reads come from ``queries``, every change
goes through ``services``, and every record is fetched from the caller's visible queryset (a record
outside the caller's scope is a 404, a missing role action a 403)."""

import csv
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.exceptions import NotFound
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request

from crm.accounts.queries import assignable_units, assignable_users
from crm.activities.views import customer_activity_context
from crm.analytics.views import customer_value_context
from crm.core.audit import history_for
from crm.core.choices import CustomFieldType
from crm.core.custom_fields import definitions_for
from crm.core.pagination import KeysetPagination
from crm.core.phones import format_phone
from crm.core.views import permission_required as core_permission_required
from crm.sales.queries import order_summary

from . import permissions as perms
from . import services
from .filtersets import METRIC_ORDERINGS, CustomerFilterSet
from .forms import (
    AssignForm,
    ContactForm,
    CustomerForm,
    HandoverForm,
    PoolRuleForm,
    ReleaseForm,
    apply_service_errors,
)
from .models import Contact, Customer, PoolRule
from .queries import (
    customer_cap,
    customer_for_detail,
    customers_for,
    handover_candidates,
    owned_count,
    pool_list,
    portfolio_counts,
    search_q,
)

AUDIT_ENTRIES_SHOWN = 20
EXPORT_CHUNK = 2000


# --- access ---------------------------------------------------------------------------------------

def permission_required(code):
    """Log-in required, then the role must grant ``code``; otherwise (or when a service refuses) the
    customers' 403 page."""
    return core_permission_required(code, denied=denied)


def denied(request, message=""):
    return render(request, "customers/denied.html", {"message": message}, status=403)


def _visible_customer(request, pk):
    return get_object_or_404(customers_for(request.user), pk=pk)


# --- list -----------------------------------------------------------------------------------------

class KeysetOrderingFilter(OrderingFilter):
    """Honours one whitelisted sort column and adds ``id`` in the same direction, so each ordering
    matches a (column, id) index and the cursor position is unique."""

    def get_ordering(self, request, queryset, view):
        first = super().get_ordering(request, queryset, view)[0]
        return (first, "-id" if first.startswith("-") else "id")


class CustomerListOrdering:
    """What the keyset paginator reads from a view: the ordering filter and its whitelist."""

    filter_backends = [KeysetOrderingFilter]
    ordering_fields = ("name", "created_at", "updated_at", *METRIC_ORDERINGS)
    ordering = ("-created_at", "-id")


SORTABLE = [("name", gettext_lazy("Name")), ("created_at", gettext_lazy("Created")),
            ("updated_at", gettext_lazy("Updated")), ("clv", gettext_lazy("Lifetime value")),
            ("p_alive", gettext_lazy("P(alive)")), ("loyalty", gettext_lazy("Loyalty"))]


def _filterset(request, *, with_metrics=False):
    filterset = CustomerFilterSet(request.GET or None, queryset=customers_for(request.user),
                                  request=request, with_metrics=with_metrics)
    # Only people and units inside the viewer's scope are offered (and accepted) as filters.
    form = filterset.form
    form.fields["owner"].queryset = assignable_users(request.user).order_by("full_name", "username")
    form.fields["branch"].queryset = assignable_units(request.user).order_by("path")
    for name in ("created_after", "created_before"):
        form.fields[name].widget.input_type = "date"
    for name in ("clv_min", "clv_max"):
        form.fields[name].widget.attrs.update(min="0", step="any")
    return filterset


def _relative(url):
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _current_ordering(request):
    value = request.GET.get("ordering", "")
    names = {name for name, _label in SORTABLE}
    return value if value.lstrip("-") in names else "-created_at"


def _export_query(request):
    query = request.GET.copy()
    for name in ("cursor", "page_size"):
        query.pop(name, None)
    return query.urlencode()


@permission_required(perms.VIEW)
def customer_list(request):
    filterset = _filterset(request, with_metrics=True)
    paginator = KeysetPagination()
    try:
        page = paginator.paginate_queryset(filterset.qs.prefetch_related("tags"), Request(request),
                                           view=CustomerListOrdering())
    except NotFound as exc:
        raise Http404(_("This page of the list no longer exists.")) from exc
    for customer in page:
        customer.phone_display = format_phone(customer.phone)
    ordering = _current_ordering(request)
    columns = []
    for name, label in SORTABLE:
        active = ordering.lstrip("-") == name
        descending = ordering.startswith("-")
        columns.append({
            "name": name, "label": label, "active": active, "descending": active and descending,
            "toggle": (name if descending else f"-{name}") if active else name,
        })
    context = {
        "filterset": filterset,
        "customers": page,
        "count": paginator.count,
        "count_capped": paginator.count_capped,
        "next_url": _relative(paginator.get_next_link()),
        "previous_url": _relative(paginator.get_previous_link()),
        "ordering": ordering,
        "sort": {c["name"]: c for c in columns},
        "metric_sorts": [c for c in columns if c["name"] in METRIC_ORDERINGS],
        "export_query": _export_query(request),
        "can_create": perms.can_add(request.user),
        "can_export": perms.can_export(request.user),
    }
    if request.htmx and not request.htmx.history_restore_request:
        context["oob"] = True
        return render(request, "customers/partials/customer_rows.html", context)
    return render(request, "customers/customer_list.html", context)


# --- export ---------------------------------------------------------------------------------------

class _Echo:
    def write(self, value):
        return value


def _cell(value):
    """Spreadsheet-safe text: a leading = + - @ would be read as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@permission_required(perms.EXPORT)
def customer_export(request):
    filterset = _filterset(request)
    ordering = CustomerListOrdering.filter_backends[0]().get_ordering(
        Request(request), filterset.qs, CustomerListOrdering())
    queryset = filterset.qs.order_by(*ordering).prefetch_related("tags")
    definitions = definitions_for(Customer)
    header = [
        _("ID"), _("Kind"), _("Name"), _("Phone"), _("Email"), _("Website"), _("Province"), _("City"),
        _("District"), _("Street address"), _("Industry"), _("Source"), _("Status"), _("Customer type"),
        _("Owner"), _("Branch / team"), _("Tags"), _("Created"), _("Updated"),
        *(d.label for d in definitions),
    ]
    tz = timezone.get_current_timezone()

    def rows():
        writer = csv.writer(_Echo())
        yield "\ufeff" + writer.writerow(header)
        for c in queryset.iterator(chunk_size=EXPORT_CHUNK):
            values = [
                c.pk, c.get_kind_display(), c.name, format_phone(c.phone), c.email, c.website,
                c.province, c.city, c.district, c.address, c.get_industry_display(), c.get_source_display(),
                c.get_status_display(), c.get_customer_type_display(),
                c.owner.display_name if c.owner else "", c.branch.name if c.branch else "",
                ", ".join(t.name for t in c.tags.all()),
                c.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                c.updated_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                *(_custom_display(d, (c.custom_fields or {}).get(d.key)) for d in definitions),
            ]
            yield writer.writerow([_cell(v) for v in values])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
    return response


# --- create / edit --------------------------------------------------------------------------------

def _custom_display(definition, value):
    if value is None or value == "":
        return ""
    if definition.field_type == CustomFieldType.BOOLEAN:
        return _("Yes") if value else _("No")
    return str(value)


def _form_context(form, **extra):
    return {"form": form, **extra}


@permission_required(perms.ADD)
@require_http_methods(["GET", "POST"])
def customer_create(request):
    definitions = definitions_for(Customer)
    form = CustomerForm(request.POST or None, user=request.user, definitions=definitions)
    duplicates = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer = services.create_customer(
                actor=request.user, data=form.service_data(), tags=list(data["tags"]),
                owner=data.get("owner"), branch=data.get("branch"), custom_fields=form.custom_values(),
                allow_duplicate=data["allow_duplicate"],
            )
        except services.PossibleDuplicate as exc:
            duplicates = {"visible": exc.visible, "hidden_count": exc.hidden_count}
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/customer_form.html",
                  _form_context(form, duplicates=duplicates, customer=None))


@permission_required(perms.CHANGE)
@require_http_methods(["GET", "POST"])
def customer_edit(request, pk):
    customer = _visible_customer(request, pk)
    title_name = customer.name
    definitions = definitions_for(Customer)
    form = CustomerForm(request.POST or None, user=request.user, instance=customer, definitions=definitions)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        assignment = ({"owner": data.get("owner"), "branch": data.get("branch"), "reason": data.get("reason", "")}
                      if form.can_assign else {})
        try:
            services.edit_customer(customer, actor=request.user, data=form.service_data(), tags=list(data["tags"]),
                                   custom_fields=form.custom_values(), **assignment)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Customer %(name)s saved.") % {"name": customer.name})
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/customer_form.html",
                  _form_context(form, duplicates=None, customer=customer, title_name=title_name))


# --- 360° page ------------------------------------------------------------------------------------

def _audit_rows(customer, entries):
    """The change log as label / before / after, with choice values shown by their labels."""
    rows = []
    for entry in entries:
        changes = []
        for key, value in (entry.changes or {}).items():
            field = _model_field(customer, key)
            label = field.verbose_name if field is not None else key
            if isinstance(value, list) and len(value) == 2:
                before, after = (_value_label(field, v) for v in value)
                changes.append({"field": label, "before": before, "after": after})
            elif isinstance(value, dict):
                text = "; ".join(f"{verb}: {', '.join(map(str, names))}" for verb, names in value.items())
                changes.append({"field": label, "text": text})
        rows.append({"entry": entry, "changes": changes})
    return rows


def _model_field(customer, key):
    name = key[:-3] if key.endswith("_id") else key
    try:
        return customer._meta.get_field(name)
    except FieldDoesNotExist:  # an old entry may name a field that no longer exists
        return None


def _value_label(field, value):
    if field is not None and field.choices and value not in (None, ""):
        return dict(field.flatchoices).get(value, value)
    return value


def _contacts_context(customer, contacts, *, form=None, editing=None):
    contacts = list(contacts)
    for contact in contacts:
        contact.mobile_display = format_phone(contact.mobile)
        contact.phone_display = format_phone(contact.phone)
    return {"customer": customer, "contacts": contacts, "contact_form": form, "editing": editing}


@permission_required(perms.VIEW)
def customer_detail(request, pk):
    try:
        customer = customer_for_detail(request.user, pk)
    except Customer.DoesNotExist as exc:
        raise Http404 from exc
    customer.phone_display = format_phone(customer.phone)
    stored = customer.custom_fields or {}
    custom_fields = [
        {"label": d.label, "value": _custom_display(d, stored.get(d.key)), "active": d.active}
        for d in definitions_for(Customer, active_only=False)
        if d.active or stored.get(d.key) not in (None, "")
    ]
    entries = list(history_for(customer)[:AUDIT_ENTRIES_SHOWN])
    context = {
        "customer": customer,
        "custom_fields": custom_fields,
        "ownership_changes": customer.ownership_changes.all(),
        "audit_rows": _audit_rows(customer, entries),
        "can_change": perms.can_change(request.user),
        "can_assign": perms.can_assign(request.user),
        "can_delete": perms.can_delete(request.user),
        "can_release": perms.can_release(request.user, customer),
        **_contacts_context(customer, customer.contacts.all()),
        **customer_activity_context(request, customer),
        "order_summary": order_summary(customer),
        **customer_value_context(request, customer),
    }
    return render(request, "customers/customer_detail.html", context)


# --- assign / delete --------------------------------------------------------------------------------

@permission_required(perms.ASSIGN)
@require_http_methods(["GET", "POST"])
def customer_assign(request, pk):
    customer = _visible_customer(request, pk)
    form = AssignForm(request.POST or None, user=request.user, customer=customer,
                      initial={"owner": customer.owner_id})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.assign_customer(customer, actor=request.user, owner=data["owner"], branch=data["branch"],
                                     reason=data["reason"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Owner of %(name)s changed.") % {"name": customer.name})
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/customer_assign.html", {"customer": customer, "form": form})


@permission_required(perms.DELETE)
@require_http_methods(["GET", "POST"])
def customer_delete(request, pk):
    customer = _visible_customer(request, pk)
    if request.method == "POST":
        name = customer.name
        try:
            services.delete_customer(customer, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("customers:detail", pk=customer.pk)
        messages.success(request, _("Customer %(name)s deleted.") % {"name": name})
        return redirect("customers:list")
    return render(request, "customers/customer_confirm_delete.html", {"customer": customer})


# --- contacts (inline, htmx) ------------------------------------------------------------------------

def _contacts_response(request, customer, *, form=None, editing=None, status=200):
    """htmx: the contacts section; without JS: the detail page after a change, or a page with the form."""
    contacts = customer.contacts.order_by("-is_primary", "name", "id")
    context = _contacts_context(customer, contacts, form=form, editing=editing)
    context["can_change"] = perms.can_change(request.user)
    if request.htmx:
        return render(request, "customers/partials/contacts.html", context, status=status)
    if form is None:
        return redirect(reverse("customers:detail", args=[customer.pk]) + "#contacts")
    return render(request, "customers/contact_form.html", context, status=status)


@permission_required(perms.CHANGE)
@require_http_methods(["GET", "POST"])
def contact_create(request, pk):
    customer = _visible_customer(request, pk)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_contact(customer, actor=request.user, data=form.service_data())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if not request.htmx:
                messages.success(request, _("Contact added."))
            return _contacts_response(request, customer)
    return _contacts_response(request, customer, form=form)


def _visible_contact(request, customer, contact_pk):
    return get_object_or_404(Contact.objects.visible_to(request.user).filter(customer=customer),
                             pk=contact_pk)


@permission_required(perms.CHANGE)
@require_http_methods(["GET", "POST"])
def contact_edit(request, pk, contact_pk):
    customer = _visible_customer(request, pk)
    contact = _visible_contact(request, customer, contact_pk)
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_contact(contact, actor=request.user, data=form.service_data())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return _contacts_response(request, customer)
    return _contacts_response(request, customer, form=form, editing=contact)


@permission_required(perms.CHANGE)
@require_POST
def contact_delete(request, pk, contact_pk):
    customer = _visible_customer(request, pk)
    contact = _visible_contact(request, customer, contact_pk)
    services.delete_contact(contact, actor=request.user)
    return _contacts_response(request, customer)


# --- customer pool (公海) -------------------------------------------------------------------------------
# Pool customers have no owner, so they are found through ``pool_for`` (the actor's branch), not through
# the visible queryset; everything else about them goes through the services like any other change.

class PoolOrdering:
    filter_backends = [KeysetOrderingFilter]
    ordering_fields = ("name", "updated_at")
    ordering = ("-updated_at", "-id")


def _cap_context(user):
    return {"owned_count": owned_count(user), "cap": customer_cap(user)}


@permission_required(perms.VIEW)
def pool(request):
    """Claimable customers, the most recently returned first; search and keyset pages like the list."""
    q = request.GET.get("q", "").strip()
    queryset = pool_list(request.user)
    if q:
        queryset = queryset.filter(search_q(q))
    paginator = KeysetPagination()
    try:
        page = paginator.paginate_queryset(queryset, Request(request), view=PoolOrdering())
    except NotFound as exc:
        raise Http404(_("This page of the list no longer exists.")) from exc
    context = {
        "customers": page,
        "q": q,
        "count": paginator.count,
        "count_capped": paginator.count_capped,
        "next_url": _relative(paginator.get_next_link()),
        "previous_url": _relative(paginator.get_previous_link()),
        "can_claim": perms.can_claim(request.user),
        "can_handover": perms.can_assign(request.user),
        "can_manage_rules": perms.can_manage_pool_rules(request.user),
        **_cap_context(request.user),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "customers/partials/pool_rows.html", context)
    return render(request, "customers/pool.html", context)


@permission_required(perms.CHANGE)
@require_POST
def pool_claim(request, pk):
    """Claim one customer.  htmx gets the row back (claimed, or with the reason it was not) and the
    updated "N of your cap M"; a plain form post goes to the customer, or back to the pool."""
    customer = pool_list(request.user).filter(pk=pk).first() or customers_for(request.user).filter(pk=pk).first()
    if customer is None:
        raise Http404
    error = None
    try:
        services.claim_customer(customer, actor=request.user)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if request.htmx:
        context = {"customer": customer, "claimed": error is None, "claim_error": error, "can_claim": True,
                   "oob": True, **_cap_context(request.user)}
        return render(request, "customers/partials/pool_row.html", context)
    if error:
        messages.error(request, error)
        return redirect("customers:pool")
    messages.success(request, _("%(name)s is now your customer.") % {"name": customer.name})
    return redirect("customers:detail", pk=customer.pk)


@login_required
@require_http_methods(["GET", "POST"])
def customer_release(request, pk):
    """The owner (or a manager who may assign) gives the customer back to the pool, saying why."""
    if not perms.can_release_some(request.user):
        return denied(request)
    customer = _visible_customer(request, pk)
    form = ReleaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.release_customer(customer, actor=request.user, reason=form.cleaned_data["reason"])
        except PermissionDenied as exc:
            return denied(request, str(exc))
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("%(name)s is back in the customer pool.") % {"name": customer.name})
            return redirect("customers:pool")
    status = 400 if request.method == "POST" else 200
    return render(request, "customers/customer_release.html", {"customer": customer, "form": form}, status=status)


@permission_required(perms.MANAGE_POOL_RULES)
@require_GET
def pool_rules(request):
    return render(request, "customers/pool_rules.html", {"rules": PoolRule.objects.order_by("customer_type", "id")})


@permission_required(perms.MANAGE_POOL_RULES)
@require_http_methods(["GET", "POST"])
def pool_rule_edit(request, pk=None):
    rule = get_object_or_404(PoolRule, pk=pk) if pk else None
    form = PoolRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_pool_rule(form.instance, actor=request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Pool rule saved."))
            return redirect("customers:pool_rules")
    status = 400 if request.method == "POST" else 200
    return render(request, "customers/pool_rule_form.html", {"form": form, "rule": rule}, status=status)


@permission_required(perms.ASSIGN)
@require_http_methods(["GET", "POST"])
def handover(request):
    """Hand over a user's customers, open to-dos and follow-ups to one person or a team, in one step.
    Choosing the user shows what will move (htmx swaps the counts; without JS, "Show what moves")."""
    form = HandoverForm(request.POST or None, user=request.user,
                        initial={k: v for k, v in request.GET.items() if k in HandoverForm.base_fields})
    result = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.reassign_portfolio(actor=request.user, from_user=data["from_user"],
                                                 to_user=data.get("to_user"), to_unit=data.get("to_unit"),
                                                 reason=data["reason"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            form = HandoverForm(user=request.user)
    from_id = request.POST.get("from_user") or request.GET.get("from_user")
    from_user = None
    if from_id and str(from_id).isdigit() and result is None:
        from_user = handover_candidates(request.user).filter(pk=from_id).first()
    context = {"form": form, "result": result, "from_user": from_user,
               "counts": portfolio_counts(from_user) if from_user else None}
    status = 400 if request.method == "POST" and result is None else 200
    return render(request, "customers/handover.html", context, status=status)
