"""Index for the customer value refresh: one pass over the revenue orders grouped by customer and day.

A partial index over revenue orders only (confirmed, delivered, paid), keyed on (customer, order date),
carrying the amount, margin and promotion flag, so the refresh reads the index in customer and date
order — the order its GROUP BY and window functions need — without touching the table (an index-only
scan on PostgreSQL, a covering index on SQLite).  Written as SQL because the INCLUDE columns are
PostgreSQL syntax; the model state does not change.  On PostgreSQL the index is built CONCURRENTLY so
the orders table stays writable during the migration.
"""

from django.db import migrations

NAME = "order_analytics_idx"
WHERE = "status IN ('confirmed', 'delivered', 'paid')"


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} ON sales_order (customer_id, order_date) "
            f"INCLUDE (total_amount, gross_margin, is_promotion) WHERE {WHERE}")
    else:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON sales_order "
            f"(customer_id, order_date, total_amount, gross_margin, is_promotion) WHERE {WHERE}")


def drop(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {NAME}")


class Migration(migrations.Migration):

    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("sales", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
