"""Server-rendered sales pages (htmx): the product catalogue with stock, and orders.

Views stay thin: reads come from ``queries``, every change goes through ``services``.  Orders are
fetched from the caller's visible queryset (another scope's order is a 404); a missing role action is
a 403.  Bad input re-renders the form with every typed value kept.
"""


from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.core.audit import history_for
from crm.core.pages import (
    apply_validation_error,
    delete_page,
    detail_page,
    edit_page,
    export_query,
    filter_errors_text,
    list_page,
)
from crm.core.views import permission_required
from crm.customers.queries import customers_for

from . import permissions as perms
from . import services
from .choices import OrderStatus
from .filtersets import OrderFilterSet, ProductFilterSet
from .forms import (
    LINES_PREFIX,
    OrderForm,
    OrderStatusForm,
    ProductForm,
    StockMovementForm,
    line_formset,
    line_row,
    product_choices,
)
from .models import Order, Product
from .permissions import can_change_catalogue, can_delete_order
from .queries import order_for_detail, order_summary, orders_for, products, stock_movements
from .tables import ORDER_TABLE, PRODUCT_TABLE

STOCK_MOVEMENTS_SHOWN = 50
AUDIT_ENTRIES_SHOWN = 10
NEW_ORDER_ROWS = 1

ORDER_ORDERING = ("-order_date", "-id")
PRODUCT_ORDERING = ("code", "id")


def customer_orders_panel(request, customer):
    """Context of the "Orders" panel of the customer's 360° page (registered in apps.py)."""
    return {"order_summary": order_summary(customer)}


# --- products ---------------------------------------------------------------------------------------

@permission_required(perms.VIEW_CATALOGUE)
@require_GET
def product_list(request):
    filterset = ProductFilterSet(request.GET or None, queryset=products(), request=request)
    return list_page(request, filterset.qs, ordering=PRODUCT_ORDERING, template="sales/product_list.html",
                     rows_template="sales/partials/product_rows.html",
                     context={"filterset": filterset, "can_change": can_change_catalogue(request.user),
                              "headers": PRODUCT_TABLE.headers(""), "row_cells": PRODUCT_TABLE.row_cells()})


@permission_required(perms.MANAGE_CATALOGUE)
@require_http_methods(["GET", "POST"])
def product_create(request):
    form = ProductForm(request.POST or None)
    return edit_page(request, form, save=lambda form: services.create_product(actor=request.user,
                                                                             data=form.service_data()),
                     template="sales/product_form.html", context={"product": None}, invalid_status=200,
                     success_url=lambda product: reverse("sales:product_detail", args=[product.pk]),
                     success_message=lambda product: _("Product %(code)s created.") % {"code": product.code})


@permission_required(perms.MANAGE_CATALOGUE)
@require_http_methods(["GET", "POST"])
def product_edit(request, pk):
    product = get_object_or_404(products(), pk=pk)

    def save(form):
        try:
            return services.update_product(product, actor=request.user, data=form.service_data())
        except ValidationError:
            product.refresh_from_db()  # the page shows the stored values next to the typed ones
            raise

    return edit_page(request, ProductForm(request.POST or None, instance=product), save=save,
                     template="sales/product_form.html", context={"product": product}, invalid_status=200,
                     success_url=lambda saved: reverse("sales:product_detail", args=[saved.pk]),
                     success_message=lambda saved: _("Product %(code)s saved.") % {"code": saved.code})


def _product_context(request, product, *, stock_form=None):
    can_change = can_change_catalogue(request.user)
    return {
        "movements": list(stock_movements(product, STOCK_MOVEMENTS_SHOWN)),
        "can_change": can_change,
        "stock_form": (stock_form or StockMovementForm()) if can_change else None,
    }


@permission_required(perms.VIEW_CATALOGUE)
@require_GET
def product_detail(request, pk):
    return detail_page(request, products(), pk, template="sales/product_detail.html", name="product",
                       context=lambda product: _product_context(request, product))


@permission_required(perms.MANAGE_CATALOGUE)
@require_POST
def stock_movement_create(request, pk):
    product = get_object_or_404(Product, pk=pk)
    form = StockMovementForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.record_stock_movement(product, actor=request.user, kind=data["kind"],
                                           quantity=data["quantity"], occurred_on=data["occurred_on"],
                                           unit_cost=data["unit_cost"], reference=data["reference"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Stock movement recorded."))
            return redirect("sales:product_detail", pk=product.pk)
    product = products().get(pk=product.pk)
    return render(request, "sales/product_detail.html",
                  {"product": product, **_product_context(request, product, stock_form=form)})


# --- orders: list -----------------------------------------------------------------------------------

def _order_filterset(request):
    filterset = OrderFilterSet(request.GET or None, queryset=orders_for(request.user), request=request)
    form = filterset.form
    for name in ("date_from", "date_to"):
        form.fields[name].widget.input_type = "date"
    for name in ("customer_ref", "partner", "external_ref", "is_promotion"):
        form.fields.pop(name, None)
    form.fields["customer"].widget = forms.HiddenInput()
    return filterset


@permission_required(perms.VIEW_ORDER)
@require_GET
def order_list(request):
    filterset = _order_filterset(request)
    context = {"filterset": filterset, "can_create": perms.can_add_order(request.user),
               "can_export": perms.can_export_order(request.user), "export_query": export_query(request),
               "headers": ORDER_TABLE.headers(""), "columns": ORDER_TABLE.list_columns(),
               "row_cells": ORDER_TABLE.row_cells()}
    return list_page(request, filterset.qs, ordering=ORDER_ORDERING, template="sales/order_list.html",
                     rows_template="sales/partials/order_rows.html", context=context)


@permission_required(perms.EXPORT_ORDER)
@require_GET
def order_export(request):
    """The filtered order list as CSV, newest first, with the export's columns of the order table.  A
    filter the list would refuse (e.g. a seller outside the caller's scope) is a 400."""
    filterset = _order_filterset(request)
    if filterset.is_bound and not filterset.is_valid():
        return HttpResponseBadRequest(filter_errors_text(filterset), content_type="text/plain; charset=utf-8")
    return ORDER_TABLE.csv_response(filterset.qs.order_by(*ORDER_ORDERING), filename="orders")


# --- orders: create / edit ---------------------------------------------------------------------------

def _apply_order_errors(form, formset, rows, exc: ValidationError):
    """The service's errors onto the order form and onto the line rows they belong to."""
    errors = getattr(exc, "errors", None)
    if errors is None:
        apply_validation_error(form, exc)
        return
    for key, value in errors.items():
        if key == "lines":
            if any(isinstance(v, dict) for v in value):
                for row, line_errors in zip(rows, value, strict=False):
                    for name, messages_ in (line_errors or {}).items():
                        target = name if name in row.fields and name not in ("unit_cost", "cost_for") else None
                        for message in messages_:
                            row.add_error(target, message)
            else:
                for message in value:
                    form.add_error(None, message)
            continue
        target = key if key in form.fields else None
        for message in value:
            form.add_error(target, message)


def _order_form_page(request, *, customer, order=None):
    include = [x.product_id for x in order.lines.all()] if order is not None else []
    choices = product_choices(include)
    form = OrderForm(request.POST or None, user=request.user, instance=order)
    if request.method == "POST":
        formset = line_formset(request.POST, products=choices)
        form_ok, formset_ok = form.is_valid(), formset.is_valid()
        if form_ok and formset_ok:
            rows = formset.lines()
            lines = [row.line() for row in rows]
            try:
                if order is None:
                    order = services.create_order(actor=request.user, customer=customer,
                                                  data=form.service_data(), lines=lines)
                else:
                    services.update_order(order, actor=request.user, data=form.service_data(), lines=lines)
            except ValidationError as exc:
                _apply_order_errors(form, formset, rows, exc)
            else:
                messages.success(request, _("Order %(number)s saved.") % {"number": order.display_number})
                return redirect("sales:order_detail", pk=order.pk)
    else:
        initial = None
        if order is not None:
            initial = [{"product": str(x.product_id), "quantity": x.quantity, "unit_price": x.unit_price,
                        "discount_rate": x.discount_rate, "unit_cost": x.unit_cost, "cost_for": str(x.product_id)}
                       for x in order.lines.all()]
        formset = line_formset(products=choices, initial=initial, extra=0 if initial else NEW_ORDER_ROWS)
    return render(request, "sales/order_form.html", {
        "form": form, "formset": formset, "customer": customer, "order": order,
    })


@permission_required(perms.ADD_ORDER)
@require_http_methods(["GET", "POST"])
def order_create(request):
    try:
        customer_pk = int(request.GET.get("customer", ""))
    except ValueError:
        raise Http404(_("Open a new order from the customer's page.")) from None
    customer = get_object_or_404(customers_for(request.user), pk=customer_pk)
    return _order_form_page(request, customer=customer)


def _visible_order(request, pk):
    return get_object_or_404(orders_for(request.user).prefetch_related("lines"), pk=pk)


@permission_required(perms.CHANGE_ORDER)
@require_http_methods(["GET", "POST"])
def order_edit(request, pk):
    order = _visible_order(request, pk)
    return _order_form_page(request, customer=order.customer, order=order)


@permission_required(perms.VIEW_ORDER)
@require_GET
def order_line_row(request):
    """htmx: one more empty line row, and the formset's row count moved on by one (out of band)."""
    try:
        index = max(int(request.GET.get(f"{LINES_PREFIX}-TOTAL_FORMS", "0")), 0)
    except ValueError:
        index = 0
    if index >= 1000:
        raise Http404
    return render(request, "sales/partials/order_line_added.html", {
        "line": line_row(index, products=product_choices()), "total_forms": index + 1,
        "prefix": LINES_PREFIX,
    })


# --- orders: detail, status, delete --------------------------------------------------------------

def _status_form(order, data=None):
    allowed = services.STATUS_TRANSITIONS[order.status]
    choices = [(value, label) for value, label in OrderStatus.choices if value in allowed]
    return OrderStatusForm(data, choices=choices) if choices else None


def _order_page(request, order, *, status_form=None, status=200):
    user = request.user
    context = {
        "order": order,
        "lines": order.lines.all(),
        "customer": order.customer,
        "status_form": (status_form or _status_form(order)) if perms.can_change_order(user) else None,
        "can_change": perms.can_change_order(user),
        "can_delete": can_delete_order(user, order),
        "audit_entries": list(history_for(order)[:AUDIT_ENTRIES_SHOWN]),
    }
    return render(request, "sales/order_detail.html", context, status=status)


@permission_required(perms.VIEW_ORDER)
@require_GET
def order_detail(request, pk):
    try:
        order = order_for_detail(request.user, pk)
    except Order.DoesNotExist as exc:
        raise Http404 from exc
    return _order_page(request, order)


@permission_required(perms.CHANGE_ORDER)
@require_POST
def order_status(request, pk):
    order = _visible_order(request, pk)
    form = _status_form(order, request.POST)
    if form is not None and form.is_valid():
        try:
            services.set_order_status(order, actor=request.user, status=form.cleaned_data["status"],
                                      reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Status changed."))
            return redirect("sales:order_detail", pk=order.pk)
    return _order_page(request, order_for_detail(request.user, pk), status_form=form)


@permission_required(perms.DELETE_ORDER)
@require_http_methods(["GET", "POST"])
def order_delete(request, pk):
    order = _visible_order(request, pk)
    return delete_page(request, delete=lambda: services.delete_order(order, actor=request.user),
                       template="sales/order_confirm_delete.html", context={"order": order},
                       success_url=reverse("customers:detail", args=[order.customer_id]),
                       success_message=_("Order deleted."),
                       error_url=reverse("sales:order_detail", args=[order.pk]))
