"""PostgreSQL only: a trigram index for "name contains" searches.

Django writes ``name__icontains`` as ``UPPER(name::text) LIKE UPPER('%term%')``; a GIN index on
``UPPER(name) gin_trgm_ops`` answers it for terms of three or more characters instead of a scan of
the whole table.  It needs the pg_trgm extension: when the database user may not create it, the
migration prints a warning and leaves searches working without the index.  SQLite is untouched.

A GIN index carries no statistics, so without help the planner guesses that ``'%bjxt%'`` matches
0.8 % of the rows and walks the whole ``created_at`` index instead of combining the search indexes.
Extended statistics on the same expression (PostgreSQL 14+) give it a real estimate.
"""

from django.db import DatabaseError, migrations, transaction

INDEX = "cust_name_trgm_idx"
STATISTICS = "cust_name_upper_stats"


def create_index(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        try:
            with transaction.atomic(using=connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DatabaseError as exc:
            print(f"\n  Warning: pg_trgm is not available ({str(exc).strip()}); customer name searches "
                  f"will not use a trigram index. Ask the database administrator to run "
                  f"CREATE EXTENSION pg_trgm, then re-run this migration.")
            return
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON customers_customer USING gin (UPPER(name) gin_trgm_ops)"
        )
        if connection.pg_version >= 140000:
            cursor.execute(f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} ON (UPPER(name::text)) "
                           f"FROM customers_customer")
            cursor.execute(f"ALTER STATISTICS {STATISTICS} SET STATISTICS 1000")
        cursor.execute("ANALYZE customers_customer")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")
        cursor.execute(f"DROP INDEX IF EXISTS {INDEX}")  # the extension stays: others may use it


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
