# The candidate read fetches each stored document's terms and names, and each
# candidate story's centroid, packed (newsdesk/coverage/docpack.py) instead of
# as jsonb printed and parsed.
# Rows written before these columns have none and are read from their JSON, as
# before; the way back drops the columns (the JSON columns are the record).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("newsdesk", "0024_drop_coverage_lock_df"),
    ]

    operations = [
        migrations.AddField(
            model_name="coveragedoc",
            name="packed",
            field=models.BinaryField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="coveragestory",
            name="centroid_packed",
            field=models.BinaryField(blank=True, null=True),
        ),
    ]
