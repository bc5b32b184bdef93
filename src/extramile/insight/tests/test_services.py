import datetime as dt
from decimal import Decimal

import pytest

from extramile.insight.services import (
    Period,
    build_insight,
    cohorts_table,
    default_period,
    first_contact,
    promises_kept,
    store_zone,
)
from extramile.moments.attribution import attribute_orders
from extramile.moments.models import ActionKey
from extramile.orders.models import OrderStatus
from extramile.outreach.audit import record_audit
from tests.factories import ActionFactory, ClientFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 20, 16, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def period(store) -> Period:
    return Period(dt.date(2026, 1, 1), dt.date(2026, 3, 20), store_zone(store))


def test_the_default_period_is_the_last_90_days_in_the_stores_zone(store_a):
    # when: 16:00 UTC is 12:00 in New York
    found = default_period(store_a, now=NOW)
    # then
    assert (found.first_day, found.last_day) == (dt.date(2025, 12, 21), dt.date(2026, 3, 20))
    assert found.since == dt.datetime(2025, 12, 21, 5, 0, tzinfo=dt.UTC)
    assert found.until == dt.datetime(2026, 3, 21, 4, 0, tzinfo=dt.UTC)


def test_done_skipped_held_out_and_responses_are_counted_by_kind_and_associate(store_a):
    # given: Ana made three contacts — one bought after, one call reached, one nothing
    ana = UserFactory(store=store_a, first_name="Ana", last_name="Reyes")
    bought, called, silent, late = (ClientFactory(store=store_a) for _ in range(4))

    def done(client, *, kind="important_date", at=NOW - 30 * DAY, **fields):
        return ActionFactory(
            store=store_a,
            client=client,
            associate=ana,
            kind=kind,
            state="done",
            completed_at=at,
            due_at=at,
            **fields,
        )

    done(bought)
    OrderFactory(store=store_a, client=bought, placed_at=NOW - 25 * DAY, total=Decimal("240.00"))
    call = done(called, kind="at_risk", channel="phone")
    record_audit("called", client=called, actor=ana, action=call, detail={"reached": True})
    done(silent)
    # a purchase past the 14-day window is no response
    done(late)
    OrderFactory(store=store_a, client=late, placed_at=NOW - 10 * DAY)
    ActionFactory(store=store_a, associate=ana, state="skipped", completed_at=NOW - 3 * DAY)
    ActionFactory(store=store_a, associate=ana, state="held_out", due_at=NOW - 5 * DAY)
    # and what happened before the period, or in another store, is not counted
    done(silent, at=dt.datetime(2025, 12, 1, tzinfo=dt.UTC))
    ActionFactory(state="done", completed_at=NOW - DAY)
    attribute_orders(now=NOW)
    # when
    insight = build_insight(store_a, period=period(store_a), now=NOW)
    # then
    rows = {row.kind: row for row in insight.kinds}
    assert rows["important_date"].done == 3
    assert rows["important_date"].responded == 1
    assert rows["important_date"].purchases == 1
    assert rows["important_date"].revenue == Decimal("240.00")
    assert (rows["at_risk"].done, rows["at_risk"].responded) == (1, 1)
    assert (rows["new_arrival_match"].skipped, rows["new_arrival_match"].held_out) == (1, 1)
    assert insight.totals.response_rate == pytest.approx(2 / 4)
    [row] = insight.associates
    assert (row.name, row.done, row.skipped, row.responded, row.purchases) == (
        "Ana Reyes",
        4,
        1,
        2,
        1,
    )


def test_minutes_from_an_online_order_to_the_first_contact_about_it(store_a):
    # given: three online orders; two check-ins done after 8 and 30 minutes, one never
    placed = NOW - 10 * DAY
    minutes = []
    for after in (8, 30, None):
        client = ClientFactory(store=store_a)
        order = OrderFactory(store=store_a, client=client, channel="online", placed_at=placed)
        if after is None:
            continue
        action = ActionFactory(
            store=store_a,
            client=client,
            kind="order_check_in",
            purpose="service",
            state="done",
            completed_at=placed + dt.timedelta(minutes=after),
        )
        ActionKey.objects.create(key=f"order_check_in:{order.pk}", action=action)
        minutes.append(after)
    # and an in-store order, and a contact about something else, do not count
    other = ClientFactory(store=store_a)
    OrderFactory(store=store_a, client=other, channel="store", placed_at=placed)
    OrderFactory(store=store_a, client=other, channel="online", placed_at=placed)
    ActionFactory(store=store_a, client=other, state="done", completed_at=placed + DAY)
    # when
    found = first_contact(store_a, period=period(store_a), associate=None)
    # then
    assert (found.orders, found.contacted) == (4, 2)
    assert found.median_minutes == pytest.approx(19.0)
    assert found.p90_minutes == pytest.approx(8 + 0.9 * 22)


def test_cohorts_count_who_bought_again_month_by_month(store_a):
    # given: two clients first bought in October 2025; one came back in November and January
    zone = store_zone(store_a)

    def on(day: dt.date, **fields):
        return dt.datetime.combine(day, dt.time(12), tzinfo=zone)

    loyal, once = ClientFactory(store=store_a), ClientFactory(store=store_a)
    OrderFactory(store=store_a, client=loyal, placed_at=on(dt.date(2025, 10, 3)))
    OrderFactory(store=store_a, client=loyal, placed_at=on(dt.date(2025, 11, 20)))
    OrderFactory(store=store_a, client=loyal, placed_at=on(dt.date(2026, 1, 2)))
    OrderFactory(store=store_a, client=once, placed_at=on(dt.date(2025, 10, 30)))
    # a cancelled order is no purchase
    OrderFactory(
        store=store_a,
        client=once,
        placed_at=on(dt.date(2025, 11, 2)),
        status=OrderStatus.CANCELLED,
    )
    # and a client who first bought this month
    OrderFactory(store=store_a, client=ClientFactory(store=store_a), placed_at=NOW - DAY)
    # when
    rows = cohorts_table(store_a, period=period(store_a), associate=None, now=NOW)
    # then
    october, march = rows
    assert (october.month, october.clients, october.repeat) == (dt.date(2025, 10, 1), 2, 1)
    # months 1..6 after October: November to April; March and April have not ended
    assert october.returned == [1, 0, 1, 0, None, None]
    assert october.shares[:3] == [0.5, 0.0, 0.5]
    assert (march.month, march.clients, march.returned) == (dt.date(2026, 3, 1), 1, [None] * 6)


def test_promises_due_in_the_period_are_counted_by_how_they_ended(store_a, associate_a):
    # given: Ana kept two early and one late, broke one, and one is still open
    from django.apps import apps

    promise = apps.get_model("care", "Promise")
    client = ClientFactory(store=store_a)
    outcomes = ["kept_early", "kept_early", "kept_late", "broken", ""]
    for n, outcome in enumerate(outcomes):
        promise.objects.create(
            store=store_a,
            client=client,
            text=f"Call back about the hem ({n})",
            due_at=NOW - (n + 1) * DAY,
            made_by=associate_a,
            outcome=outcome,
        )
    # and one due before the period, and one of a colleague
    promise.objects.create(
        store=store_a, client=client, text="Old", due_at=NOW - 200 * DAY, made_by=associate_a
    )
    promise.objects.create(
        store=store_a,
        client=client,
        text="Theirs",
        due_at=NOW - DAY,
        made_by=UserFactory(store=store_a),
        outcome="broken",
    )
    # when
    mine = promises_kept(store_a, period=period(store_a), associate=associate_a)
    everyone = promises_kept(store_a, period=period(store_a), associate=None)
    # then
    assert mine is not None
    assert everyone is not None
    assert [(row.label, row.count) for row in mine] == [
        ("Kept early", 2),
        ("Kept on time", 0),
        ("Kept late", 1),
        ("Broken", 1),
        ("Not yet due or open", 1),
    ]
    assert [row.count for row in everyone] == [2, 0, 1, 2, 1]
