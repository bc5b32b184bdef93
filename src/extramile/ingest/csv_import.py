"""Import clients, products (variants and stock) and orders from CSV files, such as a POS export.

The formats are documented in docs/import.md, with a sample of each in ingest/samples/. Every
importer is idempotent (the same file twice changes nothing), refuses each bad row on its own
with its file, row, column and reason, keeps the good rows, and logs one InboundEvent per file.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from django.db import DatabaseError, models, transaction
from django.utils import timezone
from tqdm import tqdm

from extramile.accounts.models import Store, User
from extramile.catalog.models import Product, ProductStatus, Stock, Variant
from extramile.clients.models import Channel, ClientStatus, DateKind, PreferenceDimension
from extramile.ingest.changes import assign_changes
from extramile.ingest.clientbook import ClientBook, ClientData, ClientIndex
from extramile.ingest.csvfile import CsvFileError, CsvRow, CsvTable, read_csv
from extramile.ingest.fields import (
    FieldError,
    check_length,
    local_zone,
    parse_choice,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_email,
    parse_language,
    parse_month_day,
    parse_phone,
    parse_quantity,
    parse_time_zone,
    parse_yes_no,
    split_list,
    split_pairs,
)
from extramile.ingest.import_log import record_file_import
from extramile.ingest.report import ImportReport
from extramile.orders.models import Order, OrderChannel, OrderLine, OrderStatus

T = TypeVar("T")

SOURCE = "csv"
WRITE_CHUNK = 500
LOOKUP_BATCH = 900  # values per IN (...) query, well under SQLite's variable limit

CLIENT_COLUMNS = (
    "store",
    "client_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address",
    "language",
    "time_zone",
    "birthday",
    "anniversary",
    "sizes",
    "likes",
    "dislikes",
    "tags",
    "consent_email",
    "consent_sms",
    "consent_phone",
    "consent_mail",
    "consent_date",
    "consent_source",
    "associate",
    "note",
    "status",
)
CLIENT_REQUIRED = ("client_id", "first_name", "last_name")
CONSENT_COLUMNS = {
    "consent_email": Channel.EMAIL,
    "consent_sms": Channel.SMS,
    "consent_phone": Channel.PHONE,
    "consent_mail": Channel.MAIL,
}

PRODUCT_COLUMNS = (
    "product_ref",
    "title",
    "brand",
    "category",
    "colour",
    "material",
    "style_tags",
    "description",
    "price",
    "cost",
    "currency",
    "arrived_on",
    "status",
    "sku",
    "size",
    "variant_colour",
    "variant_price",
    "variant_cost",
    "barcode",
    "store",
    "quantity",
    "stock",
)
PRODUCT_REQUIRED = ("product_ref", "title", "sku")

# Columns about the whole order: its rows may leave them empty but must not disagree.
ORDER_LEVEL = (
    "store",
    "client_id",
    "client_email",
    "channel",
    "status",
    "placed_at",
    "fulfilled_at",
    "cancelled_at",
    "cancel_reason",
    "refunded_at",
    "refunded_amount",
    "currency",
    "associate",
    "note",
)
ORDER_COLUMNS = ("order_ref", *ORDER_LEVEL, "sku", "quantity", "unit_price")
ORDER_REQUIRED = ("order_ref", "placed_at", "sku", "quantity")

STATUS_CHOICES = {
    "active": ClientStatus.ACTIVE,
    "lapsed": ClientStatus.LAPSED,
    "archived": ClientStatus.ARCHIVED,
}
# Keys as written in a file, after lower-casing and turning "_" and "-" into spaces.
DIMENSIONS = {value.replace("_", " "): value for value in PreferenceDimension.values} | {
    "color": PreferenceDimension.COLOUR,
    "colours": PreferenceDimension.COLOUR,
    "styles": PreferenceDimension.STYLE,
    "brands": PreferenceDimension.BRAND,
}
CHANNELS = {value: value for value in OrderChannel.values} | {
    "pos": OrderChannel.STORE,
    "in store": OrderChannel.STORE,
    "web": OrderChannel.ONLINE,
    "shopify": OrderChannel.ONLINE,
    "telephone": OrderChannel.PHONE,
}
ORDER_STATUSES = {value: value for value in OrderStatus.values}
PRODUCT_STATUSES = {value: value for value in ProductStatus.values}


# --- Shared plumbing ---------------------------------------------------------------------------


class _Cells:
    """Reads the cells of one row through parsers, collecting every bad cell."""

    def __init__(self, row: CsvRow) -> None:
        self.row = row
        self.errors: list[FieldError] = []

    def text(self, column: str, *, limit: int | None = None) -> str:
        """Return the stripped cell ("" when empty), checking its length."""
        value = self.row.get(column)
        if value and limit is not None:
            try:
                check_length(column, value, limit)
            except FieldError as exc:
                self.errors.append(exc)
                return ""
        return value

    def parse(self, column: str, parser: Callable[[str, str], T]) -> T | None:
        """Return the parsed cell, or None when it is empty or bad (bad ones are collected)."""
        value = self.row.get(column)
        if not value:
            return None
        try:
            return parser(column, value)
        except FieldError as exc:
            self.errors.append(exc)
            return None

    def fail(self, column: str, message: str) -> None:
        """Collect a problem found beyond a single cell's parser."""
        self.errors.append(FieldError(column, message))


class _Lookups:
    """Stores and staff by the names that files use, read once per import."""

    def __init__(self, default_store: Store | None) -> None:
        self.default_store = default_store
        self.stores = {store.code.lower(): store for store in Store.objects.all()}
        self._users: dict[str, User | None] = {}

    def store(self, column: str, code: str) -> Store:
        """Return the store with this code, or raise FieldError naming the known ones."""
        store = self.stores.get(code.strip().lower())
        if store is None:
            known = ", ".join(sorted(s.code for s in self.stores.values())) or "none yet"
            raise FieldError(column, f"unknown store {code!r} (stores: {known})")
        return store

    def row_store(self, cells: _Cells) -> Store | None:
        """Return the row's store: its store cell, else the --store default."""
        if not cells.row.get("store"):
            if self.default_store is None:
                cells.fail("store", "empty, and no --store default was given")
            return self.default_store
        return cells.parse("store", self.store)

    def associate(self, column: str, username: str, *, store: Store | None) -> User:
        """Return the active member of staff of that store with this username, or raise."""
        username = username.strip()
        if username not in self._users:
            self._users[username] = (
                User.objects.select_related("store").filter(username=username).first()
            )
        user = self._users[username]
        if user is None:
            raise FieldError(column, f"no member of staff has the username {username!r}")
        if not user.is_active or user.deactivated_at is not None:
            raise FieldError(column, f"{username!r} is deactivated")
        if store is not None and user.store_id != store.pk:
            where = user.store.code if user.store else "no store"
            raise FieldError(column, f"{username!r} works at {where}, not {store.code}")
        return user


def _refuse(report: ImportReport, *, file: str, row: int, errors: Iterable[FieldError]) -> None:
    for error in errors:
        report.error(file=file, row=row, field=error.field, message=error.message)


def _progress(items: list[T], *, desc: str, enabled: bool) -> Iterator[T]:
    return iter(tqdm(items, desc=desc, unit="row", file=sys.stderr, disable=not enabled))


def _batches(values: list[T], size: int = LOOKUP_BATCH) -> Iterator[list[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _run(
    path: Path,
    *,
    kind: str,
    known: tuple[str, ...],
    required: tuple[str, ...],
    store: Store | None,
    store_needed: Callable[[CsvTable], bool],
    handle: Callable[[CsvTable, ImportReport, _Lookups], None],
) -> ImportReport:
    started = time.monotonic()
    report = ImportReport(source=f"csv {kind}")
    data = path.read_bytes()
    try:
        table = read_csv(data, name=path.name, known=known, required=required)
    except CsvFileError as exc:
        for column, message in exc.problems:
            report.error(file=path.name, row=None, field=column, message=message)
    else:
        if store is None and "store" not in table.columns and store_needed(table):
            report.error(
                file=path.name,
                row=None,
                field="store",
                message="the file has no store column and no --store default was given",
            )
        else:
            handle(table, report, _Lookups(store))
    report.seconds = time.monotonic() - started
    record_file_import(source=SOURCE, kind=kind, path=path, data=data, report=report)
    return report


# --- Clients -----------------------------------------------------------------------------------


def import_clients_csv(path: Path, *, store: Store | None, progress: bool) -> ImportReport:
    """Create or update clients from a clients CSV; each bad row is refused on its own."""

    def handle(table: CsvTable, report: ImportReport, lookups: _Lookups) -> None:
        book = ClientBook(report, file=table.name)
        for row in _progress(table.rows, desc=f"clients {table.name}", enabled=progress):
            cells = _Cells(row)
            data = _client_data(cells, lookups)
            if cells.errors or data is None:
                _refuse(report, file=table.name, row=row.number, errors=cells.errors)
                continue
            book.add(data)
        book.flush()

    return _run(
        path,
        kind="clients",
        known=CLIENT_COLUMNS,
        required=CLIENT_REQUIRED,
        store=store,
        store_needed=lambda table: True,
        handle=handle,
    )


def _client_data(cells: _Cells, lookups: _Lookups) -> ClientData | None:
    row = cells.row
    if row.extra_cells:
        cells.fail("columns", f"{row.extra_cells} more cell(s) than the header has columns")
    store = lookups.row_store(cells)
    external_ref = cells.text("client_id", limit=64)
    fields: dict[str, Any] = {
        "first_name": cells.text("first_name", limit=100),
        "last_name": cells.text("last_name", limit=100),
        "email": cells.parse("email", lambda f, v: check_length(f, parse_email(f, v), 254)),
        "phone": cells.parse("phone", parse_phone),
        "address": cells.text("address"),
        "language": cells.parse("language", parse_language),
        "time_zone": cells.parse("time_zone", parse_time_zone),
        "status": cells.parse("status", lambda f, v: parse_choice(f, v, STATUS_CHOICES)),
    }
    if not (external_ref or row.get("email") or row.get("phone")):
        cells.fail("client_id", "empty, and no email or phone to recognise the client by")
    associate = cells.parse("associate", lambda f, v: lookups.associate(f, v, store=store))
    if associate is not None:
        fields["primary_associate_id"] = associate.pk
    dates = {}
    for column, kind in (("birthday", DateKind.BIRTHDAY), ("anniversary", DateKind.ANNIVERSARY)):
        month_day = cells.parse(column, parse_month_day)
        if month_day is not None:
            dates[str(kind)] = month_day
    sizes = cells.parse("sizes", _parse_sizes) or {}
    likes = cells.parse("likes", _parse_preferences) or []
    dislikes = cells.parse("dislikes", _parse_preferences) or []
    preferences = dict.fromkeys(likes, True)
    liked = {(dimension, value.lower()) for dimension, value in likes}
    for key in dislikes:
        if (key[0], key[1].lower()) in liked:
            cells.fail("dislikes", f"{key[0]}:{key[1]} is also among the likes")
        preferences[key] = False
    tags = cells.parse("tags", _parse_tags) or []
    consents = {}
    for column, channel in CONSENT_COLUMNS.items():
        granted = cells.parse(column, parse_yes_no)
        if granted is not None:
            consents[str(channel)] = granted
    consent_at = None
    if store is not None:
        zone = local_zone(store.time_zone)
        consent_at = cells.parse("consent_date", lambda f, v: _past_moment(f, v, zone))
    if consents and consent_at is None and not row.get("consent_date"):
        cells.fail(
            "consent_date",
            "required when a consent column says yes or no: when did the client give it?",
        )
    source = cells.text("consent_source", limit=120) or "csv import"
    note = cells.text("note")
    if cells.errors or store is None:
        return None
    return ClientData(
        row=row.number,
        store=store,
        external_ref=external_ref,
        fields={k: v for k, v in fields.items() if v not in (None, "")},
        dates=dates,
        sizes=sizes,
        preferences=preferences,
        tags=tags,
        consents=consents,
        consent_at=consent_at,
        consent_source=source,
        notes=[note] if note else [],
    )


def _past_moment(column: str, text: str, zone: dt.tzinfo) -> dt.datetime:
    moment = parse_datetime(column, text, tz=zone)
    if moment > timezone.now():
        raise FieldError(column, f"{text!r} is in the future")
    return moment


def _parse_sizes(column: str, text: str) -> dict[str, str]:
    sizes: dict[str, str] = {}
    for category, size in split_pairs(column, text, example="suits=40R; shoes=9"):
        check_length(column, category, 100)
        check_length(column, size, 32)
        if category.lower() in (c.lower() for c in sizes):
            raise FieldError(column, f"category {category!r} appears twice")
        sizes[category] = size
    return sizes


def _parse_preferences(column: str, text: str) -> list[tuple[str, str]]:
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for dimension, value in split_pairs(column, text, example="brand:Canali; colour:navy"):
        key = parse_choice(column, re.sub(r"[_\-\s]+", " ", dimension), DIMENSIONS)
        found.setdefault((key, value.lower()), (key, check_length(column, value, 100)))
    return list(found.values())


def _parse_tags(column: str, text: str) -> list[str]:
    return [check_length(column, tag, 60) for tag in split_list(text, commas=True)]


# --- Products ----------------------------------------------------------------------------------


@dataclass
class _ProductRow:
    row: int
    ref: str
    product: dict[str, Any]
    sku: str
    variant: dict[str, Any]
    stock: dict[int, tuple[Store, int]] = field(default_factory=dict)


def import_products_csv(path: Path, *, store: Store | None, progress: bool) -> ImportReport:
    """Create or update products, their variants and stock from a products CSV (a row a SKU)."""

    def handle(table: CsvTable, report: ImportReport, lookups: _Lookups) -> None:
        writer = _ProductWriter(table, report)
        first_rows: dict[str, tuple[int, dict[str, Any]]] = {}
        sku_rows: dict[str, int] = {}
        for row in _progress(table.rows, desc=f"products {table.name}", enabled=progress):
            cells = _Cells(row)
            item = _product_row(cells, lookups)
            if item is not None and not cells.errors:
                _check_same_product(cells, item, first_rows)
                if item.sku in sku_rows:
                    cells.fail("sku", f"{item.sku!r} is already on row {sku_rows[item.sku]}")
            if cells.errors or item is None:
                _refuse(report, file=table.name, row=row.number, errors=cells.errors)
                continue
            sku_rows[item.sku] = row.number
            writer.add(item)
        writer.flush()

    return _run(
        path,
        kind="products",
        known=PRODUCT_COLUMNS,
        required=PRODUCT_REQUIRED,
        store=store,
        store_needed=lambda table: "quantity" in table.columns,
        handle=handle,
    )


def _product_row(cells: _Cells, lookups: _Lookups) -> _ProductRow | None:
    row = cells.row
    if row.extra_cells:
        cells.fail("columns", f"{row.extra_cells} more cell(s) than the header has columns")
    ref = cells.text("product_ref", limit=64)
    sku = cells.text("sku", limit=64)
    if not ref:
        cells.fail("product_ref", "empty: every row needs the product's reference")
    if not sku:
        cells.fail("sku", "empty: every row is one variant and needs its SKU")
    product: dict[str, Any] = {
        "title": cells.text("title", limit=255),
        "brand": cells.text("brand", limit=100),
        "category": cells.parse("category", _parse_category),
        "colour": cells.text("colour", limit=60),
        "material": cells.text("material", limit=100),
        "style_tags": cells.parse("style_tags", lambda f, v: split_list(v, commas=True)),
        "description": cells.text("description"),
        "price": cells.parse("price", parse_decimal),
        "cost": cells.parse("cost", parse_decimal),
        "currency": cells.parse("currency", _parse_currency),
        "arrived_on": cells.parse("arrived_on", parse_date),
        "status": cells.parse("status", lambda f, v: parse_choice(f, v, PRODUCT_STATUSES)),
    }
    variant: dict[str, Any] = {
        "size": cells.text("size", limit=32),
        "colour": cells.text("variant_colour", limit=60),
        "price": cells.parse("variant_price", parse_decimal),
        "cost": cells.parse("variant_cost", parse_decimal),
        "barcode": cells.text("barcode", limit=64),
    }
    stock: dict[int, tuple[Store, int]] = {}
    for code, text in cells.parse("stock", _parse_stock_pairs) or []:
        try:
            store = lookups.store("stock", code)
            stock[store.pk] = (store, parse_quantity("stock", text, allow_zero=True))
        except FieldError as exc:
            cells.errors.append(exc)
    if row.get("quantity"):
        row_store = lookups.row_store(cells)
        quantity = cells.parse("quantity", lambda f, v: parse_quantity(f, v, allow_zero=True))
        if row_store is not None and quantity is not None:
            if row_store.pk in stock and stock[row_store.pk][1] != quantity:
                cells.fail(
                    "quantity", f"{quantity} differs from the stock cell for {row_store.code}"
                )
            stock[row_store.pk] = (row_store, quantity)
    if cells.errors:
        return None
    return _ProductRow(
        row=row.number,
        ref=ref,
        product={k: v for k, v in product.items() if v not in (None, "", [])},
        sku=sku,
        variant={k: v for k, v in variant.items() if v not in (None, "")},
        stock=stock,
    )


def _parse_category(column: str, text: str) -> str:
    parts = [" ".join(p.split()) for p in re.split(r"[/>]", text)]
    if not all(parts):
        raise FieldError(column, f"{text!r} has an empty level; write it like Apparel/Suits")
    return check_length(column, "/".join(parts), 200)


def _parse_currency(column: str, text: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", text.strip()):
        raise FieldError(column, f"{text!r} is not a three-letter currency code such as USD")
    return text.strip().upper()


def _parse_stock_pairs(column: str, text: str) -> list[tuple[str, str]]:
    pairs = split_pairs(column, text, example="uptown=3; harbour=1")
    codes = [code.lower() for code, _ in pairs]
    for code in codes:
        if codes.count(code) > 1:
            raise FieldError(column, f"store {code!r} appears twice")
    return pairs


def _check_same_product(
    cells: _Cells, item: _ProductRow, first_rows: dict[str, tuple[int, dict[str, Any]]]
) -> None:
    """Let the rows of one product repeat its columns or leave them empty, not contradict."""
    if item.ref not in first_rows:
        first_rows[item.ref] = (item.row, dict(item.product))
        return
    first_row, known = first_rows[item.ref]
    for name, value in item.product.items():
        if name in known and known[name] != value:
            column = name
            cells.fail(
                column,
                f"{value!r} differs from row {first_row} of the same product_ref "
                f"{item.ref!r} ({known[name]!r})",
            )
    if not cells.errors:
        for name, value in item.product.items():
            known.setdefault(name, value)


class _ProductWriter:
    """Writes product rows in batches, each row in its own savepoint."""

    def __init__(self, table: CsvTable, report: ImportReport) -> None:
        self.report = report
        self.file = table.name
        refs = list({row.get("product_ref") for row in table.rows if row.get("product_ref")})
        skus = list({row.get("sku") for row in table.rows if row.get("sku")})
        self.products: dict[str, Product] = {}
        for batch in _batches(refs):
            self.products.update(Product.objects.in_bulk(batch, field_name="external_ref"))
        self.variants: dict[str, Variant] = {}
        for batch in _batches(skus):
            self.variants.update(
                Variant.objects.select_related("product").in_bulk(batch, field_name="sku")
            )
        self.stock: dict[tuple[int, int], Stock] = {}
        variant_ids = [v.pk for v in self.variants.values()]
        for id_batch in _batches(variant_ids):
            for stock in Stock.objects.filter(variant_id__in=id_batch):
                self.stock[(stock.variant_id, stock.store_id)] = stock
        self.pending: list[_ProductRow] = []

    def add(self, item: _ProductRow) -> None:
        """Queue a row; write when a batch is full."""
        self.pending.append(item)
        if len(self.pending) >= WRITE_CHUNK:
            self.flush()

    def flush(self) -> None:
        """Write the queued rows, each in a savepoint inside one transaction."""
        batch, self.pending = self.pending, []
        with transaction.atomic():
            for item in batch:
                try:
                    with transaction.atomic():
                        created, updated = self._write(item)
                except FieldError as exc:
                    self._forget(item)
                    self.report.error(
                        file=self.file, row=item.row, field=exc.field, message=exc.message
                    )
                    continue
                except DatabaseError as exc:
                    self._forget(item)
                    self.report.error(
                        file=self.file,
                        row=item.row,
                        field="row",
                        message=f"the database refused it: {exc}",
                    )
                    continue
                for kind in created:
                    self.report.count_created(kind)
                for kind in updated:
                    self.report.count_updated(kind)
                if not created and not updated:
                    self.report.unchanged += 1

    def _forget(self, item: _ProductRow) -> None:
        """Re-read what a failed row may have changed in memory but not in the database."""
        product = Product.objects.filter(external_ref=item.ref).first()
        variant = Variant.objects.select_related("product").filter(sku=item.sku).first()
        self.products.pop(item.ref, None)
        self.variants.pop(item.sku, None)
        if product is not None:
            self.products[item.ref] = product
        if variant is not None:
            self.variants[item.sku] = variant
            for stock in Stock.objects.filter(variant=variant):
                self.stock[(variant.pk, stock.store_id)] = stock

    def _write(self, item: _ProductRow) -> tuple[list[str], list[str]]:
        created: list[str] = []
        updated: list[str] = []
        product = self.products.get(item.ref)
        if product is None:
            if "title" not in item.product:
                raise FieldError("title", "required for a new product")
            product = Product.objects.create(external_ref=item.ref, **item.product)
            created.append("products")
        elif _save_changes(product, item.product):
            updated.append("products")
        variant = self.variants.get(item.sku)
        if variant is None:
            variant = Variant.objects.create(product=product, sku=item.sku, **item.variant)
            created.append("variants")
        else:
            if variant.product_id != product.pk:
                raise FieldError(
                    "sku",
                    f"{item.sku!r} belongs to product {variant.product.external_ref!r}, "
                    f"not {item.ref!r}",
                )
            if _save_changes(variant, item.variant):
                updated.append("variants")
        new_stock = {}
        for store_id, (store, quantity) in item.stock.items():
            stock = self.stock.get((variant.pk, store_id))
            if stock is None:
                new_stock[(variant.pk, store_id)] = Stock.objects.create(
                    variant=variant, store=store, quantity=quantity
                )
                created.append("stock")
            elif _save_changes(stock, {"quantity": quantity}):
                updated.append("stock")
        # Only now that every write of the row went through does memory follow the database.
        self.products[item.ref] = product
        self.variants[item.sku] = variant
        self.stock.update(new_stock)
        return created, updated


def _save_changes(obj: models.Model, values: dict[str, Any]) -> bool:
    """Set the values that differ and save just those; return whether anything changed."""
    changed = assign_changes(obj, values)
    if changed:
        # A save limited to update_fields leaves an auto_now field alone unless it is named.
        stamp = ["updated_at"] if hasattr(obj, "updated_at") else []
        obj.save(update_fields=changed + stamp)
    return bool(changed)


# --- Orders ------------------------------------------------------------------------------------


@dataclass
class _Line:
    row: int
    sku: str
    quantity: int | None
    unit_price: Decimal | None


@dataclass
class _OrderGroup:
    """The rows of one order_ref: its lines and, per order-level column, the first value."""

    ref: str
    rows: list[int] = field(default_factory=list)
    lines: list[_Line] = field(default_factory=list)
    values: dict[str, tuple[int, str]] = field(default_factory=dict)  # column -> (row, text)
    errors: list[tuple[int, FieldError]] = field(default_factory=list)


@dataclass
class _OrderPlan:
    ref: str
    rows: list[int]
    fields: dict[str, Any]  # only what the file says; the rest of an existing order stays
    lines: list[tuple[Variant, int, Decimal]]
    currency: str  # for a new order whose rows name no currency: the store's


def import_orders_csv(path: Path, *, store: Store | None, progress: bool) -> ImportReport:
    """Create or update orders from an orders CSV (a row per line, grouped by order_ref)."""

    def handle(table: CsvTable, report: ImportReport, lookups: _Lookups) -> None:
        groups = _group_order_rows(table, report)
        variants = _variants_for(table)
        index = ClientIndex()
        plans: list[_OrderPlan] = []
        for group in groups.values():
            plan = _plan_order(group, lookups=lookups, variants=variants, index=index)
            if isinstance(plan, _OrderPlan):
                plans.append(plan)
                continue
            span = _span(group.rows)
            for row, error in plan:
                report.error(
                    file=table.name,
                    row=row,
                    field=error.field,
                    message=f"{error.message} (order {group.ref!r}, {span}, was not imported)",
                )
        bar = tqdm(
            total=sum(len(p.rows) for p in plans),
            desc=f"orders {table.name}",
            unit="row",
            file=sys.stderr,
            disable=not progress,
        )
        for start in range(0, len(plans), WRITE_CHUNK):
            _write_orders(plans[start : start + WRITE_CHUNK], report=report, file=table.name)
            bar.update(sum(len(p.rows) for p in plans[start : start + WRITE_CHUNK]))
        bar.close()

    return _run(
        path,
        kind="orders",
        known=ORDER_COLUMNS,
        required=ORDER_REQUIRED,
        store=store,
        store_needed=lambda table: True,
        handle=handle,
    )


def _span(rows: list[int]) -> str:
    return f"row {rows[0]}" if len(rows) == 1 else f"rows {', '.join(map(str, rows))}"


def _group_order_rows(table: CsvTable, report: ImportReport) -> dict[str, _OrderGroup]:
    groups: dict[str, _OrderGroup] = {}
    for row in table.rows:
        cells = _Cells(row)
        if row.extra_cells:
            cells.fail("columns", f"{row.extra_cells} more cell(s) than the header has columns")
        ref = cells.text("order_ref", limit=64)
        if not ref:
            cells.fail("order_ref", "empty: every row is a line of an order and needs its ref")
            _refuse(report, file=table.name, row=row.number, errors=cells.errors)
            continue
        group = groups.setdefault(ref, _OrderGroup(ref=ref))
        group.rows.append(row.number)
        for column in ORDER_LEVEL:
            text = row.get(column)
            if not text:
                continue
            if column in group.values and group.values[column][1] != text:
                first_row, first = group.values[column]
                cells.fail(
                    column, f"{text!r} differs from row {first_row} of the same order ({first!r})"
                )
            group.values.setdefault(column, (row.number, text))
        sku = row.get("sku")
        if not sku:
            cells.fail("sku", "empty: every row is one line and needs the SKU sold")
        quantity = cells.parse("quantity", lambda f, v: parse_quantity(f, v, allow_zero=False))
        if not row.get("quantity"):
            cells.fail("quantity", "empty: how many units were sold?")
        unit_price = cells.parse("unit_price", parse_decimal)
        group.errors.extend((row.number, error) for error in cells.errors)
        if not cells.errors:
            group.lines.append(_Line(row.number, sku, quantity, unit_price))
    return groups


def _variants_for(table: CsvTable) -> dict[str, Variant]:
    skus = list({row.get("sku") for row in table.rows if row.get("sku")})
    found: dict[str, Variant] = {}
    for batch in _batches(skus):
        found.update(Variant.objects.select_related("product").in_bulk(batch, field_name="sku"))
    return found


def _plan_order(
    group: _OrderGroup,
    *,
    lookups: _Lookups,
    variants: dict[str, Variant],
    index: ClientIndex,
) -> _OrderPlan | list[tuple[int, FieldError]]:
    """Check one order's rows together; return what to write, or every problem found."""
    if group.errors:
        return group.errors
    problems: list[tuple[int, FieldError]] = []
    first = group.rows[0]

    def value(column: str, parser: Callable[[str, str], T]) -> T | None:
        if column not in group.values:
            return None
        row, text = group.values[column]
        try:
            return parser(column, text)
        except FieldError as exc:
            problems.append((row, exc))
            return None

    def fail(column: str, message: str) -> None:
        row = group.values[column][0] if column in group.values else first
        problems.append((row, FieldError(column, message)))

    store: Store | None = lookups.default_store
    if "store" in group.values:
        store = value("store", lookups.store)
        if store is None:
            return problems
    if store is None:
        fail("store", "empty, and no --store default was given")
        return problems
    zone = local_zone(store.time_zone)
    fields: dict[str, Any] = {"store_id": store.pk}

    def moment(column: str) -> dt.datetime | None:
        return value(column, lambda f, v: parse_datetime(f, v, tz=zone))

    placed_at = moment("placed_at")
    if "placed_at" not in group.values:
        fail("placed_at", "empty on every row of the order: when was it placed?")
    fields["placed_at"] = placed_at
    for column in ("fulfilled_at", "cancelled_at", "refunded_at"):
        at = moment(column)
        if at is not None and placed_at is not None and at < placed_at:
            fail(column, f"{group.values[column][1]!r} is before placed_at")
        fields[column] = at
    fields["channel"] = value("channel", lambda f, v: parse_choice(f, v, CHANNELS))
    status = value("status", lambda f, v: parse_choice(f, v, ORDER_STATUSES))
    if status is None and "status" not in group.values:
        for column, derived in (
            ("refunded_at", OrderStatus.REFUNDED),
            ("cancelled_at", OrderStatus.CANCELLED),
            ("fulfilled_at", OrderStatus.FULFILLED),
        ):
            if fields[column] is not None:
                status = str(derived)
                break
    fields["status"] = status
    fields["currency"] = value("currency", _parse_currency)
    fields["cancel_reason"] = value("cancel_reason", lambda f, v: check_length(f, v, 255))
    fields["note"] = group.values["note"][1] if "note" in group.values else None
    refunded_amount = value("refunded_amount", parse_decimal)

    if "client_id" in group.values:
        ref = group.values["client_id"][1]
        client_id = index.by_ref(store.pk, ref)
        if client_id is None:
            fail("client_id", f"no client {ref!r} in store {store.code} (import clients first)")
        fields["client_id"] = client_id
    elif "client_email" in group.values:
        email = value("client_email", parse_email)
        client_id = index.by_email(store.pk, email) if email else None
        if email and client_id is None:
            fail("client_email", f"no client with email {email!r} in store {store.code}")
        fields["client_id"] = client_id
    associate = value("associate", lambda f, v: lookups.associate(f, v, store=store))
    fields["associate_id"] = associate.pk if associate is not None else None

    lines: list[tuple[Variant, int, Decimal]] = []
    for line in group.lines:
        variant = variants.get(line.sku)
        if variant is None:
            problems.append((line.row, FieldError("sku", f"unknown sku {line.sku!r}")))
            continue
        price = line.unit_price if line.unit_price is not None else variant.effective_price
        if price is None:
            problems.append(
                (line.row, FieldError("unit_price", "empty, and the product has no price"))
            )
            continue
        assert line.quantity is not None
        lines.append((variant, line.quantity, price))
    total = sum((price * quantity for _, quantity, price in lines), Decimal("0.00"))
    fields["total"] = total
    if refunded_amount is not None:
        if refunded_amount > total:
            fail("refunded_amount", f"{refunded_amount} is more than the order total {total}")
        fields["refunded_amount"] = refunded_amount
    elif status == OrderStatus.REFUNDED:
        fields["refunded_amount"] = total
    if problems:
        return problems
    said = {k: v for k, v in fields.items() if v is not None}
    return _OrderPlan(
        ref=group.ref, rows=group.rows, fields=said, lines=lines, currency=store.currency
    )


def _write_orders(plans: list[_OrderPlan], *, report: ImportReport, file: str) -> None:
    existing = Order.objects.in_bulk([p.ref for p in plans], field_name="external_ref")
    lines: dict[int, list[OrderLine]] = {}
    for line in OrderLine.objects.filter(order__in=existing.values()).order_by("id"):
        lines.setdefault(line.order_id, []).append(line)
    changed: list[str] = []
    with transaction.atomic():
        for plan in plans:
            order = existing.get(plan.ref)
            try:
                with transaction.atomic():
                    created, updated = _write_order(
                        plan, order, [] if order is None else lines.get(order.pk, [])
                    )
            except DatabaseError as exc:
                report.error(
                    file=file,
                    row=plan.rows[0],
                    field="order_ref",
                    message=f"the database refused order {plan.ref!r}: {exc}",
                )
                continue
            for kind, n in created.items():
                report.count_created(kind, n)
            for kind, n in updated.items():
                report.count_updated(kind, n)
            if not created and not updated:
                report.unchanged += len(plan.rows)
            else:
                changed.append(plan.ref)
        _record_order_events(changed)


def _record_order_events(refs: list[str]) -> None:
    """Record what the import did to these orders as documented events (docs/events.md)."""
    from extramile.moments.events import record_imported_order_events

    if refs:
        record_imported_order_events(
            Order.objects.filter(external_ref__in=refs)
            .select_related("store", "client", "associate")
            .prefetch_related("lines")
            .order_by("placed_at", "id")
        )


def _write_order(
    plan: _OrderPlan, order: Order | None, old_lines: list[OrderLine]
) -> tuple[dict[str, int], dict[str, int]]:
    created: dict[str, int] = {}
    updated: dict[str, int] = {}
    fields = plan.fields
    if order is None:
        order = Order.objects.create(external_ref=plan.ref, **{"currency": plan.currency, **fields})
        created["orders"] = 1
    elif _save_changes(order, fields):
        updated["orders"] = 1
    # Lines are matched on (sku, how many times that sku came before in the order), so a
    # re-import updates them in place and a reordered file does not duplicate them.
    by_key: dict[tuple[str, int], OrderLine] = {}
    seen: dict[str, int] = {}
    for line in old_lines:
        seen[line.sku] = seen.get(line.sku, 0) + 1
        by_key[(line.sku, seen[line.sku])] = line
    seen = {}
    new_lines: list[OrderLine] = []
    for variant, quantity, price in plan.lines:
        seen[variant.sku] = seen.get(variant.sku, 0) + 1
        values = {
            "variant_id": variant.pk,
            "product_id": variant.product_id,
            "title": variant.product.title[:255],
            "quantity": quantity,
            "unit_price": price,
            "unit_cost": variant.cost if variant.cost is not None else variant.product.cost,
        }
        key = (variant.sku, seen[variant.sku])
        current: OrderLine | None = by_key.pop(key, None)
        if current is None:
            new_lines.append(OrderLine(order=order, sku=variant.sku, **values))
            continue
        if _save_changes(current, values):
            updated["order_lines"] = updated.get("order_lines", 0) + 1
    if new_lines:
        OrderLine.objects.bulk_create(new_lines)
        created["order_lines"] = len(new_lines)
    if by_key:
        OrderLine.objects.filter(pk__in=[old.pk for old in by_key.values()]).delete()
        updated["order_lines_removed"] = len(by_key)
    return created, updated
