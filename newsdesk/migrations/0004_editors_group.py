"""Create the "editors" group: view permissions on Newsdesk's models, and their own saved views.

Permissions are normally created after all migrations ran (post_migrate), so
on a fresh database they do not exist yet; create them here first.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITORS = "editors"
SAVED_VIEW_ACTIONS = ("add", "change", "delete", "view")


def editors_group_create(apps, schema_editor):
    for app_label in ("auth", "contenttypes", "newsdesk"):
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=EDITORS)
    perms = Permission.objects.filter(content_type__app_label="newsdesk", codename__startswith="view_")
    saved = Permission.objects.filter(
        content_type__app_label="newsdesk", codename__in=[f"{a}_savedview" for a in SAVED_VIEW_ACTIONS]
    )
    group.permissions.add(*perms, *saved)


def editors_group_delete(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=EDITORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("newsdesk", "0003_desks"),
    ]

    operations = [migrations.RunPython(editors_group_create, editors_group_delete)]
