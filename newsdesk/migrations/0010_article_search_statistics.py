"""Finer statistics for the search vector (PostgreSQL): with the default sample the
planner misjudges how common a word is and builds large bitmaps it does not need.
"""

from django.db import migrations


def install(apps, schema_editor):
    from newsdesk.models.search_schema import POSTGRES_STATISTICS

    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(POSTGRES_STATISTICS)


class Migration(migrations.Migration):
    dependencies = [("newsdesk", "0009_article_search_storage")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
