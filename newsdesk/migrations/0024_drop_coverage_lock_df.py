# The lock-and-read function of 0008/0011 is no longer called: story
# assignment takes its term locks with the candidate read (one round trip,
# newsdesk/coverage/dbstore.py) and reads the document frequencies apart.

from django.db import migrations

# 0011's version, for the way back.
LOCK_DF = """
CREATE OR REPLACE FUNCTION newsdesk_coverage_lock_df(lock_keys bigint[], keys text[])
RETURNS TABLE (term text, df bigint) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(k.k) FROM unnest(lock_keys) AS k(k);
    RETURN QUERY SELECT t.term::text, t.df::bigint FROM newsdesk_coverageterm AS t WHERE t.term = ANY(keys);
END
$$
"""


def lock_df_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS newsdesk_coverage_lock_df(bigint[], text[])")


def lock_df_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(LOCK_DF)


class Migration(migrations.Migration):
    dependencies = [
        ("newsdesk", "0023_source_hub"),
    ]

    operations = [
        migrations.RunPython(lock_df_drop, lock_df_create),
    ]
