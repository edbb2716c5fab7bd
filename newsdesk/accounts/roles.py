"""Who is who: admins are staff (Django admin), editors are members of the "editors" group.

An editor may read everything on the desk, keep saved views and correct
Similar Coverage (story decisions), but is not staff, so Django admin
refuses them.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.db import transaction

EDITORS_GROUP = "editors"
# The permission that lets a signed-in user read the private desk.
READ_PERMISSION = "newsdesk.view_article"
SAVED_VIEW_ACTIONS = ("add", "change", "delete", "view")
# Correcting Similar Coverage (take an article out of a story, move it, merge
# two stories, undo): recorded as story decisions.
DECIDE_PERMISSION = "newsdesk.add_storydecision"
DECISION_ACTIONS = ("add", "change")


def user_can_correct_stories(*, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Signed in, active, and allowed to record story decisions (the editors group, or a superuser)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.has_perm(DECIDE_PERMISSION))


def user_can_read_desk(*, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Signed in, active, and either staff or holding the editors' read permission."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_staff or user.has_perm(READ_PERMISSION))


def editors_group_ensure() -> Group:
    """The editors group with view permissions on every Newsdesk model and full rights on saved views.

    The data migration creates it; this re-applies the permissions so a model
    added later is readable by editors too, and so a deleted group comes back.
    """
    group, _ = Group.objects.get_or_create(name=EDITORS_GROUP)
    perms = Permission.objects.filter(content_type__app_label="newsdesk", codename__startswith="view_")
    saved = Permission.objects.filter(
        content_type__app_label="newsdesk", codename__in=[f"{a}_savedview" for a in SAVED_VIEW_ACTIONS]
    )
    decide = Permission.objects.filter(
        content_type__app_label="newsdesk", codename__in=[f"{a}_storydecision" for a in DECISION_ACTIONS]
    )
    group.permissions.add(*perms, *saved, *decide)
    return group


@transaction.atomic
def editor_create(*, username: str, email: str, password: str | None) -> AbstractBaseUser:
    """Create an editor: an active, non-staff user in the editors group.

    ``password=None`` leaves the account without a usable password (set one
    later with ``changepassword``). An existing username is an error, never a
    silent update: a script must not take over someone's account.
    """
    User = get_user_model()
    if User._default_manager.filter(username=username).exists():
        raise ValueError(f"a user named {username!r} already exists")
    user = User._default_manager.create_user(username=username, email=email, password=password)
    user.is_staff = False
    user.is_superuser = False
    user.save(update_fields=["is_staff", "is_superuser"])
    user.groups.add(editors_group_ensure())
    return user
