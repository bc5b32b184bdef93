import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client as HttpClient

from extramile.orders.models import OrderChannel, OrderStatus
from tests.api_helpers import bearer, get, ids
from tests.factories import ClientFactory, OrderFactory, OrderLineFactory, VariantFactory

T0 = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_read_gives_the_order_with_its_lines(store_a, associate_a):
    # given
    order = OrderFactory(
        store=store_a,
        associate=associate_a,
        external_ref="R-1",
        channel=OrderChannel.ONLINE,
        status=OrderStatus.FULFILLED,
        total=Decimal("250.00"),
        placed_at=T0,
        fulfilled_at=T0 + dt.timedelta(hours=5),
    )
    variant = VariantFactory(sku="REC-1", product__title="Field recorder")
    line = OrderLineFactory(
        order=order, variant=variant, sku="REC-1", quantity=2, unit_price=Decimal("125.00")
    )
    # when
    response = get(associate_a, f"/api/v1/orders/{order.pk}")
    # then
    assert response.status_code == 200
    assert response.json() == {
        "id": order.pk,
        "external_ref": "R-1",
        "store": "uptown",
        "client_id": order.client_id,
        "associate": "ana",
        "channel": "online",
        "status": "fulfilled",
        "currency": "USD",
        "total": "250.00",
        "placed_at": "2025-03-01T09:30:00Z",
        "fulfilled_at": "2025-03-01T14:30:00Z",
        "cancelled_at": None,
        "cancel_reason": "",
        "refunded_at": None,
        "refunded_amount": "0.00",
        "lines": [
            {
                "id": line.pk,
                "product_id": variant.product_id,
                "variant_id": variant.pk,
                "sku": "REC-1",
                "title": "Field recorder",
                "quantity": 2,
                "unit_price": "125.00",
                "line_total": "250.00",
            }
        ],
    }


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["associate_a", "manager_a"])
def test_store_staff_neither_read_nor_list_another_stores_orders(request, who, store_a, store_b):
    # given
    user = request.getfixturevalue(who)
    ours = OrderFactory(store=store_a)
    theirs = OrderFactory(store=store_b)
    # when
    listed = get(user, "/api/v1/orders")
    by_their_client = get(user, "/api/v1/orders", client_id=theirs.client_id)
    read = get(user, f"/api/v1/orders/{theirs.pk}")
    # then
    assert ids(listed) == [ours.pk]
    assert ids(by_their_client) == []
    assert read.status_code == 404


@pytest.mark.django_db
def test_admin_lists_and_reads_orders_of_every_store(admin_user, store_a, store_b):
    # given
    ours = OrderFactory(store=store_a, placed_at=T0)
    theirs = OrderFactory(store=store_b, placed_at=T0 + dt.timedelta(days=1))
    # when
    listed = get(admin_user, "/api/v1/orders")
    read = get(admin_user, f"/api/v1/orders/{theirs.pk}")
    # then
    assert ids(listed) == [theirs.pk, ours.pk]
    assert read.status_code == 200
    assert read.json()["store"] == "harbour"


@pytest.mark.django_db
def test_list_filters_by_client_channel_status_and_placing_time(store_a, manager_a):
    # given
    client = ClientFactory(store=store_a)
    early = OrderFactory(store=store_a, client=client, placed_at=T0)
    online = OrderFactory(
        store=store_a, channel=OrderChannel.ONLINE, placed_at=T0 + dt.timedelta(days=1)
    )
    cancelled = OrderFactory(
        store=store_a, status=OrderStatus.CANCELLED, placed_at=T0 + dt.timedelta(days=2)
    )
    # when
    by_client = get(manager_a, "/api/v1/orders", client_id=client.pk)
    by_channel = get(manager_a, "/api/v1/orders", channel="online")
    by_status = get(manager_a, "/api/v1/orders", status="cancelled")
    window = get(
        manager_a,
        "/api/v1/orders",
        placed_since="2025-03-02T00:00:00Z",
        placed_until="2025-03-03T09:30:00+00:00",
    )
    by_day = get(manager_a, "/api/v1/orders", placed_until="2025-03-02")
    # then
    assert ids(by_client) == [early.pk]
    assert ids(by_channel) == [online.pk]
    assert ids(by_status) == [cancelled.pk]
    assert ids(window) == [online.pk]
    assert ids(by_day) == [early.pk]


@pytest.mark.django_db
def test_list_answers_422_naming_a_bad_filter(associate_a):
    # when
    response = get(associate_a, "/api/v1/orders", channel="carrier pigeon")
    # then
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["query", "channel"]]


@pytest.mark.django_db
def test_a_page_of_20_orders_takes_a_fixed_number_of_queries(
    store_a, associate_a, django_assert_max_num_queries
):
    # given
    for _ in range(20):
        order = OrderFactory(store=store_a, associate=associate_a)
        OrderLineFactory.create_batch(3, order=order)
    headers = bearer(associate_a)
    http = HttpClient()
    # when
    # token look-up 1 (+1 last-use stamp), count 1, page 1, lines 1
    with django_assert_max_num_queries(5):
        response = http.get("/api/v1/orders", {"page_size": 20}, **headers)
    # then
    assert response.status_code == 200
    assert [len(item["lines"]) for item in response.json()["items"]] == [3] * 20
