import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import phonenumbers
import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Min
from django.test import override_settings
from PIL import Image

from extramile.accounts.management.commands.stats import collect_stats
from extramile.accounts.models import Role, User
from extramile.catalog.models import Photo, Product, Stock
from extramile.clients.models import (
    Channel,
    Client,
    Consent,
    DateKind,
    ImportantDate,
    Preference,
    Relation,
    RelationKind,
    Size,
)
from extramile.demo.assortment import PRODUCTS
from extramile.demo.generator import STAFF, STORY_TAGS, DemoData
from extramile.demo.services import load_demo, story_clients, upcoming_birthdays
from extramile.orders.models import Order, OrderChannel, OrderLine, OrderStatus

# A Wednesday in June: the S2 suit season opens on 25 June, as it did in 2022, 2023 and 2024.
NOW = dt.datetime(2025, 6, 18, 16, 30, tzinfo=dt.UTC)
TODAY = dt.date(2025, 6, 18)
NEW_SINCE = TODAY - dt.timedelta(days=3)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[DemoData]:
    """The default-size demo, loaded once for this module and rolled back at its end."""
    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media), transaction.atomic():
        data = load_demo(seed=2026, now=NOW)
        yield data
        transaction.set_rollback(True)


def story_client(tag: str) -> Client:
    return Client.objects.get(tags__name=tag)


@pytest.mark.slow
@pytest.mark.django_db
def test_default_demo_has_the_promised_size(demo):
    # when
    stats = collect_stats()
    # then
    assert stats["stores"] == 2
    assert stats["associates"] == 5
    assert stats["clients"] == 500
    assert stats["products"] == len(PRODUCTS)
    assert 120 <= stats["products"] <= 150
    assert stats["orders"] > 1500
    assert stats["order_lines"] > stats["orders"]
    assert User.objects.filter(role=Role.MANAGER).count() == 2
    assert User.objects.filter(role=Role.ADMIN).count() == 1
    per_store = dict(Client.objects.values_list("store__code").annotate(n=Count("id")))
    assert per_store == {"uptown": 300, "harbour": 200}
    associates = {
        code: User.objects.filter(role=Role.ASSOCIATE, store__code=code).count()
        for code in ("uptown", "harbour")
    }
    assert associates == {"uptown": 3, "harbour": 2}
    assert not Client.objects.filter(primary_associate__isnull=True).exists()


@pytest.mark.slow
@pytest.mark.django_db
def test_orders_cover_three_years_on_every_channel(demo):
    # when
    span = Order.objects.aggregate(first=Min("placed_at"), last=Max("placed_at"))
    channels = set(Order.objects.values_list("channel", flat=True))
    statuses = dict(Order.objects.values_list("status").annotate(n=Count("id")))
    # then
    assert span["first"] <= NOW - dt.timedelta(days=3 * 365 - 30)
    assert span["last"] >= NOW - dt.timedelta(hours=1)
    assert span["last"] <= NOW
    assert channels == {OrderChannel.STORE, OrderChannel.ONLINE, OrderChannel.PHONE}
    assert statuses[OrderStatus.FULFILLED] > 0.85 * sum(statuses.values())
    assert statuses[OrderStatus.CANCELLED] > 0
    assert statuses[OrderStatus.REFUNDED] > 0
    for order in Order.objects.prefetch_related("lines")[:200]:
        assert order.total == sum(line.unit_price * line.quantity for line in order.lines.all())


@pytest.mark.slow
@pytest.mark.django_db
def test_s2_client_bought_a_suit_in_the_same_weeks_of_each_of_three_years(demo):
    # given: his season opens a week after the demo's today (25 June)
    client = story_client("story:s2-suit-season")
    walter = User.objects.get(username="walter")
    # when
    suit_orders = Order.objects.filter(
        client=client, lines__product__category="Men/Suits", status=OrderStatus.FULFILLED
    ).distinct()
    days = sorted(o.placed_at.date() for o in suit_orders)
    # then: one suit order in each of the last three years, within the season's first week
    assert [d.year for d in days] == [2022, 2023, 2024]
    assert all(dt.date(d.year, 6, 25) <= d <= dt.date(d.year, 7, 1) for d in days)
    assert {o.associate for o in suit_orders} == {walter}
    assert client.primary_associate == walter
    assert walter.leaving_on == TODAY + dt.timedelta(days=10)
    assert client.notes.filter(author=walter).exists()
    suit_size = client.sizes.get(category="Men/Suits").size
    arrivals_in_his_size = Stock.objects.filter(
        store=client.store,
        quantity__gt=0,
        variant__size=suit_size,
        variant__product__category="Men/Suits",
        variant__product__arrived_on__gte=NEW_SINCE,
    ).select_related("variant__product")
    autumn_suits = [s for s in arrivals_in_his_size if "autumn" in s.variant.product.style_tags]
    assert len(autumn_suits) >= 2


@pytest.mark.slow
@pytest.mark.django_db
def test_s7_online_order_minutes_ago_misses_the_stated_need_and_an_alternative_is_in_stock(demo):
    # given
    client = story_client("story:s7-online-fit-check")
    need = client.needs.get()
    # when
    order = client.orders.get(placed_at__gte=NOW - dt.timedelta(minutes=10))
    ordered = order.lines.get()
    # then
    assert order.channel == OrderChannel.ONLINE
    assert order.status == OrderStatus.PLACED
    assert NOW - order.placed_at == dt.timedelta(minutes=8)
    assert need.budget == Decimal("600.00")
    assert "lightweight" in need.text
    assert "heavy" in ordered.product.style_tags
    assert "lightweight" not in ordered.product.style_tags
    alternatives = [
        stock.variant.product
        for stock in Stock.objects.filter(
            store=order.store,
            quantity__gt=0,
            variant__size=ordered.variant.size,
            variant__product__category=ordered.product.category,
        ).select_related("variant__product")
        if "lightweight" in stock.variant.product.style_tags
        and stock.variant.product.colour in ("navy", "charcoal", "black")
        and stock.variant.product.price <= need.budget
        and abs(stock.variant.product.price - ordered.unit_price) <= Decimal("50")
    ]
    assert [p.title for p in alternatives] == ["Tropical Wool Travel Suit"]


@pytest.mark.slow
@pytest.mark.django_db
def test_s8_order_was_cancelled_within_the_hour_with_a_refund(demo):
    # given
    client = story_client("story:s8-cancellation")
    # when
    order = client.orders.get(cancelled_at__gte=NOW - dt.timedelta(hours=1))
    refund = order.refunds.get()
    # then
    assert order.status == OrderStatus.CANCELLED
    assert NOW - order.cancelled_at == dt.timedelta(minutes=20)
    assert refund.amount == order.total == order.refunded_amount
    assert NOW - dt.timedelta(hours=1) < refund.created_at <= NOW


@pytest.mark.slow
@pytest.mark.django_db
def test_s1_many_clients_wear_a_size_of_a_new_arrival_in_stock_in_their_store(demo):
    # given
    arrivals = Product.objects.filter(arrived_on__gte=NEW_SINCE)
    in_stock = {
        (store_id, category, size)
        for store_id, category, size in Stock.objects.filter(
            variant__product__in=arrivals, quantity__gt=0
        ).values_list("store_id", "variant__product__category", "variant__size")
    }
    # when
    matching = {
        s.client_id
        for s in Size.objects.select_related("client")
        if (s.client.store_id, s.category, s.size) in in_stock
    }
    # then
    assert 13 <= arrivals.count() <= 17
    assert len(matching) >= 100
    for client in Client.objects.filter(tags__name="story:s1-new-arrivals"):
        brands = set(
            client.preferences.filter(dimension="brand", likes=True).values_list("value", flat=True)
        )
        colours = set(
            client.preferences.filter(dimension="colour", likes=True).values_list(
                "value", flat=True
            )
        )
        fits = Stock.objects.filter(
            store=client.store,
            quantity__gt=0,
            variant__product__in=arrivals,
            variant__product__brand__in=brands,
            variant__colour__in=colours,
            variant__size__in=client.sizes.values_list("size", flat=True),
        )
        assert fits.exists(), client.full_name


@pytest.mark.slow
@pytest.mark.django_db
def test_s6_left_behind_order_and_a_cheap_complement_in_stock(demo):
    # given
    client = story_client("story:s6-left-behind")
    # when
    order = client.orders.order_by("-placed_at").first()
    categories = set(order.lines.values_list("product__category", flat=True))
    care_kit = Stock.objects.get(store=client.store, variant__product__title="Shoe Care Kit")
    # then
    assert client.tags.filter(name="left-behind").exists()
    assert order.note.startswith("Left behind:")
    assert NOW - order.placed_at < dt.timedelta(days=2)
    assert "Shoes/Men" in categories
    assert care_kit.quantity > 0
    assert care_kit.variant.product.price < Decimal("50")
    together = (
        Order.objects.filter(lines__product__category="Shoes/Men")
        .filter(lines__product__title="Shoe Care Kit")
        .distinct()
        .count()
    )
    assert together >= 20


@pytest.mark.slow
@pytest.mark.django_db
def test_s4_urgent_need_for_saturday_and_birthdays_in_the_coming_week(demo):
    # given
    client = story_client("story:s4-urgent-saturday")
    # when
    need = client.needs.get()
    birthdays = upcoming_birthdays(today=TODAY, days=7)
    anniversaries = ImportantDate.objects.filter(
        kind=DateKind.ANNIVERSARY, month=6, day__in=range(25, 31)
    ) | ImportantDate.objects.filter(kind=DateKind.ANNIVERSARY, month=7, day__in=range(1, 3))
    # then
    assert "Saturday June 21" in need.text
    assert client.notes.filter(body__contains="Saturday").exists()
    assert len(birthdays) >= 5
    assert anniversaries.count() >= 4


@pytest.mark.slow
@pytest.mark.django_db
def test_every_story_is_listed_once_with_its_client(demo):
    # when
    stories = story_clients()
    # then
    assert {s.tag for s in stories} == set(STORY_TAGS)
    assert [s.name for s in stories if s.tag == "story:s2-suit-season"] == ["Edmund Ashcroft"]
    assert len([s for s in stories if s.tag == "story:s1-new-arrivals"]) == 4
    for story in stories:
        assert Client.objects.get(
            first_name=story.name.split()[0], tags__name=story.tag
        ).notes.exists()
    fan = story_client("story:s9-raving-fan")
    assert Relation.objects.filter(other=fan, kind=RelationKind.REFERRED_BY).count() == 4


@pytest.mark.slow
@pytest.mark.django_db
def test_every_product_has_a_photo_file_that_opens(demo):
    # when
    photos = list(Photo.objects.select_related("product"))
    # then
    assert len(photos) == Product.objects.count()
    for photo in photos:
        path = Path(settings.MEDIA_ROOT) / photo.image.name
        assert path.is_file(), path
        with Image.open(path) as image:
            assert image.size == (480, 600)
            assert image.format == "JPEG"


@pytest.mark.slow
@pytest.mark.django_db
def test_staff_passwords_are_argon2_and_the_printed_ones_work(demo):
    # when
    users = {u.username: u for u in User.objects.all()}
    # then
    assert set(users) == {s.username for s in STAFF}
    assert all(u.password.startswith("argon2$argon2id$") for u in users.values())
    admin = next(s for s in STAFF if s.username == "admin")
    assert users["admin"].check_password(admin.password)
    assert users["admin"].is_superuser


@pytest.mark.slow
@pytest.mark.django_db
def test_client_book_is_rich_and_consistent(demo):
    # given
    clients = list(Client.objects.all())
    in_force: dict[tuple[int, str], bool] = {}
    for client_id, channel, granted in Consent.objects.order_by("recorded_at", "id").values_list(
        "client_id", "channel", "granted"
    ):
        in_force[(client_id, channel)] = granted  # the latest decision wins
    # when
    email_yes = sum(1 for c in clients if in_force.get((c.id, Channel.EMAIL)))
    sms_yes = sum(1 for c in clients if in_force.get((c.id, Channel.SMS)))
    refused = Consent.objects.filter(granted=False).values("client").distinct().count()
    languages = set(Client.objects.values_list("language", flat=True))
    sizes = {(s.client_id, s.category): s.size for s in Size.objects.all()}
    lines = OrderLine.objects.filter(order__client__isnull=False).select_related(
        "order", "product", "variant"
    )
    # then
    assert email_yes > 300
    assert 50 < sms_yes < email_yes
    assert refused > 20
    assert languages == {"en", "es", "fr", "zh"}
    for client in clients:
        if client.phone:
            assert phonenumbers.is_possible_number(phonenumbers.parse(client.phone))
            assert client.phone.startswith("+1")
    for line in lines:
        recorded = sizes.get((line.order.client_id, line.product.category))
        if recorded is not None:
            assert line.variant.size == recorded
    assert Relation.objects.filter(kind=RelationKind.HOUSEHOLD).count() >= 4
    assert Preference.objects.filter(source="observed").exists()


@pytest.mark.slow
@pytest.mark.django_db
def test_orders_follow_the_brands_clients_say_they_like(demo):
    # given
    liked: dict[int, set[str]] = {}
    for client_id, brand in Preference.objects.filter(
        dimension="brand", likes=True, source="stated"
    ).values_list("client_id", "value"):
        liked.setdefault(client_id, set()).add(brand)
    brands_by_category: dict[str, list[str]] = {}
    for category, brand in Product.objects.values_list("category", "brand"):
        brands_by_category.setdefault(category, []).append(brand)
    # when
    hits = 0
    expected = 0.0
    for client_id, category, brand in OrderLine.objects.filter(
        order__client_id__in=liked
    ).values_list("order__client_id", "product__category", "product__brand"):
        offered = brands_by_category[category]
        hits += brand in liked[client_id]
        expected += sum(b in liked[client_id] for b in offered) / len(offered)
    # then: liked brands are bought well beyond what picking at random in the category gives
    assert hits > 1.4 * expected
