"""newsdesk/drops/admin.py: the DropFile ledger is listed read-only in admin."""

from __future__ import annotations

import pytest

from newsdesk.models import DropFile, Source, SourceKind

pytestmark = pytest.mark.django_db


def test_ledger_lists_files_and_cannot_be_edited(admin_client):
    source = Source.objects.create(name="Inbox", kind=SourceKind.DROP, inbox="inbox")
    row = DropFile.objects.create(source=source, sha256="ab" * 32, name="card.txt", size=12, format="card")
    page = admin_client.get("/admin/newsdesk/dropfile/")
    assert page.status_code == 200
    assert b"card.txt" in page.content
    assert admin_client.get("/admin/newsdesk/dropfile/add/").status_code == 403
    detail = admin_client.get(f"/admin/newsdesk/dropfile/{row.id}/change/")
    assert detail.status_code == 200
    assert b'name="name"' not in detail.content  # shown, not editable
