# The lock-and-read function of 0008/0011 is no longer called: story
# assignment takes its term locks with the candidate read (one round trip,
# newsdesk/coverage/dbstore.py) and reads the document frequencies apart.

from importlib import import_module

from django.db import migrations


def lock_df_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS newsdesk_coverage_lock_df(bigint[], text[])")


# The way back recreates 0011's version, with 0011's own function.
lock_df_create = import_module("newsdesk.migrations.0011_coverage_perf_2").lock_df_plpgsql


class Migration(migrations.Migration):
    dependencies = [
        ("newsdesk", "0023_source_hub"),
    ]

    operations = [
        migrations.RunPython(lock_df_drop, lock_df_create),
    ]
