"""The author's preview of an assessment: its settings and its items with the key, a page
at a time."""

from __future__ import annotations

import re

from lms.assessments.items import item_type
from lms.core.markdown import render
from tests.assessments.support import CHECK, EXAM, bank_items, plain
from tests.factories import login, make_organisation, make_user

CARD = re.compile(r'<article class="card review')


def test_the_preview_shows_settings_and_items_with_the_key(client):
    login(client, make_user(role="author"))
    page = client.get(f"/assessments/{EXAM}").get_data(as_text=True)
    text = plain(page)
    for setting in ("Questions per attempt 20, drawn at random: 5 of 10, 5 of 10, 5 of 10, "
                    "5 of 10", "Pass mark 70%", "Time limit 30 minutes", "Attempts 3",
                    "Cooldown after a failed attempt 24 hours",
                    "Order questions shuffled; options shuffled",
                    "the key once the person has passed",
                    "Counts toward Kestrel Certified Technical Associate"):
        assert setting in text, setting
    assert "40 items in this version · page 1 of 4" in text
    assert len(CARD.findall(page)) == 10
    first = bank_items(EXAM)[0]
    review = item_type(first.item_type).review(first.definition, None)
    assert plain(render(first.definition["prompt"])) in text
    assert "is-correct" in page or review.get("correct_answer")
    assert plain(render(first.definition["explanation"])) in text
    assert f"{first.bank_slug}/{first.item_key}" in text


def test_the_preview_pages_through_the_bank_in_sql(client, count_queries):
    login(client, make_user(role="vendor_admin"))
    items = bank_items(EXAM)
    last = client.get(f"/assessments/{EXAM}?page=4").get_data(as_text=True)
    assert len(CARD.findall(last)) == 10 and "page 4 of 4" in plain(last)
    assert f"{items[-1].bank_slug}/{items[-1].item_key}" in plain(last)
    assert f"{items[0].bank_slug}/{items[0].item_key}" not in plain(last)
    assert 'rel="prev"' in last and 'rel="next"' not in last
    beyond = client.get(f"/assessments/{EXAM}?page=99").get_data(as_text=True)
    assert "page 4 of 4" in plain(beyond)

    def queries(slug):
        with count_queries() as counter:
            assert client.get(f"/assessments/{slug}").status_code == 200
        return counter.count

    # 15 items or 40, the same statements (but one: a fixed list's header counts its items,
    # a draw knows its count).
    assert queries(CHECK) == queries(EXAM) + 1
    assert queries(EXAM) == queries(f"{EXAM}?page=3")


def test_a_channel_manager_sees_the_settings_but_not_the_key(client):
    login(client, make_user(role="channel_manager"))
    page = client.get(f"/assessments/{EXAM}").get_data(as_text=True)
    assert "Pass mark 70%" in plain(page)
    assert not CARD.search(page) and "is-correct" not in page


def test_learners_never_get_the_preview(client):
    login(client, make_user(make_organisation(), job_role="technical"))
    page = client.get(f"/assessments/{EXAM}").get_data(as_text=True)
    assert not CARD.search(page) and "Items, as learners see them" not in page
    assert "Questions per attempt" not in page
