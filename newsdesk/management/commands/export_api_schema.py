"""Write the API's OpenAPI schema (what /api/v1/openapi.json serves) to docs/openapi.json, or check it."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse


def api_schema() -> dict:
    from newsdesk.api.urls import api

    prefix = reverse("api-1:api-root")
    return json.loads(json.dumps(api.get_openapi_schema(path_prefix=prefix), default=str))


class Command(BaseCommand):
    help = "Write docs/openapi.json from the API (or, with --check, fail if it is out of date)."

    def add_arguments(self, parser):
        parser.add_argument("--output", default=str(Path(settings.BASE_DIR) / "docs" / "openapi.json"))
        parser.add_argument("--check", action="store_true", help="Exit 1 if the file differs from the API.")

    def handle(self, *args, output: str, check: bool, **options) -> None:
        text = json.dumps(api_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        path = Path(output)
        if check:
            if not path.exists() or json.loads(path.read_text()) != json.loads(text):
                raise CommandError(f"{path} is out of date: run `manage.py export_api_schema`.")
            self.stdout.write("up to date")
            return
        path.write_text(text)
        self.stdout.write(f"wrote {path}")
