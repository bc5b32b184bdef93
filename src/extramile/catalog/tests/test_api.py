import datetime as dt
from decimal import Decimal

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.test import Client as HttpClient

from extramile.catalog.models import Photo, Product
from tests.api_helpers import bearer, get, ids
from tests.factories import ProductFactory, StockFactory, VariantFactory


@pytest.fixture
def suit(store_a, store_b):
    product = ProductFactory(
        external_ref="SUIT-1",
        title="Navy suit",
        brand="Brioni",
        category="Apparel/Suits",
        colour="navy",
        material="wool",
        style_tags=["classic"],
        price=Decimal("900.00"),
        arrived_on=dt.date(2025, 2, 1),
    )
    small = VariantFactory(product=product, sku="SUIT-1-38R", size="38R", price=None)
    large = VariantFactory(product=product, sku="SUIT-1-42R", size="42R", price=Decimal("950"))
    StockFactory(variant=small, store=store_a, quantity=2)
    StockFactory(variant=small, store=store_b, quantity=5)
    StockFactory(variant=large, store=store_b, quantity=1)
    Photo.objects.create(product=product, source_url="https://cdn.example.com/suit.jpg")
    Photo.objects.create(product=product, image="products/suit-back.jpg", position=1)
    return product


@pytest.mark.django_db
def test_read_gives_the_product_with_variants_photos_and_own_store_stock(suit, associate_a):
    # when
    response = get(associate_a, f"/api/v1/products/{suit.pk}")
    # then
    assert response.status_code == 200
    small, large = suit.variants.order_by("sku")
    assert response.json() == {
        "id": suit.pk,
        "external_ref": "SUIT-1",
        "title": "Navy suit",
        "brand": "Brioni",
        "category": "Apparel/Suits",
        "colour": "navy",
        "material": "wool",
        "style_tags": ["classic"],
        "description": "",
        "price": "900.00",
        "currency": "USD",
        "arrived_on": "2025-02-01",
        "status": "active",
        "photos": [
            "https://cdn.example.com/suit.jpg",
            "http://testserver/media/products/suit-back.jpg",
        ],
        "variants": [
            {
                "id": small.pk,
                "sku": "SUIT-1-38R",
                "size": "38R",
                "colour": "",
                "price": "900.00",
                "barcode": "",
                "stock": [{"store": "uptown", "quantity": 2}],
            },
            {
                "id": large.pk,
                "sku": "SUIT-1-42R",
                "size": "42R",
                "colour": "",
                "price": "950.00",
                "barcode": "",
                "stock": [],
            },
        ],
        "updated_at": DjangoJSONEncoder().default(Product.objects.get().updated_at),
    }


@pytest.mark.django_db
def test_admin_sees_the_stock_of_every_store(suit, admin_user):
    # when
    response = get(admin_user, f"/api/v1/products/{suit.pk}")
    # then
    assert [variant["stock"] for variant in response.json()["variants"]] == [
        [{"store": "harbour", "quantity": 5}, {"store": "uptown", "quantity": 2}],
        [{"store": "harbour", "quantity": 1}],
    ]


@pytest.mark.django_db
def test_manager_sees_the_shared_catalog_with_their_store_stock(suit, manager_a):
    # given
    other = ProductFactory(title="Belt")
    # when
    response = get(manager_a, "/api/v1/products")
    # then
    assert response.json()["count"] == 2
    assert ids(response) == [other.pk, suit.pk]
    assert [v["stock"] for v in response.json()["items"][1]["variants"]] == [
        [{"store": "uptown", "quantity": 2}],
        [],
    ]


@pytest.mark.django_db
def test_read_of_an_unknown_product_is_404(associate_a):
    # when
    response = get(associate_a, "/api/v1/products/999")
    # then
    assert response.status_code == 404


@pytest.mark.django_db
def test_list_filters_by_words_category_brand_and_arrival(suit, associate_a):
    # given
    shoes = ProductFactory(
        title="Oxford shoes", brand="Church's", category="Shoes", arrived_on=dt.date(2025, 1, 5)
    )
    shirts = ProductFactory(title="Shirt", category="Apparel/Shirts", arrived_on=None)
    VariantFactory(product=shirts, sku="SH-ZEBRA-M")
    # when
    by_word = get(associate_a, "/api/v1/products", q="navy brioni")
    by_sku = get(associate_a, "/api/v1/products", q="zebra")
    by_path = get(associate_a, "/api/v1/products", category="Apparel")
    by_leaf = get(associate_a, "/api/v1/products", category="apparel/suits")
    by_brand = get(associate_a, "/api/v1/products", brand="church's")
    arrived = get(associate_a, "/api/v1/products", arrived_since="2025-01-31")
    # then
    assert ids(by_word) == [suit.pk]
    assert ids(by_sku) == [shirts.pk]
    assert ids(by_path) == [suit.pk, shirts.pk]
    assert ids(by_leaf) == [suit.pk]
    assert ids(by_brand) == [shoes.pk]
    assert ids(arrived) == [suit.pk]


@pytest.mark.django_db
def test_in_stock_counts_only_the_stock_one_may_see(store_a, store_b, associate_a, admin_user):
    # given
    here = ProductFactory(title="A here")
    StockFactory(variant__product=here, store=store_a, quantity=1)
    there = ProductFactory(title="B there")
    StockFactory(variant__product=there, store=store_b, quantity=4)
    sold_out = ProductFactory(title="C sold out")
    StockFactory(variant__product=sold_out, store=store_a, quantity=0)
    # when
    associate_in = get(associate_a, "/api/v1/products", in_stock="true")
    associate_out = get(associate_a, "/api/v1/products", in_stock="false")
    admin_in = get(admin_user, "/api/v1/products", in_stock="true")
    # then
    assert ids(associate_in) == [here.pk]
    assert ids(associate_out) == [there.pk, sold_out.pk]
    assert ids(admin_in) == [here.pk, there.pk]


@pytest.mark.django_db
def test_a_page_of_20_products_takes_a_fixed_number_of_queries(
    store_a, store_b, associate_a, django_assert_max_num_queries
):
    # given
    for n in range(20):
        product = ProductFactory(title=f"Product {n:02d}")
        for size in ("S", "M"):
            variant = VariantFactory(product=product, size=size)
            StockFactory(variant=variant, store=store_a)
            StockFactory(variant=variant, store=store_b)
        Photo.objects.create(product=product, source_url=f"https://cdn.example.com/{n}.jpg")
    headers = bearer(associate_a)
    http = HttpClient()
    # when
    # token look-up 1 (+1 last-use stamp), count 1, page 1, variants 1, stock 1, photos 1
    with django_assert_max_num_queries(7):
        response = http.get("/api/v1/products", {"page_size": 20}, **headers)
    # then
    assert response.status_code == 200
    assert len(response.json()["items"]) == 20
    assert response.json()["items"][0]["variants"][0]["stock"] == [
        {"store": "uptown", "quantity": 3}
    ]
