# Similar Coverage's boilerplate counts are bounded: each (segment, title) row
# says when it was first counted, and rows older than
# NEWSDESK_COVERAGE_BOILERPLATE_DAYS are pruned hourly
# (newsdesk/coverage/dbboilerplate.py). Rows from before this migration count
# from the migration's time. The way back drops the column.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("newsdesk", "0026_coverage_boilerplate"),
    ]

    operations = [
        migrations.AddField(
            model_name="coverageboilerplate",
            name="seen_at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
    ]
