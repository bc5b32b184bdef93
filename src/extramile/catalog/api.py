"""REST routes of the catalog: products with their variants, photos and stock.

The catalog is shared: every member of staff sees every product. Stock is not: associates and
managers see the units of their own store only, admins those of every store (one row per
store that holds the variant). Costs are left out of the API.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from extramile.accounts.access import scope_to_user
from extramile.accounts.models import User
from extramile.api_support import ErrorOut, Pagination, api_user
from extramile.catalog.models import Product, ProductStatus, Stock, Variant

router = Router(tags=["products"])


class StockOut(Schema):
    """Units of a variant on hand in one store."""

    store: str = Field(..., description="Store code.")
    quantity: int

    @staticmethod
    def resolve_store(obj: Stock) -> str:
        """Give the store's code."""
        return obj.store.code


class VariantOut(Schema):
    """A size and colour of a product, with the stock you may see."""

    id: int
    sku: str
    size: str
    colour: str
    price: Decimal | None = Field(..., description="The variant's own price, else the product's.")
    barcode: str
    stock: list[StockOut]

    @staticmethod
    def resolve_price(obj: Variant) -> Decimal | None:
        """Give the price a client pays for this variant."""
        return obj.effective_price


class ProductOut(Schema):
    """A product with its variants, photos and the stock you may see."""

    id: int
    external_ref: str
    title: str
    brand: str
    category: str
    colour: str
    material: str
    style_tags: list[str]
    description: str
    price: Decimal | None
    currency: str
    arrived_on: dt.date | None
    status: str
    photos: list[str] = Field(..., description="Absolute addresses, in display order.")
    variants: list[VariantOut]
    updated_at: dt.datetime

    @staticmethod
    def resolve_photos(obj: Product, context: dict[str, Any]) -> list[str]:
        """Give each photo's address, made absolute for files this server holds."""
        request = context["request"]
        return [request.build_absolute_uri(photo.url) for photo in obj.photos.all() if photo.url]


class ProductFilters(Schema):
    """Narrowing of the product list."""

    q: str = Field("", description="Words matching the title, brand, category, style code or SKU.")
    category: str | None = Field(
        None, description='A category path; "Apparel" also finds "Apparel/Suits".'
    )
    brand: str | None = None
    status: ProductStatus | None = None
    arrived_since: dt.date | None = None
    in_stock: bool | None = Field(
        None, description="Units on hand in a store whose stock you may see (true) or none."
    )


def _with_details(queryset: QuerySet[Product], user: User) -> QuerySet[Product]:
    stock = scope_to_user(Stock.objects.select_related("store"), user).order_by("store__code")
    variants = Variant.objects.prefetch_related(Prefetch("stock", queryset=stock))
    return queryset.prefetch_related(Prefetch("variants", queryset=variants), "photos")


@router.get("", response=list[ProductOut], summary="List and search products")
@paginate(Pagination)
def list_products(request: Any, filters: Query[ProductFilters]) -> QuerySet[Product]:
    """List the catalog, searched and filtered, by title."""
    user = api_user(request)
    products = Product.objects.order_by("title", "id")
    for word in filters.q.split():
        products = products.filter(
            Q(title__icontains=word)
            | Q(brand__icontains=word)
            | Q(category__icontains=word)
            | Q(external_ref__icontains=word)
            | Exists(Variant.objects.filter(product=OuterRef("pk"), sku__icontains=word))
        )
    if filters.category:
        path = filters.category.strip("/")
        products = products.filter(Q(category__iexact=path) | Q(category__istartswith=path + "/"))
    if filters.brand:
        products = products.filter(brand__iexact=filters.brand)
    if filters.status:
        products = products.filter(status=filters.status)
    if filters.arrived_since:
        products = products.filter(arrived_on__gte=filters.arrived_since)
    if filters.in_stock is not None:
        on_hand = scope_to_user(
            Stock.objects.filter(variant__product=OuterRef("pk"), quantity__gt=0), user
        )
        products = products.filter(Exists(on_hand) if filters.in_stock else ~Exists(on_hand))
    return _with_details(products, user)


@router.get(
    "/{int:product_id}", response={200: ProductOut, 404: ErrorOut}, summary="Read a product"
)
def read_product(request: Any, product_id: int) -> Product:
    """Read one product with its variants, photos and the stock you may see."""
    return get_object_or_404(_with_details(Product.objects.all(), api_user(request)), pk=product_id)
