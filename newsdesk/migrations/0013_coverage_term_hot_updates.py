from django.db import migrations

# Document frequencies are counters bumped by every assignment. The term is
# the primary key, so PostgreSQL needs no second, pattern-ops ("_like")
# index on it (nothing searches terms by prefix), and free room on each page
# lets most increments be HOT updates, which write no index entry at all.
FORWARD = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT i.indexrelid::regclass::text AS name FROM pg_index i JOIN pg_opclass o ON o.oid = i.indclass[0]
             WHERE i.indrelid = 'newsdesk_coverageterm'::regclass AND o.opcname = 'varchar_pattern_ops'
    LOOP
        EXECUTE 'DROP INDEX ' || quote_ident(r.name);
    END LOOP;
END
$$;
ALTER TABLE newsdesk_coverageterm SET (fillfactor = 70);
"""

BACKWARD = """
ALTER TABLE newsdesk_coverageterm RESET (fillfactor);
CREATE INDEX IF NOT EXISTS newsdesk_coverageterm_term_like ON newsdesk_coverageterm (term varchar_pattern_ops);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("newsdesk", "0012_fetch_started_index"),
    ]

    operations = [migrations.RunPython(forward, backward)]
