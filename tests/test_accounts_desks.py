"""Saved views as services: save, rename, reorder, delete, open, and the capped new-article count."""

from __future__ import annotations

import pytest

from newsdesk.accounts import desks
from newsdesk.models import SavedView
from tests.support.accounts import make_article, make_editor, make_source

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_counts")]


def names(owner) -> list[str]:
    return [v.name for v in desks.saved_views_of(owner=owner)]


def test_save_normalises_the_query_through_the_dashboard_filter():
    """Unknown parameters and the pagination cursor are not stored; what is stored is what the filter applies."""
    editor = make_editor()
    view = desks.saved_view_create(
        owner=editor, name="  Critical   minerals — LatAm ", query="country=mx&before=123_4&evil=<x>&q=lithium"
    )
    assert view.name == "Critical minerals — LatAm"
    assert view.query == "country=MX&q=lithium"
    assert view.position == 0


def test_names_are_unique_per_owner_but_not_across_owners():
    alice, bob = make_editor(), make_editor()
    desks.saved_view_create(owner=alice, name="Mexico", query="country=MX")
    with pytest.raises(desks.DeskError, match="already have"):
        desks.saved_view_create(owner=alice, name="Mexico", query="country=ES")
    desks.saved_view_create(owner=bob, name="Mexico", query="country=MX")
    assert SavedView.objects.filter(name="Mexico").count() == 2


@pytest.mark.parametrize("name", ["", "   ", "x" * 121])
def test_bad_names_are_refused(name):
    with pytest.raises(desks.DeskError):
        desks.saved_view_create(owner=make_editor(), name=name, query="")


def test_the_number_of_views_is_capped(settings):
    settings.NEWSDESK_MAX_SAVED_VIEWS = 2
    editor = make_editor()
    desks.saved_view_create(owner=editor, name="a", query="")
    desks.saved_view_create(owner=editor, name="b", query="")
    with pytest.raises(desks.DeskError, match="at most 2"):
        desks.saved_view_create(owner=editor, name="c", query="")


def test_rename_and_its_conflicts():
    editor = make_editor()
    a = desks.saved_view_create(owner=editor, name="a", query="")
    desks.saved_view_create(owner=editor, name="b", query="")
    desks.saved_view_rename(owner=editor, pk=a.pk, name="Alpha")
    with pytest.raises(desks.DeskError):
        desks.saved_view_rename(owner=editor, pk=a.pk, name="b")
    assert names(editor) == ["Alpha", "b"]


def test_move_reorders_and_keeps_positions_dense():
    editor = make_editor()
    a, b, c = (desks.saved_view_create(owner=editor, name=n, query="") for n in "abc")
    desks.saved_view_move(owner=editor, pk=c.pk, offset=-1)
    assert names(editor) == ["a", "c", "b"]
    desks.saved_view_move(owner=editor, pk=a.pk, offset=+10)  # clamped to the end
    assert names(editor) == ["c", "b", "a"]
    desks.saved_view_delete(owner=editor, pk=b.pk)
    desks.saved_view_move(owner=editor, pk=a.pk, offset=-1)
    assert names(editor) == ["a", "c"]
    assert sorted(SavedView.objects.filter(owner=editor).values_list("position", flat=True)) == [0, 1]


def test_nobody_acts_on_another_editors_view():
    alice, mallory = make_editor(), make_editor()
    view = desks.saved_view_create(owner=alice, name="Alice's", query="")
    for action in (
        lambda: desks.saved_view_rename(owner=mallory, pk=view.pk, name="mine"),
        lambda: desks.saved_view_move(owner=mallory, pk=view.pk, offset=1),
        lambda: desks.saved_view_delete(owner=mallory, pk=view.pk),
        lambda: desks.saved_view_open(owner=mallory, pk=view.pk),
    ):
        with pytest.raises(SavedView.DoesNotExist):
            action()
    assert SavedView.objects.get(pk=view.pk).name == "Alice's"


def test_new_count_counts_matching_arrivals_since_last_opened():
    mx, es = make_source(country="MX"), make_source(name="El País", country="ES")
    make_article(mx, "before saving")
    editor = make_editor()
    view = desks.saved_view_create(owner=editor, name="Mexico", query="country=MX")
    assert desks.saved_view_new_count(view=view).label == "0"
    make_article(mx, "new one")
    make_article(mx, "new two", minutes_ago=60 * 24 * 30)  # fetched now, published long ago: still new
    make_article(es, "other country")
    assert desks.saved_view_new_count(view=view).label == "2"
    view = desks.saved_view_open(owner=editor, pk=view.pk)
    assert view.last_opened_at is not None
    assert desks.saved_view_new_count(view=view).label == "0"


def test_new_count_is_capped_with_a_plus(settings, django_assert_num_queries):
    settings.NEWSDESK_NEW_COUNT_CAP = 3
    mx = make_source(country="MX")
    view = desks.saved_view_create(owner=make_editor(), name="Mexico", query="country=MX")
    for i in range(3):
        make_article(mx, f"item {i}")
    assert desks.saved_view_new_count(view=view).label == "3"
    make_article(mx, "one too many")
    with django_assert_num_queries(1):
        count = desks.saved_view_new_count(view=view)
    assert (count.label, count.capped) == ("3+", True)


def test_the_count_query_stops_at_the_cap(settings):
    """The SQL carries a LIMIT: no exact count over a huge result set."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.NEWSDESK_NEW_COUNT_CAP = 99
    view = desks.saved_view_create(owner=make_editor(), name="All", query="")
    with CaptureQueriesContext(connection) as ctx:
        desks.saved_view_new_count(view=view)
    assert "LIMIT 100" in ctx.captured_queries[-1]["sql"].upper()


def test_counts_are_cached_briefly_and_opening_refreshes_them(settings, django_assert_num_queries):
    settings.NEWSDESK_NEW_COUNT_CACHE_SECONDS = 60
    mx = make_source(country="MX")
    editor = make_editor()
    view = desks.saved_view_create(owner=editor, name="Mexico", query="country=MX")
    make_article(mx, "first")
    assert desks.saved_view_new_count(view=view).label == "1"
    make_article(mx, "second")
    with django_assert_num_queries(0):
        assert desks.saved_view_new_count(view=view).label == "1"  # cached
    view = desks.saved_view_open(owner=editor, pk=view.pk)
    assert desks.saved_view_new_count(view=view).label == "0"  # a new key after opening
    make_article(mx, "third")
    view.query = desks.saved_view_query_normalize(query="country=MX&lang=es")
    view.save()
    assert desks.saved_view_new_count(view=view).label == "1"  # and after the query changed
