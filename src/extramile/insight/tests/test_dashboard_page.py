"""The dashboard page as a person reads it: cases the numbers alone do not show."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from extramile.moments.attribution import attribute_orders
from tests.factories import ActionFactory, ClientFactory, OrderFactory

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def birthday_actions(store, associate, *, contacted: int, held_out: int, buyers: int) -> None:
    """Birthday actions due 30 days ago; the first `buyers` contacted bought, nobody else."""
    due = timezone.now() - 30 * DAY
    for n in range(contacted + held_out):
        held = n >= contacted
        client = ClientFactory(store=store)
        ActionFactory(
            store=store,
            client=client,
            associate=associate,
            kind="important_date",
            state="held_out" if held else "done",
            completed_at=None if held else due,
            due_at=due,
            holdout_draw=0.05 if held else 0.5,
        )
        if n < buyers:
            OrderFactory(store=store, client=client, placed_at=due + 2 * DAY, total=Decimal("80"))
    attribute_orders(now=timezone.now())


def test_a_held_out_group_without_buyers_shows_a_dash_for_the_relative_lift(
    web_as, manager_a, associate_a
):
    # given: contacted clients bought, held-out ones did not, so no ratio of rates exists
    birthday_actions(manager_a.store, associate_a, contacted=20, held_out=10, buyers=5)
    # when
    response = web_as(manager_a).get("/insights/")
    # then: the page is shown, the relative cell is a dash, the difference is still there
    assert response.status_code == 200
    row = next(r for r in response.context["insight"].lift if r.kind == "important_date")
    assert row.lift is not None
    assert row.lift.relative is None
    page = response.content.decode()
    cells = page.split('<tr data-kind="important_date">', 1)[1].split("</tr>", 1)[0]
    assert "5 / 20 (25.0%)" in cells
    assert "0 / 10 (0.0%)" in cells
    assert "<td>—</td>" in cells


def test_the_lift_chart_label_shows_the_difference_and_leaves_the_interval_to_the_title(
    web_as, manager_a, associate_a
):
    # given
    birthday_actions(manager_a.store, associate_a, contacted=20, held_out=10, buyers=5)
    # when
    page = web_as(manager_a).get("/insights/").content.decode()
    # then: the visible label is short enough to fit beside the bar, never cut in the middle
    assert 'class="label">Important date · +25.0 pts</text>' in page
    assert "<title>Important date: +25.0 pts (95% CI" in page
    assert "…</text>" not in page
