"""The stories of issue 3 end to end: events in through the API, the engine, out through SMTP."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client as HttpClient
from PIL import Image

from extramile.accounts.models import Store, User
from extramile.catalog.models import Photo, Product
from extramile.clients.models import Client
from extramile.clients.services import record_consent
from extramile.moments.engine_run import run_engine
from extramile.moments.lifecycle import log_call
from extramile.moments.models import Action, ActionKind, ActionProduct, ActionState, StoreRules
from extramile.outreach.models import Message
from extramile.outreach.services import SendRefused, send_action_message
from tests.api_helpers import bearer
from tests.factories import (
    ClientFactory,
    NeedFactory,
    OrderFactory,
    OrderLineFactory,
    PreferenceFactory,
    ProductFactory,
    SizeFactory,
    StockFactory,
    StoreFactory,
    UserFactory,
    VariantFactory,
)

# 12:30 in New York (EDT): daytime for the store and its clients.
NOW = dt.datetime(2025, 6, 18, 16, 30, tzinfo=dt.UTC)
SALES_WORDS = re.compile(r"\b(sale|sales|offer|offers|discount|discounts|deal|promotion)\b", re.I)

pytestmark = pytest.mark.django_db


@pytest.fixture
def store() -> Store:
    # The store keeps the default holdout (10%): the draw is made on the client's own reference
    # and the occasion, never a database id, so these stories' moments fall outside the control
    # group on every install (the stories assert their draws).
    return StoreFactory(code="uptown", name="Uptown", time_zone="America/New_York")


def assert_shown_not_held_out(action: Action) -> None:
    """The moment drew outside the store's holdout share, the same on any install."""
    share = float(StoreRules.objects.get(store=action.store).holdout_share)
    assert share == 0.1
    assert action.holdout_draw is not None
    assert action.holdout_draw >= share


@pytest.fixture
def sofia(store: Store) -> User:
    return UserFactory(
        username="sofia", first_name="Sofia", email="sofia@uptown.example", store=store
    )


def post_events(user: User, *events: dict) -> None:
    response = HttpClient().post(
        "/api/v1/events",
        data={"events": list(events)},
        content_type="application/json",
        **bearer(user),
    )
    assert response.status_code == 202, response.content
    assert {e["status"] for e in response.json()["events"]} == {"created"}


def event(event_id: str, type: str, at: dt.datetime, data: dict) -> dict:
    return {"id": event_id, "type": type, "occurred_at": at.isoformat(), "data": data}


def order_placed(
    event_id: str, at: dt.datetime, ref: str, client: str, channel: str, *lines: dict
) -> dict:
    """An order.placed event: order `ref` by the client with reference `client`."""
    order = {"id": ref, "client": {"id": client}, "channel": channel, "lines": list(lines)}
    return event(event_id, "order.placed", at, {"order": order})


def one(variant: VariantFactory, **price: str) -> dict:
    """An order line: one of the variant."""
    return {"sku": variant.sku, "quantity": 1, **price}


def customer(store: Store, associate: User, name: str, ref: str, phone: str) -> Client:
    """A client known by their own reference, with a phone, looked after by the associate."""
    first, last = name.split()
    return ClientFactory(
        store=store,
        first_name=first,
        last_name=last,
        external_ref=ref,
        phone=phone,
        primary_associate=associate,
    )


def arrived(event_id: str, at: dt.datetime, variant: VariantFactory) -> dict:
    """A product.arrived event: two of the variant in stock."""
    stock = [{"sku": variant.sku, "quantity": 2}]
    return event(
        event_id,
        "product.arrived",
        at,
        {"product": {"id": variant.product.external_ref}, "stock": stock},
    )


def consent(client: Client, *channels: str) -> None:
    for channel in channels:
        record_consent(
            client,
            channel=channel,
            granted=True,
            source="signup form",
            at=NOW - dt.timedelta(days=90),
        )


def one_action(client: Client) -> Action:
    [action] = Action.objects.filter(client=client)
    return action


def test_s8_a_cancelled_and_refunded_order_gets_one_courtesy_call_with_no_pitch(store, sofia):
    # given: Claire ordered a coat online yesterday; its check-in call is still open
    claire = customer(store, sofia, "Claire Dubois", "C-CLAIRE", "+14155550101")
    consent(claire, "email", "phone")
    coat = VariantFactory(
        product=ProductFactory(title="Camel Wool Wrap Coat", price=Decimal("560.00")),
        sku="COAT-CAMEL-M",
    )
    placed = NOW - dt.timedelta(days=1)
    cancelled = NOW - dt.timedelta(minutes=20)
    post_events(
        sofia,
        order_placed(
            "evt-order", placed, "W-2170", "C-CLAIRE", "online", one(coat, unit_price="560.00")
        ),
    )
    run_engine(now=placed)
    check_in = Action.objects.get(client=claire, kind=ActionKind.ORDER_CHECK_IN)
    assert check_in.state == ActionState.OPEN
    # when: the cancel, then the refund, arrive, and the engine runs twice
    post_events(
        sofia,
        event("evt-cancel", "order.cancelled", cancelled, {"order": {"id": "W-2170"}}),
        event(
            "evt-refund",
            "order.refunded",
            cancelled + dt.timedelta(minutes=2),
            {"order": {"id": "W-2170"}, "amount": "560.00"},
        ),
    )
    first = run_engine(now=NOW)
    run_engine(now=NOW)
    # then: the check-in is withdrawn, saying why, rather than left to expire
    check_in.refresh_from_db()
    assert check_in.state == ActionState.WITHDRAWN
    assert check_in.state_reason == (
        "Order cancelled: W-2170 was cancelled at 12:10 on Wednesday 18 June."
    )
    # and one courtesy call, brought up to date by the refund, confirms it and sells nothing
    assert (len(first.proposals.created), len(first.proposals.updated)) == (1, 1)
    action = Action.objects.get(client=claire, kind=ActionKind.CANCELLATION_COURTESY)
    assert Action.objects.filter(client=claire).count() == 2
    assert (action.channel, action.state) == ("phone", ActionState.OPEN)
    assert action.reason == (
        "Claire cancelled order W-2170 (Camel Wool Wrap Coat) at 12:10 on Wednesday 18 June; the "
        "full refund of $560 was recorded at 12:12 that day. A short call only to confirm it "
        "will show within 3 to 5 business days — no selling."
    )
    assert action.evidence["refunded"] == "560.00"
    assert "your refund of $560 went through on Wednesday 18 June" in action.draft
    assert "should show within 3 to 5 business days" in action.draft
    assert "being processed" not in action.draft
    assert "Camel" not in action.draft
    assert SALES_WORDS.search(action.draft) is None
    assert list(action.products.all()) == []
    # and the call is logged
    log_call(
        action, by=sofia, outcome="Confirmed the refund; Claire was glad.", reached=True, now=NOW
    )
    action.refresh_from_db()
    assert (action.state, action.completed_by) == (ActionState.DONE, sofia)
    assert Message.objects.count() == 0


def suit(title: str, price: str, **attributes: object) -> VariantFactory:
    product = ProductFactory(
        title=title, category="Men/Suits", brand="Kestrel", price=Decimal(price), **attributes
    )
    return VariantFactory(product=product, size="40R")


def test_s7_an_online_order_that_fits_poorly_gets_a_call_offering_the_same_price_swap(store, sofia):
    # given: Daniel told us what he needs; a lightweight suit at about the price is in stock
    daniel = customer(store, sofia, "Daniel Reyes", "C-DANIEL", "+14155550102")
    NeedFactory(
        client=daniel,
        text="A dark suit for a summer wedding abroad, lightweight, under $600",
        budget=Decimal("600.00"),
    )
    PreferenceFactory(client=daniel, dimension="colour", value="navy")
    tweed = suit(
        "Heavy Tweed Suit",
        "580.00",
        colour="brown",
        material="heavy wool tweed, 15 oz",
        style_tags=["autumn", "winter", "tweed"],
    )
    tropical = suit(
        "Navy Tropical Suit",
        "595.00",
        colour="navy",
        material="tropical wool, 8 oz",
        style_tags=["lightweight", "summer"],
    )
    StockFactory(variant=tropical, store=store, quantity=2)
    placed = NOW - dt.timedelta(minutes=8)
    # when: the online order comes in through the events API and the engine runs
    post_events(
        sofia,
        order_placed("evt-w-3001", placed, "W-3001", "C-DANIEL", "online", one(tweed)),
    )
    run_engine(now=NOW)
    # then: a call ten minutes after the order, offering the swap at about the same price
    action = one_action(daniel)
    assert (action.kind, action.channel, action.state) == (
        ActionKind.ORDER_CHECK_IN,
        "phone",
        ActionState.OPEN,
    )
    assert action.due_at == placed + dt.timedelta(minutes=10)
    assert "Heavy Tweed Suit" in action.reason
    assert "fits poorly" in action.reason
    assert "The Navy Tropical Suit at $595 fits better and is in stock." in action.reason
    assert [
        p.product.title for p in ActionProduct.objects.filter(action=action).order_by("position")
    ] == [
        "Heavy Tweed Suit",
        "Navy Tropical Suit",
    ]
    assert "Navy Tropical Suit" in action.draft
    # and the call is logged
    log_call(
        action, by=sofia, outcome="Daniel swapped to the tropical suit.", reached=True, now=NOW
    )
    action.refresh_from_db()
    assert (action.state, action.outcome) == (
        ActionState.DONE,
        "Daniel swapped to the tropical suit.",
    )
    assert Message.objects.count() == 0


def test_s6_a_belt_left_at_the_counter_gets_an_urgent_call_with_a_surprise(store, sofia):
    # given: belts go with the care kit in this store's baskets; Jim bought a belt yesterday
    jim = customer(store, sofia, "Jim Calloway", "C-JIM", "+14155550106")

    def accessory(title: str, price: str) -> VariantFactory:
        product = ProductFactory(title=title, category="Accessories", price=Decimal(price))
        return VariantFactory(product=product, size="")

    belt, kit, socks = (
        accessory("Cognac Belt", "120.00"),
        accessory("Shoe Care Kit", "45.00"),
        accessory("Socks", "20.00"),
    )
    for items in [(belt, kit)] * 3 + [(belt, socks)] * 2 + [(socks,)]:
        order = OrderFactory(store=store, client=None, placed_at=NOW - dt.timedelta(days=30))
        for item in items:
            OrderLineFactory(order=order, variant=item, unit_price=item.product.price)
    StockFactory(variant=kit, store=store, quantity=6)
    StockFactory(variant=socks, store=store, quantity=6)
    yesterday = NOW - dt.timedelta(hours=19)
    post_events(
        sofia,
        order_placed("evt-r-88", yesterday, "R-88", "C-JIM", "store", one(belt)),
        event(
            "evt-left-belt",
            "problem.reported",
            NOW - dt.timedelta(minutes=5),
            {
                "problem": {
                    "kind": "left_behind",
                    "client": {"id": "C-JIM"},
                    "order": {"id": "R-88"},
                    "item": {"sku": belt.sku},
                    "reported_by": "sofia",
                }
            },
        ),
    )
    # when
    run_engine(now=NOW)
    # then: one urgent call, today, with the care kit as a thank-you
    action = Action.objects.get(client=jim, kind=ActionKind.SERVICE_RECOVERY)
    assert (action.channel, action.state) == ("phone", ActionState.OPEN)
    assert action.due_at == NOW
    assert action.surprise == kit.product
    assert "Jim left the Cognac Belt at the store" in action.reason
    assert "Shoe Care Kit" in action.reason
    assert "Bought with the Cognac Belt in 3 of 6 baskets" in action.surprise_note
    # and the call is logged; no email or text is needed
    log_call(
        action, by=sofia, outcome="Belt and kit go out by courier today.", reached=True, now=NOW
    )
    action.refresh_from_db()
    assert action.state == ActionState.DONE
    assert Message.objects.count() == 0


def png_bytes(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 10), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def with_photo(product: Product, colour: str) -> Product:
    Photo.objects.create(product=product, alt=product.title, position=0).image.save(
        f"{product.external_ref}.png", ContentFile(png_bytes(colour))
    )
    return product


def inline_images(mail: EmailMessage) -> list[EmailMessage]:
    return [part for part in mail.walk() if part["Content-ID"]]


def text_of(mail: EmailMessage) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def email_it(
    action: Action, *, by: User, now: dt.datetime, smtp: Any, capture: Any
) -> EmailMessage:
    """Send the action's draft by email as it stands; return the one mail the server received."""
    with capture(execute=True):
        message = send_action_message(
            action, channel="email", subject=action.subject, body=action.draft, by=by, now=now
        )
    message.refresh_from_db()
    assert message.status == "sent"
    [mail] = smtp.received
    return mail


def shopper(store: Store, associate: User, name: str, ref: str, **fields: object) -> Client:
    client = ClientFactory(
        store=store,
        first_name=name,
        external_ref=ref,
        primary_associate=associate,
        time_zone="America/New_York",
        **fields,
    )
    PreferenceFactory(client=client, dimension="brand", value="Maison Lavande")
    PreferenceFactory(client=client, dimension="colour", value="emerald")
    SizeFactory(client=client, category="Women/Dresses", size="6")
    return client


def emerald_dress(title: str, ref: str, price: str) -> Product:
    """A Maison Lavande dress in emerald: what the S1 shoppers said they like."""
    return ProductFactory(
        title=title,
        external_ref=ref,
        category="Women/Dresses",
        brand="Maison Lavande",
        colour="emerald",
        price=Decimal(price),
    )


def arrive_in_a_six(associate: User, dress: Product, event_id: str) -> None:
    """The dress arrives in a 6 (two in stock) through the events API; the engine runs."""
    six = VariantFactory(product=dress, size="6", colour="emerald", sku=f"{dress.external_ref}-6")
    post_events(associate, arrived(event_id, NOW - dt.timedelta(days=1), six))
    run_engine(now=NOW)


def test_s1_a_new_arrival_reaches_the_client_who_wants_it_by_email_with_its_photo(
    store, sofia, settings, tmp_path, smtp_settings, django_capture_on_commit_callbacks
):
    # given: Evelyn likes Maison Lavande and emerald, wears a 6, and said yes to email
    settings.MEDIA_ROOT = tmp_path / "media"
    evelyn = shopper(store, sofia, "Evelyn", "C-EVELYN", email="evelyn@example.com")
    consent(evelyn, "email")
    dress = with_photo(emerald_dress("Emerald Silk Midi Dress", "P-EMERALD", "445.00"), "green")
    # when: the dress arrives in a 6 through the events API and the engine runs
    arrive_in_a_six(sofia, dress, "evt-arrival")
    action = one_action(evelyn)
    assert (action.kind, action.channel, action.state) == (
        ActionKind.NEW_ARRIVAL_MATCH,
        "email",
        ActionState.OPEN,
    )
    assert "Maison Lavande" in action.reason
    assert "Emerald Silk Midi Dress" in action.draft
    assert_shown_not_held_out(action)
    # and at 23:00 Evelyn's time the send is refused, and nothing leaves
    late = dt.datetime(2025, 6, 19, 3, 0, tzinfo=dt.UTC)
    with pytest.raises(SendRefused, match="23:00 for Evelyn"):
        send_action_message(
            action, channel="email", subject=action.subject, body=action.draft, by=sofia, now=late
        )
    assert Message.objects.count() == 0
    assert smtp_settings.received == []
    action.refresh_from_db()
    assert action.state == ActionState.OPEN
    # when Sofia sends it in the afternoon
    mail = email_it(
        action, by=sofia, now=NOW, smtp=smtp_settings, capture=django_capture_on_commit_callbacks
    )
    # then the email with the dress's photo inline arrives at the SMTP server
    assert mail["To"] == "evelyn@example.com"
    assert mail["Subject"] == action.subject
    assert "Evelyn" in text_of(mail)
    assert "Emerald Silk Midi Dress" in text_of(mail)
    [image] = inline_images(mail)
    assert image.get_content_type() == "image/png"
    assert image.get_content() == png_bytes("green")


def test_a_client_who_did_not_agree_to_email_gets_none(
    store, sofia, smtp_settings, django_capture_on_commit_callbacks
):
    # given: Nora said yes to text messages only, and has an open new-arrival action
    nora = shopper(store, sofia, "Nora", "C-NORA", email="nora@example.com", phone="+14155550107")
    consent(nora, "sms")
    dress = emerald_dress("Emerald Wrap Dress", "P-WRAP", "395.00")
    arrive_in_a_six(sofia, dress, "evt-wrap")
    action = one_action(nora)
    assert (action.channel, action.state) == ("sms", ActionState.OPEN)
    # when an email is tried all the same
    refused = pytest.raises(SendRefused, match="Nora has not agreed to be contacted by email")
    with django_capture_on_commit_callbacks(execute=True), refused:
        send_action_message(
            action, channel="email", subject="Hello", body=action.draft, by=sofia, now=NOW
        )
    # then nothing is recorded or sent, and the action stays open
    assert Message.objects.count() == 0
    assert smtp_settings.received == []
    action.refresh_from_db()
    assert action.state == ActionState.OPEN


def test_s2_the_suit_season_reaches_edmund_a_week_ahead_with_the_new_suits_photos(
    settings, tmp_path, smtp_settings, django_capture_on_commit_callbacks
):
    # given: Thursday 19 November 2026, 10:00 in New York; Edmund bought a suit in the same week
    # of November in 2023, 2024 and 2025, and wears a 42L
    now = dt.datetime(2026, 11, 19, 15, 0, tzinfo=dt.UTC)
    settings.MEDIA_ROOT = tmp_path / "media"
    store = StoreFactory(code="uptown", name="Uptown", time_zone="America/New_York")
    walter = UserFactory(
        username="walter", first_name="Walter", email="walter@uptown.example", store=store
    )
    edmund = ClientFactory(
        store=store,
        first_name="Edmund",
        last_name="Ashcroft",
        external_ref="C-EDMUND",
        email="edmund@example.com",
        primary_associate=walter,
    )
    record_consent(
        edmund,
        channel="email",
        granted=True,
        source="signup form",
        at=dt.datetime(2023, 1, 5, tzinfo=dt.UTC),
    )
    SizeFactory(client=edmund, category="Men/Suits", size="42L")
    PreferenceFactory(client=edmund, dimension="colour", value="charcoal")
    PreferenceFactory(client=edmund, dimension="brand", value="Ashby & Rowe")

    def suit(title: str, ref: str, colour: str, size: str) -> VariantFactory:
        product = ProductFactory(
            title=title,
            external_ref=ref,
            category="Men/Suits",
            colour=colour,
            brand="Ashby & Rowe",
            price=Decimal("700.00"),
            arrived_on=None,
        )
        return VariantFactory(product=product, size=size, colour=colour, sku=f"{ref}-{size}")

    old = suit("Old Suit", "P-OLD", "navy", "42L")
    flannel = suit("Charcoal Flannel Suit", "P-FLANNEL", "charcoal", "42L")
    stripe = suit("Navy Chalk-Stripe Suit", "P-STRIPE", "navy", "42L")
    with_photo(flannel.product, "gray")
    with_photo(stripe.product, "navy")
    history = []
    for day in (dt.date(2023, 11, 24), dt.date(2024, 11, 28), dt.date(2025, 11, 26)):
        at = dt.datetime.combine(day, dt.time(20, 0), tzinfo=dt.UTC)
        ref = f"R-{day:%Y}"
        history.append(order_placed(f"evt-{ref}", at, ref, "C-EDMUND", "store", one(old)))
        history.append(event(f"evt-{ref}-f", "order.fulfilled", at, {"order": {"id": ref}}))
    post_events(walter, *history)
    # when: the new suits arrive this week and the engine runs
    post_events(
        walter,
        *(
            arrived(f"evt-arrived-{variant.sku}", now - dt.timedelta(days=2), variant)
            for variant in (flannel, stripe)
        ),
    )
    run_engine(now=now)
    # then: one email to propose, a week before the season opens, with the new suits
    action = Action.objects.get(client=edmund, kind=ActionKind.BUYING_SEASON)
    assert (action.channel, action.state) == ("email", ActionState.OPEN)
    assert "2023, 2024" in action.reason
    assert "that season opens on Thursday 26 November" in action.reason
    assert_shown_not_held_out(action)
    shown = [
        p.product.title for p in ActionProduct.objects.filter(action=action).order_by("position")
    ]
    assert shown[:2] == ["Charcoal Flannel Suit", "Navy Chalk-Stripe Suit"]
    # when Walter sends it
    mail = email_it(
        action, by=walter, now=now, smtp=smtp_settings, capture=django_capture_on_commit_callbacks
    )
    # then it arrives with both suits' photos inline
    assert mail["To"] == "edmund@example.com"
    assert "Edmund" in mail["Subject"]
    assert "Edmund" in text_of(mail)
    assert "Charcoal Flannel Suit" in text_of(mail)
    assert sorted(part.get_content() for part in inline_images(mail)) == sorted(
        [png_bytes("gray"), png_bytes("navy")]
    )
