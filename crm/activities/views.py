"""Pages of the activities app (htmx): my day, to-dos, interactions, and the activity panels of the
customer's 360° page (log an interaction, the timeline).  Reads come from ``queries``, every change
goes through ``services``; a record outside the caller's scope is a 404, a missing role action a 403."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.core import registry
from crm.core.pages import apply_validation_error, list_page, paginate
from crm.core.registry import panel_context
from crm.core.views import permission_required
from crm.customers.queries import customers_for

from . import permissions as perms
from . import queries, services
from .filtersets import InteractionFilterSet, TodoFilterSet
from .forms import InteractionForm, TodoForm
from .tables import interaction_table_context, todo_table_context


def _timeline_filters():
    """The timeline's tabs: "all", then each registered kind that asks for a tab, in registered order."""
    return [("all", ""), *((kind.code, kind.code) for kind in registry.timeline_kinds if kind.tab)]


def _timeline_label(name):
    return gettext_lazy("all") if name == "all" else registry.timeline_kinds.label(name)

TODO_ORDERING = ("due_on", "id")
INTERACTION_ORDERING = ("-occurred_at", "-id")


def _visible_customer(request, pk):
    return get_object_or_404(customers_for(request.user), pk=pk)


# --- the customer's 360° page -------------------------------------------------------------------------

def _timeline_kind(value):
    return value if value in dict(_timeline_filters()) and value != "all" else ""


def _timeline_context(request, customer, *, kind="", cursor=None):
    try:
        page = queries.timeline_page(request.user, customer, kinds=[kind] if kind else None, cursor=cursor)
    except queries.InvalidCursor as exc:
        raise Http404(_("This page of the timeline no longer exists.")) from exc
    base = reverse("activities:timeline", args=[customer.pk])
    detail = reverse("customers:detail", args=[customer.pk])
    filters = []
    for name, value in _timeline_filters():
        query = urlencode({"kind": name}) if value else ""
        filters.append({
            "name": name, "label": _timeline_label(name), "active": value == kind,
            "url": f"{base}?{query}" if query else base,
            "page_url": f"{detail}?{urlencode({'timeline': name})}#timeline" if value else f"{detail}#timeline",
        })
    more = None
    if page.next_cursor:
        params = {"kind": kind, "cursor": page.next_cursor} if kind else {"cursor": page.next_cursor}
        more = {
            "url": f"{base}?{urlencode(params)}",
            "page_url": f"{detail}?{urlencode({'timeline': kind or 'all', 'after': page.next_cursor})}#timeline",
        }
    return {"customer": customer, "timeline": page, "timeline_kind": kind or "all",
            "timeline_filters": filters, "timeline_more": more}


def customer_activity_context(request, customer):
    """What the 360° page shows of a customer's activities: the log-interaction form and the first
    page of the timeline (or the page the no-JS links ask for).  A fixed number of queries."""
    kind = _timeline_kind(request.GET.get("timeline", ""))
    context = _timeline_context(request, customer, kind=kind, cursor=request.GET.get("after") or None)
    context["can_log_interaction"] = perms.can_log_interaction(request.user)
    if context["can_log_interaction"]:
        context["interaction_form"] = InteractionForm(customer=customer)
    return context


@permission_required(perms.VIEW_INTERACTION)
@require_GET
def timeline(request, pk):
    """htmx: a filtered timeline (no cursor), or the next events and "load more" (with a cursor)."""
    customer = _visible_customer(request, pk)
    kind = _timeline_kind(request.GET.get("kind", ""))
    cursor = request.GET.get("cursor") or None
    context = _timeline_context(request, customer, kind=kind, cursor=cursor)
    if not request.htmx:
        return redirect(context["timeline_more"]["page_url"] if cursor and context["timeline_more"] else
                        reverse("customers:detail", args=[customer.pk]) + (f"?timeline={kind}" if kind else "")
                        + "#timeline")
    template = "activities/partials/timeline_events.html" if cursor else "activities/partials/timeline.html"
    return render(request, template, context)


@permission_required(perms.ADD_INTERACTION)
@require_http_methods(["GET", "POST"])
def interaction_create(request, pk):
    customer = _visible_customer(request, pk)
    form = InteractionForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            services.log_interaction(customer, actor=request.user, data=form.service_data())
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            if not request.htmx:
                messages.success(request, _("Interaction logged."))
                return redirect(reverse("customers:detail", args=[customer.pk]) + "#timeline")
            context = _timeline_context(request, customer)
            context.update(interaction_form=InteractionForm(customer=customer), can_log_interaction=True,
                           logged=True, oob_timeline=True)
            return render(request, "activities/partials/interaction_form.html", context)
    context = {"customer": customer, "interaction_form": form, "can_log_interaction": True}
    if request.htmx:
        return render(request, "activities/partials/interaction_form.html", context)
    return render(request, "activities/interaction_form.html", context, status=400 if form.errors else 200)


# --- my day and to-dos ----------------------------------------------------------------------------------

@permission_required(perms.VIEW_TODO)
@require_GET
def my_day(request):
    day = queries.my_day(request.user, timezone.localdate())
    return render(request, "activities/my_day.html", {
        "day": day, "today": day.today, "can_change": perms.can_change_todo(request.user),
        **todo_table_context(show_owner=False, can_change=perms.can_change_todo(request.user)),
        # The sections other apps add (e.g. analytics' customers at risk and due to buy).
        **panel_context("my_day", request, request.user),
    })


def _todo_filterset(request):
    data = request.GET.copy()
    data.setdefault("who", TodoFilterSet.MINE)
    if not request.GET:
        data["status"] = "open"
    filterset = TodoFilterSet(data, queryset=queries.todos_for(request.user), request=request)
    for name in ("due_after", "due_before"):
        filterset.form.fields[name].widget.input_type = "date"
    return filterset


@permission_required(perms.VIEW_TODO)
@require_GET
def todo_list(request):
    filterset = _todo_filterset(request)
    context = {
        "filterset": filterset, "can_change": perms.can_change_todo(request.user),
        "can_create": perms.can_add_todo(request.user), "today": timezone.localdate(),
        **todo_table_context(show_owner=True, can_change=perms.can_change_todo(request.user)),
    }
    if context["can_create"]:
        context["todo_form"] = TodoForm(user=request.user)
    return list_page(request, filterset.qs, ordering=TODO_ORDERING, template="activities/todo_list.html",
                     rows_template="activities/partials/todo_rows.html", rows_name="todos", context=context,
                     partial_target="todo-results")


@permission_required(perms.ADD_TODO)
@require_POST
def todo_create(request):
    form = TodoForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            services.create_todo(actor=request.user, data=form.service_data(), owner=form.cleaned_data["owner"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("To-do added."))
            return redirect("activities:todo_list")
    filterset = _todo_filterset(request)
    page = paginate(request, filterset.qs, ordering=TODO_ORDERING)
    return render(request, "activities/todo_list.html", {
        "filterset": filterset, "todos": page.rows, "count": page.count, "count_capped": page.count_capped,
        "todo_form": form, "can_change": perms.can_change_todo(request.user), "can_create": True,
        "today": timezone.localdate(),
        **todo_table_context(show_owner=True, can_change=perms.can_change_todo(request.user)),
    }, status=400)


def _todo_done_response(request, todo):
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = reverse("activities:my_day")
    if request.htmx:
        return render(request, "activities/partials/todo_row.html", {
            "todo": todo, "can_change": True, "today": timezone.localdate(), "next_url": target,
            "show_owner": request.POST.get("show_owner") == "1",
            **todo_table_context(show_owner=request.POST.get("show_owner") == "1", can_change=True),
        })
    return redirect(target)


@permission_required(perms.CHANGE_TODO)
@require_POST
def todo_complete(request, pk):
    todo = get_object_or_404(queries.todos_for(request.user), pk=pk)
    return _todo_done_response(request, services.complete_todo(todo, actor=request.user))


@permission_required(perms.CHANGE_TODO)
@require_POST
def todo_reopen(request, pk):
    todo = get_object_or_404(queries.todos_for(request.user), pk=pk)
    return _todo_done_response(request, services.reopen_todo(todo, actor=request.user))


# --- interactions ---------------------------------------------------------------------------------------

@permission_required(perms.VIEW_INTERACTION)
@require_GET
def interaction_list(request):
    filterset = InteractionFilterSet(request.GET or None, queryset=queries.interactions_for(request.user),
                                     request=request)
    for name in ("occurred_after", "occurred_before"):
        filterset.form.fields[name].widget.input_type = "date"
    customer = None
    if request.GET.get("customer", "").isdigit():
        customer = customers_for(request.user).filter(pk=request.GET["customer"]).first()
    return list_page(request, filterset.qs, ordering=INTERACTION_ORDERING,
                     template="activities/interaction_list.html",
                     rows_template="activities/partials/interaction_rows.html", rows_name="interactions",
                     context={"filterset": filterset, "customer": customer, **interaction_table_context()},
                     partial_target="interaction-results")
