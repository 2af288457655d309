"""PostgreSQL only: an index for names searched by one or two characters.

pg_trgm (migration 0002) cannot use its index for terms shorter than three characters, and Chinese
users very often type two (星通, 华信).  ``crm_name_grams(name)`` returns every 1- and 2-character
piece of the upper-cased name; a GIN index on it answers ``grams @> ARRAY['星通']``, which is exactly
``name icontains '星通'`` for a term of one or two characters.  SQLite is untouched.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION crm_name_grams(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT coalesce(array_agg(DISTINCT gram), '{}')
    FROM (
        SELECT substr(upper(value), i, 1) AS gram FROM generate_series(1, char_length(value)) AS i
        UNION ALL
        SELECT substr(upper(value), i, 2) FROM generate_series(1, char_length(value) - 1) AS i
    ) AS grams
$$
"""
INDEX = "CREATE INDEX IF NOT EXISTS cust_name_grams_idx ON customers_customer USING gin (crm_name_grams(name))"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    schema_editor.execute(INDEX)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS cust_name_grams_idx")
    schema_editor.execute("DROP FUNCTION IF EXISTS crm_name_grams(text)")


class Migration(migrations.Migration):
    dependencies = [("customers", "0006_branch_status_index")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
