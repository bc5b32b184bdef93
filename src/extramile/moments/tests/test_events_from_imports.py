import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from extramile.ingest.csv_import import import_orders_csv
from extramile.ingest.shopify import receive_shopify_event
from extramile.moments.events import process_event
from extramile.moments.models import Event
from extramile.orders.models import Order
from tests.factories import ClientFactory, VariantFactory

INGEST = Path(__file__).resolve().parents[2] / "ingest"
SHOPIFY = INGEST / "tests" / "fixtures" / "shopify"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def shopify_settings(settings):
    settings.SHOPIFY_STORE_CODE = ""


def payload(name, key):
    return json.loads((SHOPIFY / name).read_text())[key]


def deliver(topic, body, key):
    return receive_shopify_event(topic=topic, payload=body, idempotency_key=key, file="test")


def events():
    return list(Event.objects.order_by("id").values_list("event_id", "type", "source"))


def test_shopify_orders_and_refunds_are_recorded_as_applied_events_once(store_a):
    # given
    order = payload("order.json", "order")

    # when
    deliver("orders/create", order, "d1")
    deliver("orders/create", order, "d2")  # a second delivery of the same order
    deliver("orders/cancelled", {**order, "cancelled_at": "2026-03-14T10:00:00-05:00"}, "d3")
    deliver("refunds/create", payload("refund.json", "refund"), "d4")

    # then
    assert events() == [
        ("shopify:orders/create:450789469", "order.placed", "shopify"),
        ("shopify:orders/cancelled:450789469", "order.cancelled", "shopify"),
        ("shopify:refunds/create:509562969", "order.refunded", "shopify"),
    ]
    placed = Event.objects.get(type="order.placed")
    assert (placed.store, placed.data["order"]["id"], placed.data["order"]["channel"]) == (
        store_a,
        "shopify-450789469",
        "online",
    )


def test_processing_a_shopify_event_runs_detectors_without_writing_the_order_again(store_a):
    # given
    deliver("orders/create", payload("order.json", "order"), "d1")
    Order.objects.update(note="changed in the store since")
    event = Event.objects.get()

    # when
    process_event(event)

    # then
    event.refresh_from_db()
    assert (event.processed_at is not None, event.error) == (True, "")
    assert Order.objects.get().note == "changed in the store since"


def test_a_new_shopify_product_arrives_once(store_a):
    # given
    product = payload("product.json", "product")

    # when
    deliver("products/create", product, "d1")
    deliver("products/create", {**product, "title": "Renamed"}, "d2")  # no longer new

    # then
    assert events() == [("shopify:products/create:632910392", "product.arrived", "shopify")]
    arrival = Event.objects.get()
    assert (arrival.occurred_at.isoformat(), arrival.data) == (
        "2011-10-20T18:05:13+00:00",
        {"product": {"id": "shopify-632910392"}, "arrived_on": "2007-12-31"},
    )


def test_the_csv_order_import_records_recent_changes_once_and_leaves_history_out(store_a, tmp_path):
    # given
    ClientFactory(store=store_a, external_ref="C1")
    VariantFactory(sku="SU-1", price=Decimal("500.00"))
    recent = (timezone.now() - dt.timedelta(hours=2)).isoformat()
    cancelled = (timezone.now() - dt.timedelta(minutes=30)).isoformat()
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_ref,store,client_id,channel,placed_at,cancelled_at,refunded_amount,sku,quantity\n"
        f"R-1,uptown,C1,online,{recent},,,SU-1,1\n"
        f"R-2,uptown,C1,online,{recent},{cancelled},500.00,SU-1,1\n"
        "R-3,uptown,C1,store,2025-09-12T14:05:00-04:00,,,SU-1,1\n",
        encoding="utf-8",
    )

    # when
    report = import_orders_csv(path, store=None, progress=False)
    first = events()
    import_orders_csv(path, store=None, progress=False)

    # then
    assert (report.created, report.errors) == ({"orders": 3, "order_lines": 3}, [])
    assert first == [
        ("import:order.placed:R-1", "order.placed", "import"),
        ("import:order.placed:R-2", "order.placed", "import"),
        ("import:order.cancelled:R-2", "order.cancelled", "import"),
        ("import:order.refunded:R-2:500.00", "order.refunded", "import"),
    ]
    assert events() == first
    placed = Event.objects.get(event_id="import:order.placed:R-1")
    assert placed.data == {
        "order": {
            "id": "R-1",
            "channel": "online",
            "placed_at": Order.objects.get(external_ref="R-1").placed_at.isoformat(),
            "currency": "USD",
            "total": "500.00",
            "client": {"id": "C1"},
            "lines": [
                {
                    "sku": "SU-1",
                    "title": Order.objects.get(external_ref="R-1").lines.get().title,
                    "quantity": 1,
                    "unit_price": "500.00",
                }
            ],
        }
    }
