"""Columns the analytics app adds to other apps' tables: the customer value figures on the customer
list, from the current snapshot, joined by the list's own query only when the list shows or sorts by
them.  List-only: the export keeps its set."""

from django.utils.translation import gettext_lazy as _

from crm.core.tables import Column

from .filtersets import with_current_metrics

CUSTOMER_COLUMNS = [
    Column("value", _("Customer value"), in_export=False, annotate=with_current_metrics, order=5, template=(
        '{% load i18n analytics_format %}<td data-testid="customer-value">'
        '{% if customer.metric_segment %}<span class="badge segment" data-testid="customer-segment">'
        "{{ customer.metric_segment|segment_name }}</span>{% endif %}\n"
        '        {% if customer.metric_tier %}<span class="badge tier-{{ customer.metric_tier }}" '
        'data-testid="customer-tier">{{ customer.metric_tier|tier_name }}</span>{% endif %}\n'
        '        {% if customer.metric_at_risk %}<span class="badge at-risk" data-testid="customer-at-risk">'
        '{% translate "at risk" %}</span>{% endif %}</td>')),
    Column("clv", _("Lifetime value"), order_by="clv", in_export=False, header_class="num",
           annotate=with_current_metrics, order=10, template=(
        '<td class="num nowrap" data-testid="customer-clv">{% if customer.clv is not None %}'
        '{{ customer.clv|floatformat:"0g" }}{% else %}—{% endif %}</td>')),
    Column("p_alive", _("P(alive)"), order_by="p_alive", in_export=False, header_class="num",
           annotate=with_current_metrics, order=20, template=(
        '<td class="num">{% if customer.p_alive is not None %}{{ customer.p_alive|floatformat:2 }}'
        "{% else %}—{% endif %}</td>")),
    Column("loyalty", _("Loyalty"), order_by="loyalty", in_export=False, header_class="num",
           annotate=with_current_metrics, order=30, template=(
        '<td class="num">{% if customer.loyalty is not None %}{{ customer.loyalty|floatformat:0 }}'
        "{% else %}—{% endif %}</td>")),
]
