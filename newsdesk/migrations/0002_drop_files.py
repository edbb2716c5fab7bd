import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("newsdesk", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="DropFile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sha256", models.CharField(max_length=64)),
                ("name", models.CharField(max_length=255)),
                ("size", models.PositiveBigIntegerField(default=0)),
                ("format", models.CharField(blank=True, max_length=16)),
                ("encoding", models.CharField(blank=True, max_length=32)),
                ("articles", models.PositiveIntegerField(default=0)),
                ("ingested_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "attempt",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="newsdesk.fetchattempt",
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="drop_files", to="newsdesk.source"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("source", "sha256"), name="dropfile_unique_content")
                ],
            },
        ),
    ]
