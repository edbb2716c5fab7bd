"""Take docs/*.png from exactly what `make run` shows on a machine without internet.

    .venv/bin/python docs/screenshots.py

Starts `make run` in a throw-away copy of this checkout (deploy/makerun.py:
its own port, embedded Redis and database, no internet feeds, translation
unreachable), waits for the demo inbox to be taken through the pipeline,
creates an admin user the way the README says (`createsuperuser --noinput`
with DJANGO_SUPERUSER_* variables), and photographs the dashboard, a story
page, /stats/ and admin with Debian's chromium through Playwright. Then it
stops everything it started. Takes about two minutes.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy.makerun import MakeRun, checkout_copy  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
OUT = ROOT / "docs"
ADMIN = ("admin", "a-long-demo-password-1")


def _fetch(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return response.read().decode()


def main() -> int:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="newsdesk-shots-") as tmp:
        run = MakeRun(workdir=checkout_copy(Path(tmp)))
        with run:
            run.wait_healthy(seconds=300)
            # The demo inbox is picked up, enriched and grouped: its cross-language quake story is up.
            run.wait_until(
                lambda: "Antofagasta" in _fetch(run.url + "/") and "Similar Coverage (2)" in _fetch(run.url + "/"),
                seconds=180,
                what="the demo's stories on the dashboard",
            )
            done = run.manage(
                "createsuperuser",
                "--noinput",
                DJANGO_SUPERUSER_USERNAME=ADMIN[0],
                DJANGO_SUPERUSER_PASSWORD=ADMIN[1],
                DJANGO_SUPERUSER_EMAIL="admin@example.org",
            )
            if done.returncode:
                raise SystemExit(done.stderr)
            story = re.search(r'href="(/stories/\d+/)"[^>]*>📡 Similar Coverage \(2\)', _fetch(run.url + "/"))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
                page = browser.new_page(viewport={"width": 1280, "height": 900}, base_url=run.url)
                page.goto("/")
                originals = page.locator("details.original summary")
                if originals.count():  # translated cards have the original at hand: show one open
                    originals.first.click()
                page.screenshot(path=OUT / "dashboard.png")
                if story:
                    page.goto(story.group(1))
                    page.screenshot(path=OUT / "story.png", full_page=True)
                page.goto("/stats/")
                page.screenshot(path=OUT / "stats.png", full_page=True)
                page.goto("/admin/login/?next=/admin/newsdesk/source/")
                page.fill("#id_username", ADMIN[0])
                page.fill("#id_password", ADMIN[1])
                page.click("input[type=submit]")
                page.wait_for_url("**/admin/newsdesk/source/")
                page.screenshot(path=OUT / "admin.png")
                browser.close()
    for name in ("dashboard", "story", "stats", "admin"):
        print(f"wrote docs/{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
