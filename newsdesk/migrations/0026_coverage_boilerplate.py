# Similar Coverage's boilerplate rule: the (lead segment, title) pairs seen at
# enrichment; a segment seen under three unrelated titles is boilerplate
# (newsdesk/coverage/boilerplate.py). The way back drops the table.


from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("newsdesk", "0025_coverage_packed"),
    ]

    operations = [
        migrations.CreateModel(
            name="CoverageBoilerplate",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("segment", models.CharField(max_length=16)),
                ("title", models.CharField(max_length=16)),
                ("words", models.TextField(blank=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("segment", "title"), name="coverage_boilerplate_segment_title")
                ],
            },
        ),
    ]
