"""The order table: the columns of the order list and of its CSV export, declared once.

Cells are template snippets rendered with the row as ``order``; the export writes plain values
(amounts as stored, the margin rate as a fraction) so that a spreadsheet can compute with them.
"""

from django.utils.translation import gettext_lazy as _

from crm.core.tables import Column, Table

MODEL_LABEL = "sales.order"

COLUMNS = [
    Column("id", _("ID"), accessor="pk", in_list=False),
    Column("number", _("Order"), accessor="display_number", template=(
        '{% load i18n %}<td class="nowrap"><a href="{% url \'sales:order_detail\' order.pk %}" '
        'data-testid="order-number">{{ order.display_number }}</a>{% if order.is_promotion %} '
        '<span class="tag">{% translate "promotion" %}</span>{% endif %}</td>')),
    Column("order_date", _("Date"), value=lambda o: o.order_date.isoformat(),
           template='<td class="nowrap">{{ order.order_date|date:"Y-m-d" }}</td>'),
    Column("customer_id", _("Customer ID"), in_list=False),
    Column("customer", _("Customer"), accessor="customer.name", template=(
        "<td><a href=\"{% url 'customers:detail' order.customer_id %}\">{{ order.customer.name }}</a></td>")),
    Column("status", _("Status"), accessor="get_status_display", template=(
        '<td><span class="status status-{{ order.status }}" data-testid="order-status">'
        "{{ order.get_status_display }}</span></td>")),
    Column("channel", _("Sales channel"), accessor="get_channel_display", template=(
        "<td>{{ order.get_channel_display }}{% if order.partner %} · {{ order.partner.name }}{% endif %}</td>")),
    Column("partner", _("Channel partner"), accessor="partner.name", in_list=False),
    Column("seller", _("Sold by"), accessor="seller.display_name",
           template='<td>{{ order.seller.display_name|default:"—" }}</td>'),
    Column("is_promotion", _("Promotion"), in_list=False,
           value=lambda o: str(_("Yes")) if o.is_promotion else str(_("No"))),
    Column("total_amount", _("Total"), header_class="num",
           template='{% load sales_format %}<td class="num">{{ order.total_amount|money }}</td>'),
    Column("gross_margin", _("Gross margin"), header_class="num",
           template='{% load sales_format %}<td class="num">{{ order.gross_margin|money }}</td>'),
    Column("margin_rate", _("Margin rate"), header_class="num",
           value=lambda o: "" if o.margin_rate is None else f"{o.margin_rate:.4f}",
           template='{% load sales_format %}<td class="num">{{ order.margin_rate|percent }}</td>'),
    Column("external_ref", _("External reference"), in_list=False),
]

ORDER_TABLE = Table(MODEL_LABEL, COLUMNS)

PRODUCT_COLUMNS = [
    Column("code", _("Code"), template=(
        '<td class="nowrap"><a href="{% url \'sales:product_detail\' product.pk %}" data-testid="product-code">'
        "{{ product.code }}</a></td>")),
    Column("name", _("Name"), template="<td>{{ product.name }}</td>"),
    Column("category", _("Category"), accessor="category.name",
           template='<td>{{ product.category.name|default:"—" }}</td>'),
    Column("unit", _("Unit"), template="<td>{{ product.unit }}</td>"),
    Column("list_price", _("List price"), header_class="num",
           template='{% load sales_format %}<td class="num">{{ product.list_price|money }}</td>'),
    Column("standard_cost", _("Standard cost"), header_class="num",
           template='{% load sales_format %}<td class="num">{{ product.standard_cost|money }}</td>'),
    Column("margin_rate", _("Margin"), header_class="num",
           template='{% load sales_format %}<td class="num">{{ product.margin_rate|percent }}</td>'),
    Column("stock_on_hand", _("Stock on hand"), header_class="num",
           template='<td class="num">{{ product.stock_on_hand|floatformat:"-3g" }}</td>'),
    Column("active", _("Active"), template=(
        '{% load i18n %}<td>{% if product.active %}{% translate "Yes" %}{% else %}{% translate "No" %}{% endif %}'
        "</td>")),
]

PRODUCT_TABLE = Table("sales.product", PRODUCT_COLUMNS)
