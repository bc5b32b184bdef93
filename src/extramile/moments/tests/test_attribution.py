import datetime as dt

import pytest

from extramile.moments.attribution import AttributionReport, attribute_orders
from extramile.moments.governance import rules_for
from extramile.moments.models import Attribution, AttributionCheck
from extramile.orders.models import OrderStatus
from tests.factories import ActionFactory, ClientFactory, OrderFactory

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

pytestmark = pytest.mark.django_db


def done_action(client, *, at, **fields):
    return ActionFactory(
        store=client.store, client=client, state="done", completed_at=at, due_at=at, **fields
    )


def test_an_order_within_the_window_after_a_contact_is_linked_to_it(store_a):
    # given
    client = ClientFactory(store=store_a)
    action = done_action(client, at=NOW - 10 * DAY, kind="important_date")
    order = OrderFactory(store=store_a, client=client, placed_at=NOW - 5 * DAY)
    # when
    linked = attribute_orders(now=NOW).linked
    # then
    assert linked == 1
    attribution = Attribution.objects.get()
    assert (
        attribution.action,
        attribution.order,
        attribution.client,
        attribution.kind,
        attribution.held_out,
        attribution.window_days,
        attribution.attributed_at,
    ) == (action, order, client, "important_date", False, 14, NOW)


def test_orders_before_the_contact_or_past_the_window_are_not_linked(store_a):
    # given
    client = ClientFactory(store=store_a)
    done_action(client, at=NOW - 20 * DAY)
    OrderFactory(store=store_a, client=client, placed_at=NOW - 21 * DAY)
    OrderFactory(store=store_a, client=client, placed_at=NOW - 20 * DAY)
    OrderFactory(store=store_a, client=client, placed_at=NOW - 20 * DAY + 15 * DAY)
    # when
    linked = attribute_orders(now=NOW).linked
    # then
    assert linked == 0
    assert Attribution.objects.count() == 0


def test_the_last_day_of_the_window_still_counts(store_a):
    # given
    client = ClientFactory(store=store_a)
    done_action(client, at=NOW - 14 * DAY)
    order = OrderFactory(store=store_a, client=client, placed_at=NOW)
    # when
    attribute_orders(now=NOW)
    # then
    assert list(Attribution.objects.values_list("order", flat=True)) == [order.pk]


def test_a_held_out_client_is_measured_from_when_the_action_would_have_been_due(store_a):
    # given
    client = ClientFactory(store=store_a)
    held = ActionFactory(store=store_a, client=client, state="held_out", due_at=NOW - 4 * DAY)
    OrderFactory(store=store_a, client=client, placed_at=NOW - 5 * DAY)
    order = OrderFactory(store=store_a, client=client, placed_at=NOW - 1 * DAY)
    # when
    linked = attribute_orders(now=NOW).linked
    # then
    assert linked == 1
    attribution = Attribution.objects.get()
    assert (attribution.action, attribution.order, attribution.held_out) == (held, order, True)


def test_an_order_goes_to_the_latest_contact_before_it(store_a):
    # given
    client = ClientFactory(store=store_a)
    done_action(client, at=NOW - 10 * DAY)
    later = done_action(client, at=NOW - 3 * DAY)
    done_action(client, at=NOW - 1 * DAY)
    order = OrderFactory(store=store_a, client=client, placed_at=NOW - 2 * DAY)
    # when
    attribute_orders(now=NOW)
    # then
    assert list(Attribution.objects.values_list("action", "order")) == [(later.pk, order.pk)]


def test_cancelled_refunded_and_future_orders_are_not_purchases(store_a):
    # given
    client = ClientFactory(store=store_a)
    done_action(client, at=NOW - 5 * DAY)
    for status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        OrderFactory(store=store_a, client=client, placed_at=NOW - 2 * DAY, status=status)
    ahead = OrderFactory(store=store_a, client=client, placed_at=NOW + dt.timedelta(hours=1))
    fulfilled = OrderFactory(
        store=store_a, client=client, placed_at=NOW - DAY, status=OrderStatus.FULFILLED
    )
    # when
    attribute_orders(now=NOW)
    # then
    assert list(Attribution.objects.values_list("order", flat=True)) == [fulfilled.pk]
    # and the order placed after the sweep's time waits for a later sweep
    assert attribute_orders(now=NOW + DAY) == AttributionReport(checked=1, linked=1)
    assert Attribution.objects.filter(order=ahead).exists()


def test_actions_never_made_and_other_clients_orders_link_nothing(store_a):
    # given
    client = ClientFactory(store=store_a)
    for state in ("open", "skipped", "suppressed", "expired", "snoozed"):
        ActionFactory(store=store_a, client=client, state=state, due_at=NOW - 5 * DAY)
    OrderFactory(store=store_a, client=client, placed_at=NOW - 2 * DAY)
    stranger = ClientFactory(store=store_a)
    done_action(ClientFactory(store=store_a), at=NOW - 5 * DAY)
    OrderFactory(store=store_a, client=stranger, placed_at=NOW - 2 * DAY)
    # when
    linked = attribute_orders(now=NOW).linked
    # then
    assert linked == 0
    assert Attribution.objects.count() == 0


def test_the_window_is_the_stores_own(store_a):
    # given
    rules = rules_for(store_a)
    rules.attribution_days = 3
    rules.save()
    client = ClientFactory(store=store_a)
    done_action(client, at=NOW - 6 * DAY)
    OrderFactory(store=store_a, client=client, placed_at=NOW - 2 * DAY)
    inside = OrderFactory(store=store_a, client=client, placed_at=NOW - 4 * DAY)
    # when
    attribute_orders(now=NOW)
    # then
    assert list(Attribution.objects.values_list("order", "window_days")) == [(inside.pk, 3)]


def test_a_second_run_links_nothing_more(store_a):
    # given
    client = ClientFactory(store=store_a)
    done_action(client, at=NOW - 6 * DAY)
    OrderFactory(store=store_a, client=client, placed_at=NOW - 2 * DAY)
    attribute_orders(now=NOW)
    # when
    again = attribute_orders(now=NOW + DAY)
    # then
    assert again == AttributionReport(checked=0, linked=0)
    assert Attribution.objects.count() == 1


def test_with_no_contacts_there_is_nothing_to_link(store_a):
    OrderFactory(store=store_a, placed_at=NOW - DAY)
    assert attribute_orders(now=NOW) == AttributionReport(checked=0, linked=0)


def test_a_second_sweep_reads_no_order_twice_and_does_no_work(store_a, django_assert_num_queries):
    # given a long history of orders and contacts, all swept once
    clients = [ClientFactory(store=store_a) for _ in range(5)]
    for client in clients:
        done_action(client, at=NOW - 30 * DAY)
        done_action(client, at=NOW - 6 * DAY)
        for days in (29, 20, 5, 2):
            OrderFactory(store=store_a, client=client, placed_at=NOW - days * DAY)
    first = attribute_orders(now=NOW)
    checks = AttributionCheck.objects.count()
    # when the sweep runs again with nothing new
    with django_assert_num_queries(3):  # the first contact (two minima), then no new order
        again = attribute_orders(now=NOW + dt.timedelta(minutes=5))
    # then it looks at no order and creates nothing
    assert first == AttributionReport(checked=20, linked=20)
    assert again == AttributionReport(checked=0, linked=0)
    assert AttributionCheck.objects.count() == checks == 20
    assert Attribution.objects.count() == 20


def test_the_next_sweep_looks_only_at_the_orders_that_came_in_since(store_a):
    # given a swept history, then one new order by a contacted client
    client = ClientFactory(store=store_a)
    action = done_action(client, at=NOW - 3 * DAY)
    for days in (10, 2):
        OrderFactory(store=store_a, client=client, placed_at=NOW - days * DAY)
    attribute_orders(now=NOW)
    new = OrderFactory(store=store_a, client=client, placed_at=NOW + 2 * DAY)
    # when
    report = attribute_orders(now=NOW + 2 * DAY)
    # then
    assert report == AttributionReport(checked=1, linked=1)
    assert Attribution.objects.get(order=new).action == action
    assert Attribution.objects.count() == 2


def test_orders_linked_before_are_not_linked_again(store_a):
    # given an order linked by an earlier sweep, and its mark lost
    client = ClientFactory(store=store_a)
    done_action(client, at=NOW - 3 * DAY)
    OrderFactory(store=store_a, client=client, placed_at=NOW - DAY)
    attribute_orders(now=NOW)
    AttributionCheck.objects.all().delete()
    # when
    attribute_orders(now=NOW)
    # then the unique link keeps one
    assert Attribution.objects.count() == 1
