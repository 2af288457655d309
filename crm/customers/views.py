"""Server-rendered customer pages (htmx).  Views stay thin: reads come from ``queries``, every change
goes through ``services``, and every record is fetched from the caller's visible queryset (a record
outside the caller's scope is a 404, a missing role action a 403)."""


from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.core.audit import history_for
from crm.core.custom_fields import definitions_for
from crm.core.pages import (
    apply_validation_error,
    delete_page,
    edit_page,
    export_query,
    filter_errors_text,
    keyset_order,
    list_page,
)
from crm.core.phones import format_phone
from crm.core.registry import panel_context
from crm.core.views import permission_required

from . import permissions as perms
from . import services
from .filtersets import CustomerFilterSet
from .forms import (
    AssignForm,
    ContactForm,
    CustomerForm,
    HandoverForm,
    PoolRuleForm,
    ReleaseForm,
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
from .tables import custom_display as _custom_display
from .tables import customer_table

AUDIT_ENTRIES_SHOWN = 20


# --- access ---------------------------------------------------------------------------------------

def _visible_customer(request, pk):
    return get_object_or_404(customers_for(request.user), pk=pk)


# --- list -----------------------------------------------------------------------------------------

LIST_ORDERING = ("-created_at", "-id")
POOL_ORDERING = ("-updated_at", "-id")
POOL_ORDERING_FIELDS = ("name", "updated_at")


def _filterset(request, *, with_metrics=False):
    filterset = CustomerFilterSet(request.GET or None, queryset=customers_for(request.user),
                                  request=request, with_metrics=with_metrics)
    form = filterset.form  # owners and branches are narrowed to the viewer's scope by the filter set
    for name in ("created_after", "created_before"):
        form.fields[name].widget.input_type = "date"
    for name in ("clv_min", "clv_max"):  # contributed by analytics, when installed
        if name in form.fields:
            form.fields[name].widget.attrs.update(min="0", step="any")
    return filterset


def _current_ordering(request, table):
    value = request.GET.get("ordering", "")
    return value if value.lstrip("-") in table.ordering_fields() else "-created_at"


@permission_required(perms.VIEW)
def customer_list(request):
    filterset = _filterset(request, with_metrics=True)
    table = customer_table()
    ordering = _current_ordering(request, table)
    context = {
        "filterset": filterset,
        "ordering": ordering,
        "headers": table.headers(ordering),
        "columns": table.list_columns(), "row_cells": table.row_cells(),
        "export_query": export_query(request),
        "can_create": perms.can_add(request.user),
        "can_export": perms.can_export(request.user),
    }
    return list_page(request, filterset.qs.prefetch_related("tags"), ordering=LIST_ORDERING,
                     ordering_fields=table.ordering_fields(), template="customers/customer_list.html",
                     rows_template="customers/partials/customer_rows.html", rows_name="customers",
                     context=context, partial_context={"oob": True}, prepare=_format_phones)


def _format_phones(customers):
    for customer in customers:
        customer.phone_display = format_phone(customer.phone)


# --- export ---------------------------------------------------------------------------------------

@permission_required(perms.EXPORT)
def customer_export(request):
    """The filtered list as CSV, in the list's order, with the export's columns of the customer table.
    A filter the list would refuse (e.g. an owner outside the caller's scope) is a 400, not ignored."""
    filterset = _filterset(request)
    if filterset.is_bound and not filterset.is_valid():
        return HttpResponseBadRequest(filter_errors_text(filterset), content_type="text/plain; charset=utf-8")
    table = customer_table(custom_fields=True)
    ordering = keyset_order(request, filterset.qs, ordering=LIST_ORDERING, ordering_fields=table.ordering_fields())
    queryset = filterset.qs.order_by(*ordering).prefetch_related("tags")
    return table.csv_response(queryset, filename="customers")


# --- create / edit --------------------------------------------------------------------------------

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
            apply_validation_error(form, exc)
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
            apply_validation_error(form, exc)
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
        # The sections other apps add (orders, activities, customer value), in their registered order.
        **panel_context("customer_detail", request, customer),
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
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Owner of %(name)s changed.") % {"name": customer.name})
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/customer_assign.html", {"customer": customer, "form": form})


@permission_required(perms.DELETE)
@require_http_methods(["GET", "POST"])
def customer_delete(request, pk):
    customer = _visible_customer(request, pk)
    return delete_page(request, delete=lambda: services.delete_customer(customer, actor=request.user),
                       template="customers/customer_confirm_delete.html", context={"customer": customer},
                       success_url=reverse("customers:list"),
                       success_message=_("Customer %(name)s deleted.") % {"name": customer.name},
                       error_url=reverse("customers:detail", args=[customer.pk]))


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
            apply_validation_error(form, exc)
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
            apply_validation_error(form, exc)
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

def _cap_context(user):
    return {"owned_count": owned_count(user), "cap": customer_cap(user)}


@permission_required(perms.VIEW)
def pool(request):
    """Claimable customers, the most recently returned first; search and keyset pages like the list."""
    q = request.GET.get("q", "").strip()
    queryset = pool_list(request.user)
    if q:
        queryset = queryset.filter(search_q(q))
    context = {
        "q": q,
        "can_claim": perms.can_claim(request.user),
        "can_handover": perms.can_assign(request.user),
        "can_manage_rules": perms.can_manage_pool_rules(request.user),
        **_cap_context(request.user),
    }
    return list_page(request, queryset, ordering=POOL_ORDERING, ordering_fields=POOL_ORDERING_FIELDS,
                     template="customers/pool.html", rows_template="customers/partials/pool_rows.html",
                     rows_name="customers", context=context)


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
        raise PermissionDenied(_("Your role does not allow this."))
    customer = _visible_customer(request, pk)
    form = ReleaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.release_customer(customer, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
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
    return edit_page(request, form, save=lambda form: services.save_pool_rule(form.instance, actor=request.user),
                     template="customers/pool_rule_form.html", context={"rule": rule},
                     success_url="customers:pool_rules", success_message=_("Pool rule saved."))


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
            apply_validation_error(form, exc)
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
