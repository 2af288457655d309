"""The generic page layer: one pager, list / detail / edit / delete pages with their htmx partials, and one way
to put a service's ValidationError on a form.

Views stay small functions: they check the role (a decorator naming the right), fetch from the
caller's visible queryset, and hand the rest to these helpers::

    @permission_required("sales.view_order")
    def order_list(request):
        filterset = OrderFilterSet(request.GET or None, queryset=orders_for(request.user), request=request)
        return list_page(request, filterset.qs, ordering=("-order_date", "-id"),
                         template="sales/order_list.html", rows_template="sales/partials/order_rows.html",
                         context={"filterset": filterset})

Lists are keyset pages (:mod:`crm.core.pagination`): the cursor carries the last position, the count
stops at ``CRM_LIST_COUNT_CAP``.  The same cursor scheme serves the API.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request

from .pagination import KeysetPagination

# --- service errors on forms ------------------------------------------------------------------------

def apply_validation_error(form, exc: ValidationError):
    """Show a service's ValidationError on the form: each key on the input of that name, else on the
    input the form names for it (``form.field_for_error(key)``, e.g. a custom field's ``cf_<key>``), else
    above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, field_messages in exc.message_dict.items():
        target = _error_target(form, key)
        for message in field_messages:
            form.add_error(target, message)


def _error_target(form, key):
    if key == NON_FIELD_ERRORS:
        return None
    if key in form.fields:
        return key
    alias = getattr(form, "field_for_error", None)
    name = alias(key) if alias is not None else None
    return name if name in form.fields else None


# --- the pager --------------------------------------------------------------------------------------

class KeysetOrderingFilter(OrderingFilter):
    """Honours one whitelisted sort column and adds ``id`` in the same direction, so each ordering
    matches a (column, id) index and the cursor position is unique."""

    def get_ordering(self, request, queryset, view):
        first = super().get_ordering(request, queryset, view)[0]
        return (first, "-id" if first.startswith("-") else "id")


@dataclass(frozen=True)
class _Sorting:
    """What the keyset paginator reads from a "view": the ordering filter and its whitelist."""

    ordering: tuple
    ordering_fields: tuple
    filter_backends: tuple = (KeysetOrderingFilter,)


@dataclass
class Page:
    rows: list
    count: int
    count_capped: bool
    next_url: str | None
    previous_url: str | None

    def context(self, rows_name="page"):
        return {rows_name: self.rows, "count": self.count, "count_capped": self.count_capped,
                "next_url": self.next_url, "previous_url": self.previous_url}


def relative_url(url):
    """The path and query of an absolute URL (paginators build absolute links; pages want relative)."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def keyset_order(request, queryset, *, ordering, ordering_fields=()):
    """The order a list page (or its export) walks: ``?ordering=`` when it names one of
    ``ordering_fields``, else ``ordering``; always ending on the id."""
    if not ordering_fields:
        return tuple(ordering)
    return KeysetOrderingFilter().get_ordering(Request(request), queryset, _Sorting(tuple(ordering),
                                                                                      tuple(ordering_fields)))


def paginate(request, queryset, *, ordering, ordering_fields=(), page_size=None) -> Page:
    """One keyset page of ``queryset`` for a page request (``?cursor=``, ``?page_size=``, and
    ``?ordering=`` among ``ordering_fields``).  A cursor that no longer decodes is a 404."""
    paginator = KeysetPagination()
    paginator.ordering = tuple(ordering)
    if page_size:
        paginator.page_size = page_size
    view = _Sorting(tuple(ordering), tuple(ordering_fields)) if ordering_fields else None
    try:
        rows = paginator.paginate_queryset(queryset, Request(request), view=view)
    except NotFound as exc:
        raise Http404(_("This page of the list no longer exists.")) from exc
    return Page(rows=rows, count=paginator.count, count_capped=paginator.count_capped,
                next_url=relative_url(paginator.get_next_link()),
                previous_url=relative_url(paginator.get_previous_link()))


def export_query(request):
    """The list's query string without its paging, for the "Export CSV" link (the export takes the same
    filters and ordering)."""
    query = request.GET.copy()
    for name in ("cursor", "page_size"):
        query.pop(name, None)
    return query.urlencode()


def filter_errors_text(filterset):
    """A filter set's errors as one line of text ("owner: Select a valid choice. …"), for a download
    that cannot show a form."""
    parts = [f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items()]
    return _("The filters are not valid.") + " " + "; ".join(parts)


# --- list pages -------------------------------------------------------------------------------------

def wants_partial(request, target=None):
    """An htmx request for the rows only (not a history restore; aimed at ``target`` when given)."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request:
        return False
    return target is None or htmx.target == target


def list_page(request, queryset, *, ordering, template, rows_template, rows_name="page", ordering_fields=(),
              context=None, partial_target=None, partial_context=None, prepare=None):
    """A filtered list: a keyset page of ``queryset``, the whole page, or (htmx) just its rows.

    ``prepare(rows)`` runs on the page's rows (e.g. to format phone numbers); ``partial_context`` is
    added when only the rows are sent (e.g. out-of-band swaps)."""
    page = paginate(request, queryset, ordering=ordering, ordering_fields=ordering_fields)
    if prepare is not None:
        prepare(page.rows)
    full = {**page.context(rows_name), **(context or {})}
    if wants_partial(request, partial_target):
        return render(request, rows_template, {**full, **(partial_context or {})})
    return render(request, template, full)


# --- detail pages ------------------------------------------------------------------------------------

def detail_page(request, queryset, pk, *, template, name, context=None):
    """One record of ``queryset`` (the caller's visible records: another scope's is a 404) on its page,
    as ``name``; ``context(record)`` adds what the page shows besides it."""
    record = get_object_or_404(queryset, pk=pk)
    return render(request, template, {name: record, **(context(record) if context is not None else {})})


# --- edit and delete pages ---------------------------------------------------------------------------

def edit_page(request, form, *, save, template, success_url, success_message=None, context=None,
              invalid_status=400):
    """A form page whose POST calls a service verb: ``save(form)`` runs when the form is valid; the
    ValidationError it raises goes onto the form, otherwise the user is sent to ``success_url``.
    ``success_url`` and ``success_message`` may be callables of what ``save`` returned."""
    if request.method == "POST" and form.is_valid():
        try:
            saved = save(form)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            if success_message:
                messages.success(request, success_message(saved) if callable(success_message) else success_message)
            return redirect(success_url(saved) if callable(success_url) else success_url)
    status = invalid_status if request.method == "POST" else 200
    return render(request, template, {"form": form, **(context or {})}, status=status)


def delete_page(request, *, delete, template, context, success_url, success_message, error_url):
    """GET: the confirmation page; POST: ``delete()`` (a service verb).  A ValidationError it raises
    (e.g. "only a draft order can be deleted") is shown as a message on ``error_url``."""
    if request.method != "POST":
        return render(request, template, context)
    try:
        delete()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(error_url)
    messages.success(request, success_message)
    return redirect(success_url)
