"""The arrivals page: recent arrivals in stock in the store, and the clients each is going to.

The page reads the real clock, so the stores are put in a zone where it is midday now, and
arrival days are counted back from the store's today.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from extramile.accounts.models import Role, Store, User
from extramile.catalog.models import Photo, Product
from extramile.clients.models import Client
from extramile.moments.models import Action, ActionKey, ActionState
from tests.factories import (
    ActionFactory,
    ClientFactory,
    ProductFactory,
    StockFactory,
    UserFactory,
    VariantFactory,
)

URL = reverse("arrivals:arrivals")


def midday_zone() -> str:
    """An IANA zone in which the local hour is 12 at this moment."""
    offset = 12 - timezone.now().astimezone(dt.UTC).hour
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


@pytest.fixture
def zone(store_a: Store, store_b: Store) -> ZoneInfo:
    name = midday_zone()
    for store in (store_a, store_b):
        store.time_zone = name
        store.save()
    return ZoneInfo(name)


def days_ago(zone: ZoneInfo, days: int) -> dt.date:
    return timezone.now().astimezone(zone).date() - dt.timedelta(days=days)


def arrival(
    title: str, *, arrived: dt.date, stock: dict[Store, dict[str, int]], **fields: Any
) -> Product:
    """A product arrived on `arrived`, with units per size in each store."""
    product = ProductFactory(title=title, arrived_on=arrived, **fields)
    sizes = sorted({size for per_size in stock.values() for size in per_size})
    variants = {size: VariantFactory(product=product, size=size) for size in sizes}
    for store, per_size in stock.items():
        for size, quantity in per_size.items():
            StockFactory(variant=variants[size], store=store, quantity=quantity)
    return product


def client_of(store: Store, first: str, associate: User | None = None) -> Client:
    return ClientFactory(
        store=store, first_name=first, last_name="Client", primary_associate=associate
    )


def offer_item(product: Product, *, size: str, fit: float) -> dict[str, Any]:
    return {
        "product_id": product.pk,
        "title": product.title,
        "arrived_on": product.arrived_on.isoformat() if product.arrived_on else None,
        "size": size,
        "colour": product.colour,
        "units_in_stock": 2,
        "fit": fit,
    }


def matched(
    client: Client,
    offers: list[dict[str, Any]],
    *,
    associate: User,
    state: str = ActionState.OPEN,
) -> Action:
    """A new-arrival action as the engine records it: evidence, its reason, its key."""
    evidence = {"products": offers}
    ids = "-".join(str(item["product_id"]) for item in offers)
    key = f"new_arrival_match:{client.pk}:{ids}"
    action = ActionFactory(
        store=client.store,
        client=client,
        associate=associate,
        kind="new_arrival_match",
        state=state,
        evidence=evidence,
        reasons=[
            {
                "kind": "new_arrival_match",
                "reason": "New arrivals.",
                "evidence": evidence,
                "key": key,
            }
        ],
    )
    ActionKey.objects.create(key=key, action=action)
    return action


def card_of(response, product: Product):
    return next(card for card in response.context["page"].cards if card.product == product)


def listed(response) -> list[str]:
    return [card.product.title for card in response.context["page"].cards]


@pytest.mark.django_db
def test_lists_a_recent_arrival_with_its_stock_here_and_its_clients_best_fit_first(
    web_as, store_a, store_b, associate_a, zone
):
    # given: a suit arrived two days ago, in stock here in two sizes (and elsewhere in a third)
    suit = arrival(
        "Navy wool suit",
        arrived=days_ago(zone, 2),
        stock={store_a: {"40R": 2, "42R": 1}, store_b: {"44R": 5}},
        brand="Ashby & Rowe",
        colour="navy",
        price=Decimal("850.00"),
    )
    Photo.objects.create(product=suit, source_url="https://example.com/suit.jpg", position=0)
    bo = UserFactory(username="bo", first_name="Bo", last_name="Lind", store=store_a)
    low = matched(
        client_of(store_a, "Lena"), [offer_item(suit, size="40R", fit=0.41)], associate=bo
    )
    high = matched(
        client_of(store_a, "Hugo"), [offer_item(suit, size="42R", fit=0.93)], associate=associate_a
    )
    middle = matched(
        client_of(store_a, "Mara"), [offer_item(suit, size="40R", fit=0.7)], associate=associate_a
    )
    # when
    response = web_as(associate_a).get(URL)
    # then
    assert response.status_code == 200
    card = card_of(response, suit)
    assert card.stock == [("40R", 2), ("42R", 1)]
    assert card.units == 3
    assert card.photo_url == "https://example.com/suit.jpg"
    assert [(m.client.first_name, m.size, m.fit) for m in card.matches] == [
        ("Hugo", "42R", 0.93),
        ("Mara", "40R", 0.7),
        ("Lena", "40R", 0.41),
    ]
    html = response.content.decode()
    assert "Navy wool suit" in html
    assert "Ashby &amp; Rowe · navy" in html
    assert "USD 850.00" in html
    assert f'Arrived <time datetime="{suit.arrived_on:%Y-%m-%d}">' in html
    assert '<span class="chip">40R · 2</span><span class="chip">42R · 1</span>' in html
    assert "44R" not in html  # the other store's stock
    assert "3 offers for 3 units" in html
    names = re.findall(r'<a class="name" href="/clients/(\d+)/">([^<]+)</a>', html)
    assert names == [
        (str(high.client.pk), "Hugo Client"),
        (str(middle.client.pk), "Mara Client"),
        (str(low.client.pk), "Lena Client"),
    ]
    links = re.findall(r'class="open-action" href="/today/(\d+)/"', html)
    assert links == [str(high.pk), str(middle.pk), str(low.pk)]
    assert "Bo Lind" in html
    assert "fit 0.93" in html


@pytest.mark.django_db
def test_counts_clients_by_state_and_says_plainly_who_was_held_out(
    web_as, store_a, associate_a, zone
):
    # given: six clients matched to one dress, in every state
    dress = arrival("Emerald dress", arrived=days_ago(zone, 1), stock={store_a: {"8": 3}})
    actions = {
        state: matched(
            client_of(store_a, state.capitalize().replace("_", "")),
            [offer_item(dress, size="8", fit=0.5)],
            associate=associate_a,
            state=state,
        )
        for state in (
            ActionState.OPEN,
            ActionState.SNOOZED,
            ActionState.DONE,
            ActionState.HELD_OUT,
            ActionState.SKIPPED,
            ActionState.EXPIRED,
        )
    }
    # when
    response = web_as(associate_a).get(URL)
    # then
    tally = card_of(response, dress).tally
    assert (tally.to_contact, tally.contacted, tally.held_out, tally.closed, tally.stopped) == (
        2,
        1,
        1,
        2,
        0,
    )
    html = response.content.decode()
    assert "6 offers for 3 units" in html
    assert '<span class="badge due-now">2 to contact</span>' in html
    assert '<span class="badge yes">1 contacted</span>' in html
    assert "1 held out (control group, not contacted)" in html
    assert "2 skipped or expired" in html
    row = re.search(r'<li class="match-row match-held_out">(.*?)</li>', html, re.S).group(1)
    assert "Heldout Client" in row
    assert "Held out: not contacted, on purpose" in row
    # the held-out action cannot be opened (as on Today, it is never shown), the others can
    held = actions[ActionState.HELD_OUT]
    assert f"/today/{held.pk}/" not in html
    assert web_as(associate_a).get(f"/today/{held.pk}/").status_code == 404
    for state, action in actions.items():
        if state != ActionState.HELD_OUT:
            assert f'href="/today/{action.pk}/"' in html


@pytest.mark.django_db
def test_an_arrival_merged_into_another_action_counts_with_its_own_size_and_fit(
    web_as, store_a, associate_a, zone
):
    # given: Iris's birthday call carries the new scarf too, merged in with its own evidence
    scarf = arrival("Cashmere scarf", arrived=days_ago(zone, 3), stock={store_a: {"": 4}})
    iris = client_of(store_a, "Iris")
    key = f"new_arrival_match:{iris.pk}:{scarf.pk}"
    birthday = ActionFactory(
        store=store_a,
        client=iris,
        associate=associate_a,
        kind="important_date",
        evidence={"date": "birthday"},
        reasons=[
            {"kind": "important_date", "reason": "Birthday.", "evidence": {"date": "birthday"}},
            {
                "kind": "new_arrival_match",
                "reason": "A new scarf.",
                "evidence": {"products": [offer_item(scarf, size="", fit=0.62)]},
                "key": key,
            },
        ],
    )
    ActionKey.objects.create(key=key, action=birthday)
    # when
    response = web_as(associate_a).get(URL)
    # then
    card = card_of(response, scarf)
    assert card.stock == [("One size", 4)]
    assert [(m.client, m.action, m.fit) for m in card.matches] == [(iris, birthday, 0.62)]
    assert f'href="/today/{birthday.pk}/"' in response.content.decode()


@pytest.mark.django_db
def test_shows_only_arrivals_of_the_chosen_days_with_stock_in_the_store(
    web_as, store_a, store_b, associate_a, zone
):
    # given
    arrival("Today's coat", arrived=days_ago(zone, 0), stock={store_a: {"M": 1}})
    arrival("Last week's shirt", arrived=days_ago(zone, 10), stock={store_a: {"M": 1}})
    arrival("Autumn boots", arrived=days_ago(zone, 40), stock={store_a: {"41": 2}})
    arrival("Old jacket", arrived=days_ago(zone, 200), stock={store_a: {"M": 1}})
    arrival("Sold out tie", arrived=days_ago(zone, 1), stock={store_a: {"": 0}})
    arrival("Harbour-only belt", arrived=days_ago(zone, 1), stock={store_b: {"90": 3}})
    arrival("Coming next week", arrived=days_ago(zone, -7), stock={store_a: {"M": 1}})
    arrival("Archived hat", arrived=days_ago(zone, 1), stock={store_a: {"M": 1}}, status="archived")
    web = web_as(associate_a)
    # when
    by_days = {days: listed(web.get(URL, {"days": days})) for days in ("7", "30", "90")}
    default = web.get(URL)
    # then: newest first
    assert by_days == {
        "7": ["Today's coat"],
        "30": ["Today's coat", "Last week's shirt"],
        "90": ["Today's coat", "Last week's shirt", "Autumn boots"],
    }
    assert listed(default) == by_days["30"]
    assert default.context["page"].days == 30
    assert listed(web.get(URL, {"days": "5000"})) == by_days["30"]  # not a choice: the default
    assert 'aria-current="true">30 days</a>' in default.content.decode()
    assert "Old jacket" not in default.content.decode()


@pytest.mark.django_db
def test_an_associate_of_another_store_sees_none_of_this_stores_clients(
    web_as, store_a, store_b, associate_a, associate_b, zone
):
    # given: the shirt is in stock in both stores; only Uptown's client was matched to it
    shirt = arrival(
        "Oxford shirt", arrived=days_ago(zone, 2), stock={store_a: {"M": 2}, store_b: {"M": 2}}
    )
    uptown_only = arrival("Uptown linen", arrived=days_ago(zone, 2), stock={store_a: {"M": 2}})
    offers = [offer_item(shirt, size="M", fit=0.8), offer_item(uptown_only, size="M", fit=0.6)]
    action = matched(client_of(store_a, "Ottoline"), offers, associate=associate_a)
    # when
    response = web_as(associate_b).get(URL)
    # then
    assert listed(response) == ["Oxford shirt"]
    assert card_of(response, shirt).matches == []
    html = response.content.decode()
    assert "Ottoline" not in html
    assert f"/today/{action.pk}/" not in html
    assert "No client matched yet." in html
    assert web_as(associate_b).get(URL, {"store": store_a.code}).status_code == 404
    # and: Uptown's own associate sees the match
    assert "Ottoline Client" in web_as(associate_a).get(URL).content.decode()


@pytest.mark.django_db
def test_an_admin_picks_the_store_and_sees_its_clients(
    web_as, store_a, store_b, associate_a, associate_b, admin_user, zone
):
    # given
    shirt = arrival(
        "Oxford shirt", arrived=days_ago(zone, 2), stock={store_a: {"M": 2}, store_b: {"M": 2}}
    )
    matched(
        client_of(store_a, "Uma"), [offer_item(shirt, size="M", fit=0.8)], associate=associate_a
    )
    matched(
        client_of(store_b, "Hal"), [offer_item(shirt, size="M", fit=0.8)], associate=associate_b
    )
    web = web_as(admin_user)
    # when
    first = web.get(URL)  # Harbour, the first by name
    uptown = web.get(URL, {"store": "uptown", "days": "7"})
    # then
    assert first.context["page"].store == store_b
    assert "Hal Client" in first.content.decode()
    assert "Uma Client" not in first.content.decode()
    assert uptown.context["page"].store == store_a
    assert uptown.context["page"].days == 7
    assert "Uma Client" in uptown.content.decode()
    assert "Hal Client" not in uptown.content.decode()
    assert '<option value="uptown" selected>Uptown</option>' in uptown.content.decode()
    assert web.get(URL, {"store": "nowhere"}).status_code == 404


@pytest.mark.django_db
def test_only_my_clients_keeps_the_associates_own_clients_and_their_arrivals(
    web_as, store_a, associate_a, zone
):
    # given: Ana's client Ada and her colleague's client Cole were matched to the coat;
    # only Cole to the hat; Ana was given Dina's action while Dina's associate is away
    bo = UserFactory(username="bo", role=Role.ASSOCIATE, store=store_a)
    coat = arrival("Camel coat", arrived=days_ago(zone, 1), stock={store_a: {"M": 2}})
    hat = arrival("Felt hat", arrived=days_ago(zone, 1), stock={store_a: {"M": 2}})
    matched(
        client_of(store_a, "Ada", associate_a),
        [offer_item(coat, size="M", fit=0.5)],
        associate=associate_a,
    )
    matched(
        client_of(store_a, "Cole", bo),
        [offer_item(coat, size="M", fit=0.9), offer_item(hat, size="M", fit=0.9)],
        associate=bo,
    )
    matched(
        client_of(store_a, "Dina", bo), [offer_item(coat, size="M", fit=0.3)], associate=associate_a
    )
    web = web_as(associate_a)
    # when
    everyone = web.get(URL)
    mine = web.get(URL, {"mine": "1"})
    # then
    assert [m.client.first_name for m in card_of(everyone, coat).matches] == ["Cole", "Ada", "Dina"]
    assert listed(everyone) == ["Felt hat", "Camel coat"]
    assert listed(mine) == ["Camel coat"]
    assert [m.client.first_name for m in card_of(mine, coat).matches] == ["Ada", "Dina"]
    html = mine.content.decode()
    assert "Cole Client" not in html
    assert 'aria-current="true">Only my clients</a>' in html
    assert "2 offers for 2 units" in html


@pytest.mark.django_db
def test_empty_states_say_what_to_do(web_as, store_a, associate_a, zone):
    # given: nothing arrived
    web = web_as(associate_a)
    # when
    nothing = web.get(URL).content.decode()
    arrival("Plain tee", arrived=days_ago(zone, 1), stock={store_a: {"M": 2}})
    unmatched = web.get(URL).content.decode()
    none_mine = web.get(URL, {"mine": "1"}).content.decode()
    # then
    assert "Nothing new in stock." in nothing
    assert "<code>extramile engine run</code>" in nothing
    assert "No client has been matched to these yet." in unmatched
    assert "<code>extramile serve</code>" in unmatched
    assert "None of your clients yet." in none_mine


@pytest.mark.django_db
def test_the_menu_leads_to_arrivals_and_marks_it(web_as, associate_a, zone):
    html = web_as(associate_a).get(URL).content.decode()
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S).group(1)
    assert re.findall(r">(\w+)</a>", nav)[:3] == ["Today", "Clients", "Arrivals"]
    assert f'<a href="{URL}" aria-current="page">Arrivals</a>' in nav


@pytest.mark.django_db
def test_arrivals_needs_a_login():
    response = HttpClient().get(URL)
    assert (response.status_code, response.url) == (302, f"/login/?next={URL}")


def a_store_with_arrivals(store: Store, associate: User, zone: ZoneInfo, *, count: int) -> None:
    """`count` arrivals, each with a photo, two sizes and three matched clients."""
    for n in range(count):
        product = arrival(
            f"Arrival {n}", arrived=days_ago(zone, n % 20), stock={store: {"S": 1, "M": 2}}
        )
        Photo.objects.create(product=product, source_url=f"https://example.com/{n}.jpg")
        for fit in (0.9, 0.5, 0.2):
            client = client_of(store, f"Client{n}x{int(fit * 10)}", associate)
            matched(client, [offer_item(product, size="M", fit=fit)], associate=associate)


def queries_for(web: HttpClient, **params: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = web.get(URL, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_the_number_of_queries_does_not_grow_with_products_or_clients(
    web_as, store_a, associate_a, admin_user, zone, django_assert_max_num_queries
):
    # given
    a_store_with_arrivals(store_a, associate_a, zone, count=2)
    web = web_as(associate_a)
    few = queries_for(web)
    a_store_with_arrivals(store_a, associate_a, zone, count=15)
    # when
    many = queries_for(web)
    # then
    assert len(listed(web.get(URL))) == 17
    assert many == few
    assert queries_for(web, mine="1") == few
    admin = web_as(admin_user)
    with django_assert_max_num_queries(8):
        web.get(URL)
    with django_assert_max_num_queries(8):
        admin.get(URL, {"store": "uptown"})
