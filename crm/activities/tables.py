"""The interaction and to-do tables: the columns of their lists, declared once.

Cells are template snippets rendered with the row as ``i`` (an interaction) or ``todo``.  A to-do row
is shown on the to-do list, on "My day" and alone after an htmx "Done"/"Reopen"; which columns a page
shows ("Assigned to", the Done/Reopen buttons) is decided once, in :func:`todo_table_context`.
"""

from django.utils.translation import gettext_lazy as _

from crm.core.tables import Column, Table, local_datetime

INTERACTION_COLUMNS = [
    Column("occurred_at", _("Time"), value=lambda i: local_datetime(i.occurred_at), template=(
        '{% load i18n %}<td class="nowrap">{{ i.occurred_at|date:"Y-m-d H:i" }}{% if i.duration_minutes %} '
        '<span class="muted small">({% blocktranslate with n=i.duration_minutes %}{{ n }} min'
        "{% endblocktranslate %})</span>{% endif %}</td>")),
    Column("customer", _("Customer"), accessor="customer.name", template=(
        "<td><a href=\"{% url 'customers:detail' i.customer_id %}\">{{ i.customer.name }}</a></td>")),
    Column("kind", _("Kind"), accessor="get_kind_display", template="<td>{{ i.get_kind_display }}</td>"),
    Column("direction", _("Direction"), accessor="get_direction_display",
           template="<td>{{ i.get_direction_display }}</td>"),
    Column("contact", _("Contact person"), accessor="contact.name",
           template='<td>{{ i.contact.name|default:"—" }}</td>'),
    Column("content", _("Relationship content"), accessor="get_content_display",
           template='<td>{{ i.get_content_display|default:"—" }}</td>'),
    Column("summary", _("Summary"), template="<td>{{ i.summary|truncatechars:120 }}</td>"),
    Column("user", _("By"), accessor="user.display_name", template='<td>{{ i.user.display_name|default:"—" }}</td>'),
    Column("follow_up_on", _("Follow up on"), template=(
        '<td class="nowrap">{{ i.follow_up_on|date:"Y-m-d"|default:"—" }}</td>')),
]

INTERACTION_TABLE = Table("activities.interaction", INTERACTION_COLUMNS)

TODO_COLUMNS = [
    Column("due_on", _("Due"), template=(
        '{% load i18n %}<td class="nowrap">{{ todo.due_on|date:"Y-m-d" }}{% if todo.is_open and todo.due_on < today %} '
        '<span class="badge status-lost" data-testid="todo-overdue">{% translate "overdue" %}</span>{% endif %}</td>')),
    Column("title", _("To-do"), template=(
        '<td><span data-testid="todo-title">{{ todo.title }}</span> '
        '<span class="badge">{{ todo.get_kind_display }}</span></td>')),
    Column("customer", _("Customer"), accessor="customer.name", template=(
        "<td>{% if todo.customer_id and todo.customer_visible %}"
        "<a href=\"{% url 'customers:detail' todo.customer_id %}\" "
        'data-testid="todo-customer">{{ todo.customer.name }}</a>{% else %}—{% endif %}</td>')),
    Column("owner", _("Assigned to"), accessor="owner.display_name",
           template="<td>{{ todo.owner.display_name }}</td>"),
    Column("status", _("Status"), template=(
        '{% load i18n %}<td class="nowrap" data-testid="todo-status">'
        '{% if todo.is_open %}{% translate "open" %}{% else %}'
        '{% blocktranslate with at=todo.done_at|date:"Y-m-d H:i" %}done {{ at }}'
        "{% endblocktranslate %}{% endif %}</td>")),
    # Done / Reopen: swaps the row for the one the server sends back.
    Column("actions", _("Actions"), in_export=False, label_hidden=True, template=(
        '{% load i18n %}<td class="nowrap row-actions">'
        "{% url 'activities:todo_complete' todo.pk as complete_url %}"
        "{% url 'activities:todo_reopen' todo.pk as reopen_url %}"
        '<form method="post" action="{% if todo.is_open %}{{ complete_url }}{% else %}{{ reopen_url }}{% endif %}" '
        'class="inline" hx-post="{% if todo.is_open %}{{ complete_url }}{% else %}{{ reopen_url }}{% endif %}" '
        'hx-target="closest tr" hx-swap="outerHTML">{% csrf_token %}'
        '<input type="hidden" name="next" value="{{ next_url|default:request.get_full_path }}">'
        '{% if show_owner %}<input type="hidden" name="show_owner" value="1">{% endif %}'
        '{% if todo.is_open %}<button type="submit" data-testid="todo-complete">{% translate "Done" %}</button>'
        '{% else %}<button type="submit" class="linklike" data-testid="todo-reopen">{% translate "Reopen" %}</button>'
        "{% endif %}</form></td>")),
]

TODO_TABLE = Table("activities.todo", TODO_COLUMNS)


def todo_table_context(*, show_owner, can_change):
    """What a page showing to-do rows (``activities/partials/todo_table.html`` or one ``todo_row.html``)
    needs from the table: the "Assigned to" column only where the page lists other people's to-dos, the
    Done/Reopen column only for a user who may change to-dos."""
    hidden = {name for name, hide in (("owner", not show_owner), ("actions", not can_change)) if hide}
    return {"todo_headers": TODO_TABLE.headers("", hidden=hidden), "todo_cells": TODO_TABLE.row_cells(hidden=hidden)}


def interaction_table_context():
    return {"headers": INTERACTION_TABLE.headers(""), "row_cells": INTERACTION_TABLE.row_cells()}
