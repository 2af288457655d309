"""Tables declared once per model and shared by its list page and its CSV export.

A :class:`Table` is a list of :class:`Column`\\ s: a name, a label, how to get the value (an attribute
path or a function of the row), how to show it in the list (a template snippet rendering one
``<td>``, included by the list's rows template with the row in context), whether and by what the list
may sort on it, and what the export writes.  A column may be list-only or export-only.

Later apps add columns to an earlier app's table without the earlier app knowing them, in their
``AppConfig.ready()``::

    tables.contribute("customers.customer", [Column("clv", _("Lifetime value"), ...)])

Contributed columns come after the table's own, sorted by their ``order``.
"""

import csv
from functools import cached_property

from django.http import StreamingHttpResponse
from django.template import engines
from django.utils import timezone

from . import registry

EXPORT_CHUNK = 2000
_ROW_CELLS: dict[tuple, object] = {}  # compiled row templates by the identity of their columns


def contribute(model_label, columns):
    """Add ``columns`` to the table of the model ``model_label`` (``"app_label.modelname"``), through
    :data:`crm.core.registry.list_columns` — called by a later app from its ``AppConfig.ready()``."""
    for column in columns:
        registry.list_columns.register(model_label.lower(), column)


def contributed_columns(model_label):
    return registry.list_columns.entries(model_label.lower())


class Column:
    def __init__(self, name, label, *, accessor=None, value=None, export_value=None, template=None,
                 order_by=None, in_list=True, in_export=True, header_class="", order=100, annotate=None,
                 label_hidden=False):
        self.name = name
        self.label = label
        self.accessor = accessor or name
        self._value = value
        self._export_value = export_value
        self.template_source = template
        self.order_by = order_by  # the ``?ordering=`` key the list may sort this column by, or None
        self.in_list = in_list
        self.in_export = in_export
        self.header_class = header_class
        self.label_hidden = label_hidden  # the header names the column for screen readers only
        # A contributed column: its place among the contributions, and what it needs joined to the list's
        # queryset (``annotate(queryset)``), applied only when the list shows or sorts by it.
        self.order = order
        self.annotate = annotate

    @property
    def key(self):
        return self.name

    def _identity(self):
        return (self.name, str(self.label), self.accessor, self._value, self._export_value, self.template_source,
                self.order_by, self.in_list, self.in_export, self.header_class, self.order, self.annotate,
                self.label_hidden)

    def __eq__(self, other):
        # Registering an equal column twice (``ready()`` may run more than once) is harmless; a different
        # column under a name already taken is a configuration error (see crm.core.registry).
        return isinstance(other, Column) and self._identity() == other._identity()

    def __hash__(self):
        return hash(self.name)

    @property
    def sortable(self):
        return self.order_by is not None

    def value(self, row):
        if self._value is not None:
            return self._value(row)
        value = row
        for part in self.accessor.split("."):
            value = getattr(value, part, None)
            if value is None:
                return None
            if callable(value):
                value = value()
        return value

    def export(self, row):
        value = self._export_value(row) if self._export_value is not None else self.value(row)
        return "" if value is None else value

    @cached_property
    def cell(self):
        """The list cell as a compiled template (``{% include column.cell %}`` renders it in place)."""
        source = self.template_source or "<td>{{ value }}</td>"
        return engines["django"].from_string(source)


class Table:
    """The columns of one model's list and export.  ``columns`` are the table's own; ``model_label``
    picks up the columns other apps contributed."""

    def __init__(self, model_label, columns):
        self.model_label = model_label
        self.own_columns = list(columns)

    @property
    def columns(self):
        return [*self.own_columns, *contributed_columns(self.model_label)]

    def list_columns(self, hidden=()):
        """The list's columns, without those named in ``hidden`` (columns a page does not show)."""
        return [c for c in self.columns if c.in_list and c.name not in hidden]

    def row_cells(self, hidden=()):
        """Every list cell of the table as ONE compiled template, for ``{% include row_cells %}`` once per
        row: one include per row instead of one per cell keeps a 50-row page's rendering cheap."""
        columns = self.list_columns(hidden)
        key = tuple(id(c) for c in columns)
        compiled = _ROW_CELLS.get(key)
        if compiled is None:
            source = "".join(c.template_source or "<td>{{ value }}</td>" for c in columns)
            compiled = _ROW_CELLS[key] = engines["django"].from_string(source)
        return compiled

    def export_columns(self):
        return [c for c in self.columns if c.in_export]

    def ordering_fields(self):
        return tuple(c.order_by for c in self.columns if c.sortable and c.in_list)

    def headers(self, ordering, hidden=()):
        """The list's column headers for the current ``ordering`` (``"-created_at"``): each with its
        label, whether the list is sorted by it (and which way), and the ordering a click asks for."""
        current, descending = ordering.lstrip("-"), ordering.startswith("-")
        headers = []
        for column in self.list_columns(hidden):
            active = column.sortable and column.order_by == current
            toggle = None
            if column.sortable:
                toggle = (column.order_by if descending else f"-{column.order_by}") if active else column.order_by
            headers.append({"column": column, "name": column.name, "label": column.label,
                            "sortable": column.sortable, "active": active,
                            "descending": active and descending, "toggle": toggle,
                            "class": column.header_class, "label_hidden": column.label_hidden})
        return headers

    # --- export -------------------------------------------------------------------------------------
    def export_header(self):
        return [str(c.label) for c in self.export_columns()]

    def export_row(self, row, columns=None):
        return [spreadsheet_safe(c.export(row)) for c in (columns or self.export_columns())]

    def csv_response(self, queryset, *, filename, chunk_size=EXPORT_CHUNK):
        """The rows of ``queryset`` as a streamed CSV download (UTF-8 with a byte-order mark, so that
        spreadsheets read the Chinese text), the file name stamped with the local time."""
        columns = self.export_columns()
        header = [str(c.label) for c in columns]

        def lines():
            writer = csv.writer(_Echo())
            yield "\ufeff" + writer.writerow(header)
            for row in queryset.iterator(chunk_size=chunk_size):
                yield writer.writerow(self.export_row(row, columns))

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
        return response


class _Echo:
    def write(self, value):
        return value


def spreadsheet_safe(value):
    """Spreadsheet-safe text: a leading = + - @ would be read as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def local_datetime(value, fmt="%Y-%m-%d %H:%M"):
    """A stored moment as the local wall-clock time, for exports."""
    return value.astimezone(timezone.get_current_timezone()).strftime(fmt) if value else ""
