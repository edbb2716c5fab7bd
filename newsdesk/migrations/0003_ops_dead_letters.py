from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("newsdesk", "0002_article_search"),
    ]

    operations = [
        migrations.CreateModel(
            name="DeadLetter",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("task_name", models.CharField(max_length=200)),
                ("object_key", models.CharField(max_length=200)),
                ("args", models.JSONField(blank=True, default=list)),
                ("kwargs", models.JSONField(blank=True, default=dict)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("reason", models.TextField(blank=True)),
                ("last_task_id", models.CharField(blank=True, max_length=64)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("skipped", models.PositiveIntegerField(default=0, help_text="Messages skipped since it died.")),
            ],
            options={
                "ordering": ["-created_at"],
                "constraints": [models.UniqueConstraint(fields=("task_name", "object_key"), name="deadletter_unique")],
            },
        ),
        migrations.CreateModel(
            name="TaskAttempt",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("task_name", models.CharField(max_length=200)),
                (
                    "object_key",
                    models.CharField(help_text="The task's object id (first argument).", max_length=200),
                ),
                ("count", models.PositiveIntegerField(default=0)),
                ("last_task_id", models.CharField(blank=True, max_length=64)),
                ("last_error", models.TextField(blank=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("task_name", "object_key"), name="taskattempt_unique")],
            },
        ),
    ]
