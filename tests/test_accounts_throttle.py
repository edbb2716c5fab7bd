"""Failed logins are throttled per account and per IP, on our form and on Django admin's."""

from __future__ import annotations

import io
import secrets

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from newsdesk.accounts.throttle import client_ip, login_failures_clear
from tests.support.accounts import PASSWORD, make_admin, make_editor

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    settings.NEWSDESK_LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    settings.NEWSDESK_LOGIN_MAX_FAILURES_PER_IP = 6
    settings.NEWSDESK_LOGIN_MAX_FAILURES_PER_ACCOUNT_ALL = 100
    settings.NEWSDESK_LOGIN_LOCKOUT_SECONDS = 60
    return settings


def fresh_ip() -> str:
    """A random documentation-range address, so counters left in the cache by other runs never interfere."""
    return "2001:db8::" + ":".join(secrets.token_hex(2) for _ in range(3))


def login(client, username: str, password: str, ip: str):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def guess_wrong(client, username: str, ip: str, *, times: int) -> None:
    """`times` sign-ins with a wrong password for `username` from `ip`."""
    for _ in range(times):
        login(client, username, "wrong", ip)


def test_account_is_locked_after_repeated_failures_even_with_the_right_password(client, limits):
    editor = make_editor()
    ip = fresh_ip()
    for _ in range(3):
        response = login(client, editor.username, "wrong", ip)
        assert response.status_code == 200  # the form again, with an error
    locked = login(client, editor.username, PASSWORD, ip)
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    login_failures_clear(username=editor.username, ip=ip)
    assert login(client, editor.username, PASSWORD, ip).status_code == 302


def test_a_guesser_cannot_lock_the_owner_out_from_another_address(client, limits):
    """Issue #16 item 5: five wrong guesses from one address locked the account everywhere, admin included."""
    admin = make_admin()
    attacker = fresh_ip()
    guess_wrong(client, admin.username, attacker, times=5)
    assert login(client, admin.username, PASSWORD, attacker).status_code == 429  # the guesser stays locked
    assert login(client, admin.username, PASSWORD, fresh_ip()).status_code == 302  # the owner gets in


def test_a_guesser_spread_over_many_addresses_hits_the_global_cap_and_an_admin_unlocks(client, limits):
    limits.NEWSDESK_LOGIN_MAX_FAILURES_PER_ACCOUNT_ALL = 6
    editor = make_editor()
    for _ in range(3):
        attacker = fresh_ip()
        guess_wrong(client, editor.username, attacker, times=2)
    owner = fresh_ip()
    assert login(client, editor.username, PASSWORD, owner).status_code == 429
    out = io.StringIO()
    call_command("unlock_login", editor.username.upper(), stdout=out)
    assert "Unlocked sign-in" in out.getvalue()
    assert login(client, editor.username, PASSWORD, owner).status_code == 302


def test_unlock_clears_every_address_of_the_account_and_the_ips_named(client, limits):
    editor = make_editor()
    ip = fresh_ip()
    guess_wrong(client, editor.username, ip, times=3)
    assert login(client, editor.username, PASSWORD, ip).status_code == 429
    call_command("unlock_login", editor.username, "--ip", ip, stdout=io.StringIO())
    assert login(client, editor.username, PASSWORD, ip).status_code == 302
    with pytest.raises(CommandError):
        call_command("unlock_login", "nobody-here", stdout=io.StringIO())


def test_an_ip_spraying_many_accounts_is_locked(client, limits):
    ip = fresh_ip()
    victims = [make_editor() for _ in range(3)]
    for victim in victims:  # 2 failures each: no account reaches its limit of 3
        guess_wrong(client, victim.username, ip, times=2)
    survivor = make_editor()
    assert login(client, survivor.username, PASSWORD, ip).status_code == 429
    assert login(client, survivor.username, PASSWORD, fresh_ip()).status_code == 302


def test_success_clears_the_account_counter(client, limits):
    editor = make_editor()
    ip = fresh_ip()
    guess_wrong(client, editor.username, ip, times=2)
    assert login(client, editor.username, PASSWORD, ip).status_code == 302
    client.logout()
    guess_wrong(client, editor.username, ip, times=2)
    assert login(client, editor.username, PASSWORD, ip).status_code == 302


def test_admin_login_is_throttled_too(client, limits):
    admin = make_admin()
    ip = fresh_ip()
    for _ in range(3):
        client.post(reverse("admin:login"), {"username": admin.username, "password": "wrong"}, REMOTE_ADDR=ip)
    response = client.post(reverse("admin:login"), {"username": admin.username, "password": PASSWORD}, REMOTE_ADDR=ip)
    assert response.status_code == 200  # admin's form again, not the redirect into admin
    assert "_auth_user_id" not in client.session


def test_username_case_does_not_dodge_the_account_limit(client, limits):
    editor = make_editor()
    ip = fresh_ip()
    for variant in (editor.username.upper(), editor.username.title(), editor.username):
        login(client, variant, "wrong", ip)
    assert login(client, editor.username, PASSWORD, ip).status_code == 429


def test_client_ip_trusts_forwarded_for_only_as_far_as_configured(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    settings.NEWSDESK_TRUSTED_PROXY_COUNT = 0
    assert client_ip(request=request) == "10.0.0.1"
    settings.NEWSDESK_TRUSTED_PROXY_COUNT = 1
    assert client_ip(request=request) == "203.0.113.9"  # not the forgeable left-most entry
