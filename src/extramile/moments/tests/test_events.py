import datetime as dt
from decimal import Decimal

import pytest

from extramile.accounts.models import User
from extramile.care.models import Problem, ProblemStatus
from extramile.catalog.models import Product, Stock, Variant
from extramile.clients.models import Client, Tag
from extramile.clients.services import current_consents, record_consent
from extramile.moments import events as events_module
from extramile.moments.event_apply import EventApplyError
from extramile.moments.event_schema import InvalidEvent
from extramile.moments.events import (
    parse_event,
    parse_event_batch,
    process_event,
    record_event,
    store_event,
)
from extramile.moments.models import Event
from extramile.moments.proposals import ProposalResult
from extramile.orders.models import Order, OrderStatus, Refund
from tests.factories import (
    ClientFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    RefundFactory,
    StockFactory,
    UserFactory,
    VariantFactory,
)

NOW = dt.datetime(2026, 3, 14, 20, 0, tzinfo=dt.UTC)
AT = "2026-03-14T15:20:00-05:00"
AT_UTC = dt.datetime(2026, 3, 14, 20, 20, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


def problems_of(raw, **kwargs):
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw, **kwargs)
    return [str(problem) for problem in caught.value.problems]


def stored(type_, data, *, store=None, event_id="evt-1", source="api", occurred_at=AT_UTC):
    event, created = store_event(
        event_id=event_id,
        type=type_,
        occurred_at=occurred_at,
        data=data,
        source=source,
        store=store,
    )
    assert created
    return event


def applied(type_, data, **kwargs):
    event = stored(type_, data, **kwargs)
    process_event(event, now=NOW)
    event.refresh_from_db()
    assert (event.processed_at, event.error) == (NOW, "")
    return event


# --- The format -----------------------------------------------------------------------------


def test_a_well_formed_event_is_read_with_its_aware_time_and_store(store_a):
    # when
    event = parse_event(
        {
            "id": "pos-1:placed",
            "type": "order.fulfilled",
            "occurred_at": AT,
            "store": "uptown",
            "data": {"order": {"id": "4411"}},
        }
    )

    # then
    assert (event.event_id, event.type, event.occurred_at, event.store, event.data) == (
        "pos-1:placed",
        "order.fulfilled",
        AT_UTC,
        store_a,
        {"order": {"id": "4411"}},
    )


def test_a_time_without_offset_is_refused_with_the_field_and_why(store_a):
    # when
    found = problems_of(
        {
            "id": "e1",
            "type": "order.fulfilled",
            "occurred_at": "2026-03-14T15:20:00",
            "store": "uptown",
            "data": {"order": {"id": "4411"}},
        },
        where="line 3",
    )

    # then
    assert found == [
        'line 3: occurred_at: "2026-03-14T15:20:00" is not a date and time with an offset, such '
        "as 2026-03-14T15:20:00-05:00 (a time without its offset is refused: say which time "
        "zone it is in)"
    ]


def test_every_problem_of_an_event_is_named_by_its_path(store_a):
    # when
    found = problems_of(
        {
            "id": "e1",
            "type": "order.placed",
            "occurred_at": AT,
            "store": "downtown",
            "colour": "red",
            "data": {
                "order": {
                    "id": "W-1",
                    "channel": "web",
                    "total": "12.345",
                    "client": {},
                    "lines": [{"sku": "SU-1", "quantity": 0}, {"quantity": 1}],
                }
            },
        }
    )

    # then
    assert found == [
        "colour: is not a field here (known: data, id, occurred_at, store, type)",
        'data.order.channel: "web" is not one of: store, online, phone',
        "data.order.client: needs the client's id, email or phone",
        "data.order.lines.0.quantity: 0 is less than the minimum of 1",
        "data.order.lines.1: needs the sku of the variant sold (or, for an item not in the "
        "catalog, its title)",
        'data.order.total: "12.345" is not an amount: write it like 129.90 (not negative, at '
        "most two decimals)",
        "store: unknown store 'downtown' (stores: uptown)",
    ]


def test_types_that_belong_to_a_store_require_one():
    # when
    found = problems_of(
        {
            "id": "e1",
            "type": "problem.reported",
            "occurred_at": AT,
            "data": {"problem": {"kind": "lost", "client": {"id": "C-1"}}},
        }
    )

    # then
    assert found == [
        "store: is required: this type of event belongs to a store",
        'data.problem.kind: "lost" is not one of: left_behind, defect, late_delivery, other',
    ]


def test_missing_fields_and_bad_contact_points_are_named(store_a):
    # when
    found = problems_of(
        {
            "type": "client.upserted",
            "occurred_at": AT,
            "store": "uptown",
            "data": {"client": {"first_name": "Ann", "phone": "abc", "birthday": "1985-02-30"}},
        }
    )

    # then
    assert found == [
        "id: is required",
        'data.client.birthday: "1985-02-30" is not a date: write YYYY-MM-DD, or --MM-DD when '
        "the year is unknown",
        'data.client.phone: "abc" is not a phone number',
    ]


def test_a_batch_names_each_bad_event_by_its_index_and_keeps_none():
    # given
    good = {
        "id": "a",
        "type": "product.arrived",
        "occurred_at": AT,
        "data": {"product": {"id": "P1"}},
    }
    bad = {**good, "id": "b", "data": {"product": {}}}

    # when
    with pytest.raises(InvalidEvent) as caught:
        parse_event_batch({"events": [good, bad, "x"]})

    # then
    assert [(p.where, p.path, p.message) for p in caught.value.problems] == [
        ("event 1", ("events", 1, "data", "product", "id"), "is required"),
        ("event 2", ("events", 2), "is a str, not a JSON object"),
    ]


def test_a_batch_may_be_an_array_or_one_event():
    # given
    event = {
        "id": "a",
        "type": "product.arrived",
        "occurred_at": AT,
        "data": {"product": {"id": "P"}},
    }

    # when
    as_array = parse_event_batch([event, {**event, "id": "b"}])
    single = parse_event_batch(event)

    # then
    assert [e.event_id for e in as_array] == ["a", "b"]
    assert [e.event_id for e in single] == ["a"]


# --- Recording once -------------------------------------------------------------------------


def test_a_replayed_event_is_stored_once_and_the_first_stands(store_a):
    # given
    first, created = record_event(
        event_id="evt-1",
        type="order.fulfilled",
        occurred_at=AT_UTC,
        data={"order": {"id": "4411"}},
        source="api",
        store=store_a,
    )

    # when
    again, created_again = record_event(
        event_id="evt-1",
        type="order.cancelled",
        occurred_at=NOW,
        data={"order": {"id": "9999"}},
        source="file",
        store=store_a,
    )

    # then
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert list(Event.objects.values_list("event_id", "type", "source", "data")) == [
        ("evt-1", "order.fulfilled", "api", {"order": {"id": "4411"}})
    ]


def test_recording_refuses_a_naive_time(store_a):
    # when
    with pytest.raises(InvalidEvent) as caught:
        record_event(
            event_id="evt-1",
            type="order.fulfilled",
            occurred_at=dt.datetime(2026, 3, 14, 15, 20),  # noqa: DTZ001 - the point of the test
            data={"order": {"id": "4411"}},
            source="api",
            store=store_a,
        )

    # then
    assert [p.field for p in caught.value.problems] == ["occurred_at"]
    assert Event.objects.count() == 0


def test_recording_processes_the_event_once_the_transaction_commits(
    store_a, django_capture_on_commit_callbacks
):
    # given
    ProductFactory(external_ref="P1", arrived_on=None)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        event, _ = record_event(
            event_id="evt-1",
            type="product.arrived",
            occurred_at=AT_UTC,
            data={"product": {"id": "P1"}, "arrived_on": "2026-03-13"},
            source="api",
        )

    # then
    event.refresh_from_db()
    assert event.processed_at is not None
    assert Product.objects.get(external_ref="P1").arrived_on == dt.date(2026, 3, 13)


# --- Processing -----------------------------------------------------------------------------


def test_processing_twice_changes_nothing_the_second_time(store_a):
    # given
    product = ProductFactory(external_ref="P1", arrived_on=None)
    event = stored("product.arrived", {"product": {"id": "P1"}, "arrived_on": "2026-03-13"})
    first = process_event(event, now=NOW)
    Product.objects.filter(pk=product.pk).update(arrived_on=dt.date(2025, 1, 1))

    # when
    second = process_event(Event.objects.get(pk=event.pk), now=NOW + dt.timedelta(hours=1))

    # then
    assert isinstance(first, ProposalResult)
    assert second is None
    assert Event.objects.get(pk=event.pk).processed_at == NOW
    assert Product.objects.get(pk=product.pk).arrived_on == dt.date(2025, 1, 1)


def test_an_event_that_cannot_be_applied_keeps_its_error_writes_nothing_and_raises(store_a):
    # given
    client = ClientFactory(store=store_a, external_ref="C-1")
    VariantFactory(sku="SU-1")
    event = stored(
        "order.placed",
        {
            "order": {
                "id": "W-1",
                "client": {"id": "C-1"},
                "channel": "online",
                "lines": [{"sku": "SU-1", "quantity": 1}, {"sku": "NOPE", "quantity": 1}],
            }
        },
        store=store_a,
    )

    # when
    with pytest.raises(EventApplyError) as caught:
        process_event(event, now=NOW)

    # then
    assert str(caught.value) == (
        "data.order.lines.1.sku: unknown sku 'NOPE' (send product.upserted first)"
    )
    event.refresh_from_db()
    assert (event.processed_at, event.error) == (None, str(caught.value))
    assert Order.objects.filter(client=client).count() == 0


def test_a_failing_detector_undoes_the_apply_and_leaves_the_event_pending(store_a, monkeypatch):
    # given
    ProductFactory(external_ref="P1", arrived_on=None)
    event = stored("product.arrived", {"product": {"id": "P1"}, "arrived_on": "2026-03-13"})

    def broken(event, *, now):
        raise RuntimeError("detector crashed")

    monkeypatch.setattr(events_module, "run_event_detectors", broken)

    # when
    with pytest.raises(RuntimeError):
        process_event(event, now=NOW)

    # then
    event.refresh_from_db()
    assert (event.processed_at, event.error) == (None, "RuntimeError: detector crashed")
    assert Product.objects.get(external_ref="P1").arrived_on is None


def test_events_from_extramiles_own_importers_are_not_applied_again(store_a):
    # given: the Shopify importer already wrote the order this event describes
    event = stored(
        "order.placed",
        {"order": {"id": "W-9", "channel": "online", "lines": [{"sku": "X", "quantity": 1}]}},
        store=store_a,
        source="shopify",
    )

    # when
    process_event(event, now=NOW)

    # then
    event.refresh_from_db()
    assert (event.processed_at, event.error) == (NOW, "")
    assert Order.objects.count() == 0


# --- Applying each type ---------------------------------------------------------------------


def test_client_upserted_creates_a_client_with_their_details(store_a, associate_a):
    # when
    applied(
        "client.upserted",
        {
            "client": {
                "id": "C-1042",
                "first_name": "Maya",
                "last_name": "Okafor",
                "email": "Maya@Example.com",
                "phone": "(212) 555-0143",
                "language": "fr",
                "associate": "ana",
                "tags": ["vip", "VIP", "wedding 2027"],
                "consents": {"email": True, "sms": False},
                "sizes": {"Women/Dresses": "6"},
                "birthday": "--04-12",
                "preferences": [{"dimension": "brand", "value": "Wren & Willow"}],
            }
        },
        store=store_a,
    )

    # then
    client = Client.objects.get()
    assert (
        client.store,
        client.external_ref,
        client.full_name,
        client.email,
        client.phone,
        client.language,
        client.time_zone,
        client.primary_associate,
    ) == (
        store_a,
        "C-1042",
        "Maya Okafor",
        "maya@example.com",
        "+12125550143",
        "fr",
        "America/New_York",
        associate_a,
    )
    assert sorted(client.tags.values_list("name", flat=True)) == ["vip", "wedding 2027"]
    consents = current_consents(client)
    assert {channel: c.granted for channel, c in consents.items()} == {
        "email": True,
        "sms": False,
    }
    assert consents["email"].recorded_at == AT_UTC
    assert list(client.sizes.values_list("category", "size")) == [("Women/Dresses", "6")]
    assert list(client.important_dates.values_list("kind", "month", "day", "year")) == [
        ("birthday", 4, 12, None)
    ]
    assert list(client.preferences.values_list("dimension", "value", "likes")) == [
        ("brand", "Wren & Willow", True)
    ]


def test_client_upserted_matches_by_email_adopts_the_id_and_keeps_what_it_leaves_out(store_a):
    # given
    client = ClientFactory(
        store=store_a, first_name="Maya", last_name="Okafor", email="maya@example.com", phone=""
    )
    client.tags.add(Tag.objects.create(name="regular"))
    record_consent(
        client, channel="email", granted=False, source="form", at=AT_UTC + dt.timedelta(hours=1)
    )

    # when: an older consent decision than the one on file
    applied(
        "client.upserted",
        {
            "client": {
                "id": "C-7",
                "email": "maya@example.com",
                "last_name": "Okafor-Reid",
                "tags": ["vip"],
                "consents": {"email": True},
            }
        },
        store=store_a,
    )

    # then
    assert Client.objects.count() == 1
    client.refresh_from_db()
    assert (client.external_ref, client.first_name, client.last_name) == (
        "C-7",
        "Maya",
        "Okafor-Reid",
    )
    assert sorted(client.tags.values_list("name", flat=True)) == ["regular", "vip"]
    assert current_consents(client)["email"].granted is False


def test_client_upserted_does_not_match_another_pos_record_by_email(store_a):
    # given
    ClientFactory(store=store_a, external_ref="C-1", email="shared@example.com")

    # when
    applied(
        "client.upserted",
        {"client": {"id": "C-2", "first_name": "Ben", "email": "shared@example.com"}},
        store=store_a,
    )

    # then
    assert sorted(Client.objects.values_list("external_ref", "first_name")) == [
        ("C-1", Client.objects.get(external_ref="C-1").first_name),
        ("C-2", "Ben"),
    ]


def test_client_upserted_refuses_an_associate_of_another_store(store_a, associate_b):
    # given
    event = stored(
        "client.upserted",
        {"client": {"id": "C-1", "first_name": "Ann", "associate": "ben"}},
        store=store_a,
    )

    # when
    with pytest.raises(EventApplyError) as caught:
        process_event(event, now=NOW)

    # then
    assert str(caught.value) == "data.client.associate: 'ben' works at harbour, not uptown"
    assert Client.objects.count() == 0


def test_product_upserted_creates_the_product_and_its_variants_then_updates_them():
    # given
    data = {
        "product": {
            "id": "SU-NAVY",
            "title": "Navy Wool Suit",
            "brand": "Ashby & Rowe",
            "category": "Men/Suits",
            "style_tags": ["classic", "wool"],
            "price": "595.00",
            "arrived_on": "2026-03-01",
            "variants": [
                {"sku": "SU-NAVY-40R", "size": "40R"},
                {"sku": "SU-NAVY-42R", "size": "42R", "price": 610},
            ],
        }
    }
    applied("product.upserted", data)

    # when
    data["product"]["price"] = 580
    data["product"]["variants"] = [{"sku": "SU-NAVY-40R", "size": "40 Regular"}]
    applied("product.upserted", data, event_id="evt-2")

    # then
    product = Product.objects.get()
    assert (
        product.external_ref,
        product.title,
        product.brand,
        product.style_tags,
        product.price,
        product.arrived_on,
    ) == (
        "SU-NAVY",
        "Navy Wool Suit",
        "Ashby & Rowe",
        ["classic", "wool"],
        Decimal("580.00"),
        dt.date(2026, 3, 1),
    )
    assert list(Variant.objects.order_by("sku").values_list("sku", "size", "price")) == [
        ("SU-NAVY-40R", "40 Regular", None),
        ("SU-NAVY-42R", "42R", Decimal("610.00")),
    ]


def test_product_upserted_refuses_a_sku_of_another_product():
    # given
    VariantFactory(sku="SHARED", product=ProductFactory(external_ref="OTHER"))
    event = stored(
        "product.upserted",
        {"product": {"id": "NEW", "title": "New", "variants": [{"sku": "SHARED"}]}},
    )

    # when
    with pytest.raises(EventApplyError) as caught:
        process_event(event, now=NOW)

    # then
    assert str(caught.value) == (
        "data.product.variants.0.sku: 'SHARED' belongs to product 'OTHER', not 'NEW'"
    )
    assert not Product.objects.filter(external_ref="NEW").exists()


def test_stock_upserted_sets_units_per_variant_in_the_store(store_a, store_b):
    # given
    suit = VariantFactory(sku="SU-1")
    shirt = VariantFactory(sku="SH-1")
    StockFactory(variant=suit, store=store_a, quantity=5)
    StockFactory(variant=suit, store=store_b, quantity=9)

    # when
    applied(
        "stock.upserted",
        {"stock": [{"sku": "SU-1", "quantity": 2}, {"sku": "SH-1", "quantity": 0}]},
        store=store_a,
    )

    # then
    assert sorted(Stock.objects.values_list("variant__sku", "store__code", "quantity")) == [
        ("SH-1", "uptown", 0),
        ("SU-1", "harbour", 9),
        ("SU-1", "uptown", 2),
    ]
    assert shirt.stock.count() == 1


def test_order_placed_creates_the_order_with_its_lines_and_again_changes_nothing(
    store_a, associate_a
):
    # given
    client = ClientFactory(store=store_a, external_ref="C-1")
    suit = VariantFactory(
        sku="SU-1",
        price=None,
        product=ProductFactory(title="Suit", price=Decimal("595.00"), cost=Decimal("200.00")),
    )
    VariantFactory(sku="TIE-1", price=Decimal("60.00"), product=ProductFactory(title="Tie"))
    data = {
        "order": {
            "id": "W-1",
            "client": {"id": "C-1"},
            "channel": "online",
            "associate": "ana",
            "note": "Gift wrap",
            "lines": [
                {"sku": "SU-1", "quantity": 1},
                {"sku": "TIE-1", "quantity": 2, "unit_price": "55.00"},
                {"title": "Alterations", "quantity": 1, "unit_price": "30"},
            ],
        }
    }
    applied("order.placed", data, store=store_a)

    # when
    applied("order.placed", data, store=store_a, event_id="evt-2")

    # then
    order = Order.objects.get()
    assert (
        order.external_ref,
        order.store,
        order.client,
        order.associate,
        order.channel,
        order.status,
        order.placed_at,
        order.total,
        order.currency,
        order.note,
    ) == (
        "W-1",
        store_a,
        client,
        associate_a,
        "online",
        "placed",
        AT_UTC,
        Decimal("735.00"),
        "USD",
        "Gift wrap",
    )
    assert list(
        order.lines.values_list("sku", "title", "quantity", "unit_price", "unit_cost", "variant")
    ) == [
        ("SU-1", "Suit", 1, Decimal("595.00"), Decimal("200.00"), suit.pk),
        (
            "TIE-1",
            "Tie",
            2,
            Decimal("55.00"),
            Decimal("40.00"),
            order.lines.get(sku="TIE-1").variant_id,
        ),
        ("", "Alterations", 1, Decimal("30.00"), None, None),
    ]


def test_order_placed_refuses_an_order_of_another_store(store_a, store_b):
    # given
    OrderFactory(store=store_b, external_ref="W-1")
    VariantFactory(sku="SU-1")
    event = stored(
        "order.placed",
        {"order": {"id": "W-1", "channel": "store", "lines": [{"sku": "SU-1", "quantity": 1}]}},
        store=store_a,
    )

    # when
    with pytest.raises(EventApplyError) as caught:
        process_event(event, now=NOW)

    # then
    assert str(caught.value) == "data.order.id: order 'W-1' belongs to store harbour"


def test_order_placed_refuses_a_client_not_yet_known(store_a):
    # given
    VariantFactory(sku="SU-1")
    event = stored(
        "order.placed",
        {
            "order": {
                "id": "W-1",
                "channel": "online",
                "client": {"email": "new@example.com"},
                "lines": [{"sku": "SU-1", "quantity": 1}],
            }
        },
        store=store_a,
    )

    # when
    with pytest.raises(EventApplyError) as caught:
        process_event(event, now=NOW)

    # then
    assert str(caught.value) == (
        "data.order.client: no client with email 'new@example.com' in store uptown "
        "(send client.upserted first)"
    )


def test_order_fulfilled_stamps_the_time_once(store_a):
    # given
    order = OrderFactory(store=store_a, external_ref="W-1", status=OrderStatus.PLACED)

    # when
    applied("order.fulfilled", {"order": {"id": "W-1"}}, store=store_a)
    applied(
        "order.fulfilled",
        {"order": {"id": "W-1"}},
        store=store_a,
        event_id="evt-2",
        occurred_at=NOW,
    )

    # then
    order.refresh_from_db()
    assert (order.status, order.fulfilled_at) == ("fulfilled", AT_UTC)


def test_order_cancelled_records_the_time_and_reason(store_a):
    # given
    order = OrderFactory(store=store_a, external_ref="W-1", status=OrderStatus.PLACED)

    # when
    applied("order.cancelled", {"order": {"id": "W-1"}, "reason": "Trip is off"}, store=store_a)

    # then
    order.refresh_from_db()
    assert (order.status, order.cancelled_at, order.cancel_reason) == (
        "cancelled",
        AT_UTC,
        "Trip is off",
    )


def test_order_refunded_records_partial_then_full_refunds(store_a):
    # given
    order = OrderFactory(store=store_a, external_ref="W-1", total=Decimal("300.00"))
    OrderLineFactory(order=order)

    # when
    applied(
        "order.refunded",
        {"order": {"id": "W-1"}, "refund_id": "RF-1", "amount": "100.00", "note": "Tie back"},
        store=store_a,
    )
    partial = Order.objects.get(pk=order.pk)
    applied(
        "order.refunded", {"order": {"id": "W-1"}}, store=store_a, event_id="evt-2", occurred_at=NOW
    )

    # then
    assert (partial.status, partial.refunded_amount, partial.refunded_at) == (
        "placed",
        Decimal("100.00"),
        None,
    )
    order.refresh_from_db()
    assert (order.status, order.refunded_amount, order.refunded_at) == (
        "refunded",
        Decimal("300.00"),
        NOW,
    )
    assert list(
        Refund.objects.order_by("id").values_list("external_ref", "amount", "note", "created_at")
    ) == [
        ("RF-1", Decimal("100.00"), "Tie back", AT_UTC),
        ("event-evt-2", Decimal("200.00"), "", NOW),
    ]


def test_order_refunded_refuses_more_than_is_left(store_a):
    # given
    order = OrderFactory(store=store_a, external_ref="W-1", total=Decimal("300.00"))
    RefundFactory(order=order, amount=Decimal("250.00"))
    event = stored("order.refunded", {"order": {"id": "W-1"}, "amount": 60}, store=store_a)

    # when
    with pytest.raises(EventApplyError) as caught:
        process_event(event, now=NOW)

    # then
    assert str(caught.value) == (
        "data.amount: 60.00 is more than what is left to refund on the order (50.00)"
    )


def test_a_refund_of_a_cancelled_order_keeps_it_cancelled(store_a):
    # given
    OrderFactory(
        store=store_a,
        external_ref="W-1",
        total=Decimal("90.00"),
        status="cancelled",
        cancelled_at=AT_UTC,
    )

    # when
    applied("order.refunded", {"order": {"id": "W-1"}}, store=store_a)

    # then
    order = Order.objects.get()
    assert (order.status, order.refunded_amount, order.refunded_at) == (
        "cancelled",
        Decimal("90.00"),
        AT_UTC,
    )


def test_product_arrived_sets_the_date_in_the_stores_zone_and_the_stock(store_a):
    # given: 03:30 UTC on the 15th is 23:30 on the 14th in New York
    product = ProductFactory(external_ref="SU-NAVY", arrived_on=None)
    VariantFactory(product=product, sku="SU-NAVY-40R")

    # when
    applied(
        "product.arrived",
        {"product": {"id": "SU-NAVY"}, "stock": [{"sku": "SU-NAVY-40R", "quantity": 4}]},
        store=store_a,
        occurred_at=dt.datetime(2026, 3, 15, 3, 30, tzinfo=dt.UTC),
    )

    # then
    product.refresh_from_db()
    assert product.arrived_on == dt.date(2026, 3, 14)
    assert list(Stock.objects.values_list("variant__sku", "store", "quantity")) == [
        ("SU-NAVY-40R", store_a.pk, 4)
    ]


def test_product_arrived_refuses_a_variant_of_another_product(store_a):
    # given
    ProductFactory(external_ref="SU-NAVY")
    VariantFactory(sku="TIE-1", product=ProductFactory(external_ref="TIE"))
    event = stored(
        "product.arrived",
        {"product": {"id": "SU-NAVY"}, "stock": [{"sku": "TIE-1", "quantity": 4}]},
        store=store_a,
    )

    # when
    with pytest.raises(EventApplyError) as caught:
        process_event(event, now=NOW)

    # then
    assert str(caught.value) == "data.stock.0.sku: 'TIE-1' is a variant of 'TIE', not of 'SU-NAVY'"


def test_problem_reported_opens_a_problem_then_resolved_closes_it(store_a, associate_a):
    # given
    client = ClientFactory(store=store_a, external_ref="C-1")
    belt = VariantFactory(sku="BELT-36", product=ProductFactory(title="Cognac Belt"))
    order = OrderFactory(store=store_a, client=client, external_ref="R-1")

    # when
    applied(
        "problem.reported",
        {
            "problem": {
                "kind": "left_behind",
                "client": {"id": "C-1"},
                "order": {"id": "R-1"},
                "item": {"sku": "BELT-36"},
                "description": "Left his belt on the counter",
                "reported_by": "ana",
            }
        },
        store=store_a,
        event_id="pos:problem:1",
    )
    opened = Problem.objects.get()
    applied(
        "problem.resolved",
        {"problem": {"id": "pos:problem:1"}, "resolution": "Picked up"},
        store=store_a,
        event_id="pos:problem:1:resolved",
        occurred_at=NOW,
    )

    # then
    assert (
        opened.store,
        opened.client,
        opened.order,
        opened.product,
        opened.kind,
        opened.status,
        opened.description,
        opened.reported_at,
        opened.reported_by,
        opened.external_ref,
    ) == (
        store_a,
        client,
        order,
        belt.product,
        "left_behind",
        "open",
        "Left his belt on the counter",
        AT_UTC,
        associate_a,
        "pos:problem:1",
    )
    resolved = Problem.objects.get()
    assert (resolved.status, resolved.resolved_at, resolved.resolution) == (
        ProblemStatus.RESOLVED,
        NOW,
        "Picked up",
    )


def test_problem_resolved_refuses_an_unknown_problem(store_a):
    # given
    event = stored("problem.resolved", {"problem": {"id": "nope"}}, store=store_a)

    # when
    with pytest.raises(EventApplyError) as caught:
        process_event(event, now=NOW)

    # then
    assert str(caught.value) == "data.problem.id: no problem was reported by event 'nope'"


def test_associate_deactivated_locks_them_out_and_leaves_their_clients(store_a):
    # given
    walter = UserFactory(username="walter", store=store_a)
    client = ClientFactory(store=store_a, primary_associate=walter)

    # when
    applied("associate.deactivated", {"associate": {"username": "walter"}}, store=store_a)

    # then
    walter = User.objects.get(pk=walter.pk)
    assert (walter.is_active, walter.deactivated_at) == (False, AT_UTC)
    client.refresh_from_db()
    assert client.primary_associate == walter


def test_associate_deactivated_refuses_staff_of_another_store(store_a, associate_b):
    # given
    event = stored("associate.deactivated", {"associate": {"username": "ben"}}, store=store_a)

    # when
    with pytest.raises(EventApplyError) as caught:
        process_event(event, now=NOW)

    # then
    assert str(caught.value) == "data.associate.username: 'ben' works at harbour, not uptown"
    assert User.objects.get(pk=associate_b.pk).is_active is True
