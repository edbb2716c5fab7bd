"""Full-text search over articles: a GIN-indexed tsvector on PostgreSQL, FTS5 on SQLite.

The objects are vendor-specific and invisible to the model layer, so they
are created here in code; see newsdesk/models/search_schema.py.
"""

from django.db import migrations


def install(apps, schema_editor):
    from newsdesk.models.search_schema import search_schema_install

    search_schema_install(connection=schema_editor.connection)


def remove(apps, schema_editor):
    from newsdesk.models.search_schema import search_schema_remove

    search_schema_remove(connection=schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("newsdesk", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
