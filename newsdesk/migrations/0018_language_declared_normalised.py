"""Stored language codes normalised ('es-MX' -> 'es'), as the store now writes them.

The ``lang`` filter compares the declared code with the filter's codes
(newsdesk/languages.py), so a row still holding 'es-MX' would be missed.
One UPDATE per distinct raw value: a handful, whatever the table's size.
"""

from django.db import migrations

from newsdesk.languages import language_code_normalise


def normalise(apps, schema_editor):
    Article = apps.get_model("newsdesk", "Article")
    for field in ("language_declared", "language"):
        for raw in Article.objects.order_by().values_list(field, flat=True).distinct():
            clean = language_code_normalise(code=raw)
            if clean != raw:
                Article.objects.filter(**{field: raw}).update(**{field: clean})


class Migration(migrations.Migration):
    dependencies = [("newsdesk", "0017_article_unassigned_idx")]
    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]
