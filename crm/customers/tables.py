"""The customer table: the columns of the customer list and of its CSV export, declared once.

Cells are template snippets rendered with the row as ``customer``.  Other apps add their own columns
with ``crm.core.tables.contribute("customers.customer", [...])``.  The export keeps its own, longer set
(list-only and export-only columns) plus one column per custom field.
"""

from django.utils.translation import gettext_lazy as _

from crm.core.choices import CustomFieldType
from crm.core.custom_fields import definitions_for
from crm.core.phones import format_phone
from crm.core.tables import Column, Table, local_datetime

from .models import Customer

MODEL_LABEL = "customers.customer"

COLUMNS = [
    Column("id", _("ID"), accessor="pk", in_list=False),
    Column("name", _("Name"), order_by="name", in_export=False, template=(
        '<td><a href="{% url \'customers:detail\' customer.pk %}" data-testid="customer-name">'
        "{{ customer.name }}</a></td>")),
    Column("kind", _("Kind"), accessor="get_kind_display", template="<td>{{ customer.get_kind_display }}</td>"),
    # The export names the customer after its kind (the list shows the name first, as a link).
    Column("export_name", _("Name"), accessor="name", in_list=False),
    Column("phone", _("Phone"), value=lambda c: format_phone(c.phone),
           template='<td class="nowrap" data-testid="customer-phone">{{ customer.phone_display }}</td>'),
    Column("email", _("Email"), in_list=False),
    Column("website", _("Website"), in_list=False),
    Column("province", _("Province"), in_list=False),
    Column("city", _("City"), template="<td>{{ customer.city }}</td>"),
    Column("district", _("District"), in_list=False),
    Column("address", _("Street address"), in_list=False),
    Column("industry", _("Industry"), accessor="get_industry_display", in_list=False),
    Column("source", _("Source"), accessor="get_source_display", in_list=False),
    Column("status", _("Status"), accessor="get_status_display", template=(
        '<td><span class="status status-{{ customer.status }}">{{ customer.get_status_display }}</span></td>')),
    Column("customer_type", _("Customer type"), accessor="get_customer_type_display",
           template="<td>{{ customer.get_customer_type_display }}</td>"),
    Column("owner", _("Owner"), accessor="owner.display_name",
           template='<td>{{ customer.owner.display_name|default:"—" }}</td>'),
    Column("branch", _("Branch / team"), accessor="branch.name",
           template='<td>{{ customer.branch.name|default:"—" }}</td>'),
    Column("tags", _("Tags"), value=lambda c: ", ".join(t.name for t in c.tags.all()),
           template='<td>{% for tag in customer.tags.all %}<span class="tag">{{ tag.name }}</span>{% endfor %}</td>'),
    Column("created_at", _("Created"), order_by="created_at", value=lambda c: local_datetime(c.created_at),
           template='<td class="nowrap">{{ customer.created_at|date:"Y-m-d" }}</td>'),
    Column("updated_at", _("Updated"), order_by="updated_at", value=lambda c: local_datetime(c.updated_at),
           template='<td class="nowrap">{{ customer.updated_at|date:"Y-m-d H:i" }}</td>'),
]


def custom_display(definition, value):
    """A custom field's stored value as text (yes/no for a boolean)."""
    if value is None or value == "":
        return ""
    if definition.field_type == CustomFieldType.BOOLEAN:
        return str(_("Yes")) if value else str(_("No"))
    return str(value)


def _custom_column(definition):
    return Column(f"cf_{definition.key}", definition.label, in_list=False,
                  value=lambda c: custom_display(definition, (c.custom_fields or {}).get(definition.key)))


def customer_table(*, custom_fields=False):
    """The customer table; with ``custom_fields``, one export column per active custom field."""
    extra = [_custom_column(d) for d in definitions_for(Customer)] if custom_fields else []
    return Table(MODEL_LABEL, [*COLUMNS, *extra])
