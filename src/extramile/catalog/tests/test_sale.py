import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from extramile.catalog.models import Sale
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def sale(**fields) -> Sale:
    fields.setdefault("store", StoreFactory(code="uptown"))
    fields.setdefault("name", "Winter Sale")
    fields.setdefault("starts_on", dt.date(2026, 12, 3))
    fields.setdefault("ends_on", dt.date(2026, 12, 13))
    fields.setdefault("percent_off", 25)
    return Sale(**fields)


def test_a_valid_sale_passes_and_opens_its_preview_three_days_ahead():
    # given
    winter = sale(category_prefixes=["Men/Suits"])
    # when
    winter.full_clean()
    # then
    assert winter.preview_days == 3
    assert winter.preview_opens_on == dt.date(2026, 11, 30)
    assert winter.sale_price(Decimal("850.00")) == Decimal("637.50")
    assert winter.sale_price(Decimal("99.99")) == Decimal("74.99")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"ends_on": dt.date(2026, 12, 2)},
            "ends_on",
            "The sale ends on 2026-12-02 before it starts on 2026-12-03.",
        ),
        ({"percent_off": 0}, "percent_off", "A sale takes 1 to 90 percent off, not 0."),
        ({"percent_off": 91}, "percent_off", "A sale takes 1 to 90 percent off, not 91."),
        (
            {"category_prefixes": "Men/Suits"},
            "category_prefixes",
            'Give the categories as a list of paths, such as ["Men/Suits", "Men/Knitwear"].',
        ),
        (
            {"category_prefixes": ["Men/Suits", " / "]},
            "category_prefixes",
            'Give the categories as a list of paths, such as ["Men/Suits", "Men/Knitwear"].',
        ),
    ],
)
def test_a_sale_that_cannot_be_is_refused_with_the_field_and_why(fields, field, message):
    # given
    wrong = sale(**fields)
    # when
    with pytest.raises(ValidationError) as raised:
        wrong.full_clean()
    # then
    assert message in raised.value.message_dict[field]


@pytest.mark.parametrize(
    "fields", [{"ends_on": dt.date(2026, 12, 2)}, {"percent_off": 0}, {"percent_off": 95}]
)
def test_the_database_refuses_the_same(fields):
    # given / when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        sale(**fields).save()


def test_a_category_prefix_covers_its_whole_branch_level_by_level():
    # given
    winter = sale(category_prefixes=["Men/Suits", "women / knitwear"])
    # then
    assert winter.covers_category("Men/Suits")
    assert winter.covers_category("Men/Suits/Three-Piece")
    assert winter.covers_category("Women/Knitwear")
    assert not winter.covers_category("Men/Suitcases")
    assert not winter.covers_category("Men")
    assert not winter.covers_category("Women/Dresses")


def test_a_manager_lists_and_adds_their_own_stores_sales_only(store_a, store_b, manager_a, web_as):
    # given a sale in each store
    sale(store=store_a, name="Uptown Winter Sale").save()
    sale(store=store_b, name="Harbour Winter Sale").save()
    web = web_as(manager_a)
    # when
    listed = web.get(reverse("admin:catalog_sale_changelist"))
    added = web.post(
        reverse("admin:catalog_sale_add"),
        {
            "store": store_a.pk,
            "name": "Knitwear Weekend",
            "starts_on": "2026-12-05",
            "ends_on": "2026-12-06",
            "preview_days": "3",
            "percent_off": "20",
            "category_prefixes": '["Men/Knitwear"]',
            "note": "",
        },
    )
    refused = web.post(
        reverse("admin:catalog_sale_add"),
        {
            "store": store_b.pk,
            "name": "Not mine",
            "starts_on": "2026-12-05",
            "ends_on": "2026-12-06",
            "preview_days": "3",
            "percent_off": "20",
            "category_prefixes": "[]",
            "note": "",
        },
    )
    # then
    page = listed.content.decode()
    assert "Uptown Winter Sale" in page
    assert "Harbour Winter Sale" not in page
    assert added.status_code == 302
    assert Sale.objects.get(name="Knitwear Weekend").category_prefixes == ["Men/Knitwear"]
    assert refused.status_code == 200  # the form again: that store is not a choice
    assert not Sale.objects.filter(name="Not mine").exists()
