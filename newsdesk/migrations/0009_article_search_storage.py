"""Keep the search vector inline (PostgreSQL): a search that walks the date index
checks each row's vector, and an out-of-line (TOASTed) vector costs an extra
index lookup per row. Rows up to about 4 kB stay whole; long article bodies
are still moved out, which only the full-text pages read.
"""

from django.db import migrations


def install(apps, schema_editor):
    from newsdesk.models.search_schema import POSTGRES_STORAGE

    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            for sql in POSTGRES_STORAGE:
                cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("newsdesk", "0008_coverage_perf")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
