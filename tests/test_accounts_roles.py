"""Roles: the editors group from the data migration, `manage.py createeditor`, and admin refusing editors."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from newsdesk.accounts.roles import EDITORS_GROUP, user_can_read_desk
from tests.support.accounts import PASSWORD, make_admin, make_editor, make_plain_user, unique

pytestmark = pytest.mark.django_db


def test_the_migration_created_the_editors_group_with_view_permissions():
    group = Group.objects.get(name=EDITORS_GROUP)
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"view_article", "view_story", "view_source", "add_savedview", "delete_savedview"} <= codenames
    assert not {"change_source", "add_source", "delete_article"} & codenames


def test_createeditor_with_password_from_the_environment(monkeypatch):
    name = unique("ed")
    monkeypatch.setenv("NEWSDESK_EDITOR_PASSWORD", PASSWORD)
    out = io.StringIO()
    call_command("createeditor", name, "ed@example.org", "--noinput", stdout=out)
    user = get_user_model().objects.get(username=name)
    assert "created" in out.getvalue()
    assert user.check_password(PASSWORD)
    assert user.email == "ed@example.org"
    assert not user.is_staff and not user.is_superuser
    assert user.groups.filter(name=EDITORS_GROUP).exists()
    assert user_can_read_desk(user=user)


def test_createeditor_password_option_and_stdin(monkeypatch):
    first, second = unique("ed"), unique("ed")
    call_command("createeditor", first, "--password", PASSWORD, stdout=io.StringIO())
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    call_command("createeditor", second, "--password-stdin", stdout=io.StringIO())
    for name in (first, second):
        assert get_user_model().objects.get(username=name).check_password(PASSWORD)


def test_createeditor_noinput_without_password_leaves_it_unusable(monkeypatch):
    monkeypatch.delenv("NEWSDESK_EDITOR_PASSWORD", raising=False)
    name = unique("ed")
    out = io.StringIO()
    call_command("createeditor", name, "--noinput", stdout=out)
    assert not get_user_model().objects.get(username=name).has_usable_password()
    assert "changepassword" in out.getvalue()


def test_createeditor_refuses_weak_passwords_and_existing_users():
    name = unique("ed")
    with pytest.raises(CommandError, match="password refused"):
        call_command("createeditor", name, "--password", "123", stdout=io.StringIO())
    assert not get_user_model().objects.filter(username=name).exists()
    editor = make_editor()
    with pytest.raises(CommandError, match="already exists"):
        call_command("createeditor", editor.username, "--password", PASSWORD, stdout=io.StringIO())


def test_editor_cannot_reach_admin(client):
    """Editors are not staff: every admin page sends them to admin's login; admin's login refuses them."""
    editor = make_editor()
    client.force_login(editor)
    for url in (reverse("admin:index"), reverse("admin:newsdesk_source_changelist"), "/admin/auth/user/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url
    client.logout()
    response = client.post(reverse("admin:login"), {"username": editor.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "not authorized" in response.content.decode() or "correct username" in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302


def test_deactivated_editor_loses_the_private_desk(client, settings):
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    editor = make_editor()
    client.force_login(editor)
    assert client.get(reverse("dashboard")).status_code == 200
    editor.is_active = False
    editor.save()
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_remembered_right_to_read_agrees_with_the_rule_and_follows_changes():
    """reader_right() (remembered under the access epoch, for API tokens) and user_can_read_desk() agree,
    the first time and from the cache, and a change of the right counts at once."""
    from django.contrib.auth.models import Permission

    from newsdesk.accounts.livepass import reader_right
    from newsdesk.accounts.roles import READ_PERMISSION

    direct = make_plain_user()
    read = Permission.objects.get(codename=READ_PERMISSION.split(".")[1])
    direct.user_permissions.add(read)
    other_group = make_plain_user()
    other_group.groups.add(Group.objects.create(name="readers-without-the-permission"))
    retired = make_editor()
    retired.is_active = False
    retired.save()
    staff_only = make_plain_user()
    staff_only.is_staff = True
    staff_only.save()
    users = [make_editor(), make_admin(), make_plain_user(), direct, other_group, retired, staff_only]
    for user in users * 2:  # the second round from the cache
        fresh = get_user_model().objects.get(pk=user.pk)  # no permission cache from set-up
        assert reader_right(fresh) == user_can_read_desk(user=fresh), user.username
    assert reader_right(direct) and not reader_right(other_group) and not reader_right(retired)
    other_group.groups.first().permissions.add(read)  # the group is given the right
    assert reader_right(get_user_model().objects.get(pk=other_group.pk))
    direct.user_permissions.remove(read)  # and a right taken away
    assert not reader_right(get_user_model().objects.get(pk=direct.pk))
