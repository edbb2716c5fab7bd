"""Create an editor: a non-staff user in the "editors" group, for scripts and first setup.

    manage.py createeditor alice alice@example.org            # asks for the password
    manage.py createeditor alice alice@example.org --password-stdin < secret
    NEWSDESK_EDITOR_PASSWORD=… manage.py createeditor alice alice@example.org --noinput
    manage.py createeditor alice alice@example.org --password VALUE

``--password VALUE`` is there for throwaway setups: a password on the
command line sits in shell history and in ``ps``. Prefer the prompt, stdin or
the environment.
"""

from __future__ import annotations

import getpass
import os
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from newsdesk.accounts.roles import editor_create

PASSWORD_ENV = "NEWSDESK_EDITOR_PASSWORD"  # noqa: S105 - the variable's name


class Command(BaseCommand):
    help = "Create an editor (non-staff, in the 'editors' group) who can sign in and keep saved views."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("email", nargs="?", default="")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help=f"Never prompt; the password comes from ${PASSWORD_ENV} (or none: an unusable password).",
        )
        parser.add_argument("--password", help="The password (visible in ps and shell history; prefer the others).")
        parser.add_argument("--password-stdin", action="store_true", help="Read the password from standard input.")

    def handle(
        self, *args, username: str, email: str, interactive: bool, password: str | None, password_stdin: bool, **options
    ):
        username = username.strip()
        if not username:
            raise CommandError("username must not be empty")
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n") or None
        elif not password and not interactive:
            password = os.environ.get(PASSWORD_ENV) or None
        elif not password:
            password = self._prompt()
        if password is not None:
            probe = get_user_model()(username=username, email=email)
            try:
                validate_password(password, user=probe)
            except ValidationError as exc:
                raise CommandError("password refused: " + " ".join(exc.messages)) from exc
        try:
            user = editor_create(username=username, email=email, password=password)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        note = "" if password else " (no usable password yet: set one with `manage.py changepassword`)"
        self.stdout.write(self.style.SUCCESS(f"Editor {user.get_username()!r} created{note}."))

    def _prompt(self) -> str:
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Password (again): ")
        if first != second:
            raise CommandError("the passwords did not match")
        if not first:
            raise CommandError("the password must not be empty")
        return first
