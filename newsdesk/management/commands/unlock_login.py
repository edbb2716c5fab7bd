"""Let an account sign in again after failed-login throttling (newsdesk/accounts/throttle.py)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from newsdesk.accounts.throttle import login_unlock


class Command(BaseCommand):
    help = (
        "Clear the failed-login counters of an account (from every address), and of the given "
        "client addresses, so its owner can sign in again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--ip", action="append", default=[], help="also clear this client address (repeatable)")

    def handle(self, *args, username: str, ip: list[str], **options) -> None:
        users = get_user_model().objects
        if not users.filter(**{f"{get_user_model().USERNAME_FIELD}__iexact": username}).exists():
            raise CommandError(f"no account named {username!r}")
        login_unlock(username=username, ips=tuple(ip))
        where = f" and for {', '.join(ip)}" if ip else ""
        self.stdout.write(f"Unlocked sign-in for {username}{where}.")
