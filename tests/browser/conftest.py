"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against live_server.

Never a downloaded browser: if /usr/bin/chromium is missing the tests skip
and say how to install it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Every test here drives a Chromium process (browser and slow: ``make test-slow``) against the live
    server, which reads only committed data (django_db with transactions), whatever its file says."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in item.path.resolve().parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
            if item.get_closest_marker("django_db") is None:
                item.add_marker(pytest.mark.django_db(transaction=True))


# Playwright's sync API runs an event loop in this thread; the tests' own ORM
# calls (setting up data) are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium(django_db_setup):
    """The browser, for the whole session; set up after the test database, so closed before it is dropped.

    Chromium keeps its connections to the live server open between requests, and each
    one's request thread keeps its database connection (``CONN_MAX_AGE``) until the
    browser closes it: closed after the database's teardown, that session made the
    ``DROP DATABASE`` fail on PostgreSQL and left ``test_<name>`` behind.
    """
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors
    yield page
    context.close()
