"""REST routes of orders: list and read, with their lines, for the stores you may see.

Orders are scoped like clients (extramile.accounts.access.scope_to_user): another store's
order answers 404 and never shows in a list. Unit costs are left out of the API.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from extramile.accounts.access import scope_to_user
from extramile.api_support import ErrorOut, Pagination, api_user, aware
from extramile.orders.models import Order, OrderChannel, OrderLine, OrderStatus

router = Router(tags=["orders"])


class OrderLineOut(Schema):
    """One product in an order."""

    id: int
    product_id: int | None
    variant_id: int | None
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal

    @staticmethod
    def resolve_line_total(obj: OrderLine) -> Decimal:
        """Give quantity times unit price."""
        return obj.line_total


class OrderOut(Schema):
    """An order with its lines."""

    id: int
    external_ref: str
    store: str = Field(..., description="Store code.")
    client_id: int | None
    associate: str | None = Field(..., description="Username of the associate, or null.")
    channel: str
    status: str
    currency: str
    total: Decimal
    placed_at: dt.datetime
    fulfilled_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancel_reason: str
    refunded_at: dt.datetime | None
    refunded_amount: Decimal
    lines: list[OrderLineOut]

    @staticmethod
    def resolve_store(obj: Order) -> str:
        """Give the store's code."""
        return obj.store.code

    @staticmethod
    def resolve_associate(obj: Order) -> str | None:
        """Give the associate's username."""
        return obj.associate.username if obj.associate else None


class OrderFilters(Schema):
    """Narrowing of the order list."""

    client_id: int | None = None
    channel: OrderChannel | None = None
    status: OrderStatus | None = None
    placed_since: dt.datetime | None = Field(
        None, description="ISO 8601, inclusive; without an offset, read in the server's time zone."
    )
    placed_until: dt.datetime | None = Field(
        None, description="ISO 8601, exclusive; without an offset, read in the server's time zone."
    )


def _with_details(queryset: QuerySet[Order]) -> QuerySet[Order]:
    return queryset.select_related("store", "associate").prefetch_related("lines")


@router.get("", response=list[OrderOut], summary="List orders")
@paginate(Pagination)
def list_orders(request: Any, filters: Query[OrderFilters]) -> QuerySet[Order]:
    """List the orders you may see, newest first."""
    orders = scope_to_user(Order.objects.order_by("-placed_at", "-id"), api_user(request))
    if filters.client_id is not None:
        orders = orders.filter(client_id=filters.client_id)
    if filters.channel:
        orders = orders.filter(channel=filters.channel)
    if filters.status:
        orders = orders.filter(status=filters.status)
    if filters.placed_since:
        orders = orders.filter(placed_at__gte=aware(filters.placed_since))
    if filters.placed_until:
        orders = orders.filter(placed_at__lt=aware(filters.placed_until))
    return _with_details(orders)


@router.get("/{int:order_id}", response={200: OrderOut, 404: ErrorOut}, summary="Read an order")
def read_order(request: Any, order_id: int) -> Order:
    """Read one order of a store you may see."""
    scoped = scope_to_user(Order.objects.all(), api_user(request))
    return get_object_or_404(_with_details(scoped), pk=order_id)
