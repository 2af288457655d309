"""Movement over time (R5.9): value alerts for owners of customers that left the high-value tier."""


from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.activities.models import Todo
from crm.activities.services import create_todos
from crm.customers.models import Customer

from ..choices import VALUE_ALERT_TODO, Tier
from ..models import CustomerMetrics


def create_value_alerts(previous, snapshot):
    """A ``value_alert`` to-do for the owner of every customer that was high-value in ``previous`` and is
    not in ``snapshot`` (a lower tier, or no purchases in the window any more) — one per customer: none
    when the customer already has an open value alert.  Returns the number created."""
    metrics, customers, todos = (CustomerMetrics._meta.db_table, Customer._meta.db_table, Todo._meta.db_table)
    sql = f"""
SELECT p.customer_id, c.owner_id, c.name, COALESCE(n.tier, '')
FROM {metrics} p
JOIN {customers} c ON c.id = p.customer_id
LEFT JOIN {metrics} n ON n.customer_id = p.customer_id AND n.snapshot_id = %s
WHERE p.snapshot_id = %s AND p.tier = %s AND (n.tier IS NULL OR n.tier <> %s) AND c.owner_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM {todos} t WHERE t.customer_id = p.customer_id AND t.kind = %s
                  AND t.done_at IS NULL)
ORDER BY p.customer_id"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [snapshot.pk, previous.pk, Tier.HIGH, Tier.HIGH, VALUE_ALERT_TODO])
        rows = cursor.fetchall()
    if not rows:
        return 0
    labels = dict(Tier.choices)
    due = timezone.localdate()
    new = []
    for customer_id, owner_id, name, tier in rows:  # only the customers that dropped, not the whole base
        now_in = labels.get(tier) or _("no purchases in the window")
        title = _("%(name)s is no longer a high-value customer (now: %(tier)s)") % {"name": name, "tier": now_in}
        new.append({"owner_id": owner_id, "customer_id": customer_id, "kind": VALUE_ALERT_TODO,
                    "title": title[:200], "due_on": due})
    return len(create_todos(new, actor=None))
