# Which reading of the text (newsdesk/coverage/particulars.py VERSION) wrote each indexed
# document's particulars. Rows stored before read 0: beat's refinement reads them anew in
# bounded batches, newest first (newsdesk/coverage/dbupgrade.py), or `manage.py
# refresh_particulars` at once. A constant default: PostgreSQL adds the column without
# rewriting the table. The way back drops the column.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("newsdesk", "0027_coverage_boilerplate_seen"),
    ]

    operations = [
        migrations.AddField(
            model_name="coveragedoc",
            name="particulars_version",
            field=models.PositiveSmallIntegerField(db_default=0),
        ),
    ]
