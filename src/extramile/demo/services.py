"""Use cases of the demo store: load it, tell whether it is loaded, wipe it, describe it."""

from __future__ import annotations

import datetime as dt
import importlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from tqdm import tqdm

from extramile.accounts.models import Absence, Store, User
from extramile.catalog.models import Photo, Product, Stock, Variant
from extramile.clients.models import (
    Client,
    Consent,
    ContactPoint,
    DateKind,
    ImportantDate,
    Need,
    Note,
    Preference,
    Relation,
    Size,
    Tag,
)
from extramile.demo.generator import (
    DEMO_STORE_CODES,
    DEMO_USERNAMES,
    PRODUCT_REF_PREFIX,
    STAFF,
    STORY_TAGS,
    DemoData,
    StaffSpec,
    build_demo,
)
from extramile.demo.photos import draw_product_photo
from extramile.demo.story_events import record_story_events
from extramile.orders.models import Order, OrderLine, Refund
from extramile.programs.models import Story

DEFAULT_SEED = 2026
DEFAULT_CLIENTS = 500


@dataclass(frozen=True)
class StoryClient:
    """A client who carries one of the stories, as shown in the demo's summary."""

    tag: str
    about: str
    name: str
    store: str
    associate: str


def demo_is_loaded() -> bool:
    """Say whether the demo stores or logins are already in the database."""
    return (
        Store.objects.filter(code__in=DEMO_STORE_CODES).exists()
        or User.objects.filter(username__in=DEMO_USERNAMES).exists()
    )


@contextmanager
def _step(bar: tqdm, label: str) -> Iterator[None]:
    bar.set_postfix_str(label)
    yield
    bar.update(1)


def _write_photos(data: DemoData, *, progress: bool, written: list[str]) -> None:
    for photo in tqdm(
        data.photos, desc="drawing photos", unit=" photo", disable=not progress, leave=False
    ):
        product = photo.product
        photo.product = product  # the product has its id now; upload_to needs product_id
        jpeg = draw_product_photo(
            title=product.title,
            brand=product.brand,
            category=product.category,
            colour=product.colour,
            material=product.material,
            tags=product.style_tags,
        )
        photo.image.save(f"{product.external_ref.lower()}.jpg", ContentFile(jpeg), save=False)
        written.append(photo.image.name)
    Photo.objects.bulk_create(data.photos)


@transaction.atomic
def load_demo(
    *,
    seed: int = DEFAULT_SEED,
    now: dt.datetime,
    clients: int = DEFAULT_CLIENTS,
    progress: bool = False,
) -> DemoData:
    """Build the demo boutique for `now` and write it: stores, staff, catalog, clients, orders."""
    data = build_demo(seed=seed, now=now, clients=clients)
    written: list[str] = []
    try:
        _write_demo(data, progress=progress, written=written)
    except BaseException:
        # The rows roll back with the transaction; the photo files must go by hand.
        for name in written:
            default_storage.delete(name)
        raise
    record_story_events()
    for module in demo_extra_modules():
        module.load(now=now)
    return data


# The apps that add their own part of the demo (an on-call rota, a weekly plan, surveys…): each
# module exposes `load(*, now)`, run after the stores, clients and orders are written.
DEMO_EXTRA_MODULES = [
    "extramile.accounts.demo",
    "extramile.catalog.demo",
    "extramile.care.demo",
    "extramile.programs.demo",
    "extramile.loyalty.demo",
    "extramile.insight.demo",
]


def demo_extra_modules() -> list[ModuleType]:
    """Import and return every demo-extra module that exists."""
    found = []
    for path in DEMO_EXTRA_MODULES:
        try:
            found.append(importlib.import_module(path))
        except ModuleNotFoundError as exc:
            if exc.name != path:
                raise
    return found


def _write_demo(data: DemoData, *, progress: bool, written: list[str]) -> None:
    steps = ["stores and staff", "catalog", "photos", "clients", "client book", "orders"]
    with tqdm(total=len(steps), desc="demo store", disable=not progress, leave=False) as bar:
        with _step(bar, steps[0]):
            Store.objects.bulk_create(data.stores)
            for user, spec in data.staff:
                user.set_password(spec.password)  # Argon2, the first of PASSWORD_HASHERS
                user.save()
        with _step(bar, steps[1]):
            Product.objects.bulk_create(data.products)
            Variant.objects.bulk_create(data.variants)
            Stock.objects.bulk_create(data.stock)
        with _step(bar, steps[2]):
            _write_photos(data, progress=progress, written=written)
        with _step(bar, steps[3]):
            Client.objects.bulk_create(data.clients)
            tags = {
                name: Tag.objects.get_or_create(name=name)[0]
                for name in sorted({name for _, name in data.client_tags})
            }
            Client.tags.through.objects.bulk_create(
                [
                    Client.tags.through(client=client, tag=tags[name])
                    for client, name in data.client_tags
                ],
                ignore_conflicts=True,
            )
        with _step(bar, steps[4]):
            ContactPoint.objects.bulk_create(data.contact_points)
            Consent.objects.bulk_create(data.consents)
            ImportantDate.objects.bulk_create(data.dates)
            Size.objects.bulk_create(data.sizes)
            Preference.objects.bulk_create(data.preferences)
            Need.objects.bulk_create(data.needs)
            Note.objects.bulk_create(data.notes)
            Relation.objects.bulk_create(data.relations)
        with _step(bar, steps[5]):
            Order.objects.bulk_create(data.orders, batch_size=500)
            OrderLine.objects.bulk_create(data.lines, batch_size=500)
            Refund.objects.bulk_create(data.refunds)


def _delete_photo_files(product_ids: list[int]) -> None:
    root = Path(settings.MEDIA_ROOT) / "products"
    for product_id in product_ids:
        folder = root / str(product_id)
        if folder.is_dir():
            shutil.rmtree(folder)


@transaction.atomic
def reset_demo() -> None:
    """Delete the demo: its two stores with everything in them, its logins and its products."""
    stores = Store.objects.filter(code__in=DEMO_STORE_CODES)
    Order.objects.filter(store__in=stores).delete()
    Client.objects.filter(store__in=stores).delete()
    Stock.objects.filter(store__in=stores).delete()
    products = Product.objects.filter(external_ref__startswith=PRODUCT_REF_PREFIX)
    product_ids = list(products.values_list("id", flat=True))
    products.delete()
    staff = User.objects.filter(Q(username__in=DEMO_USERNAMES) | Q(store__in=stores))
    # Records that keep a member of staff (a story's author, an absence's backup) go first.
    Story.objects.filter(Q(store__in=stores) | Q(author__in=staff)).delete()
    Absence.objects.filter(Q(user__in=staff) | Q(backup__in=staff)).delete()
    staff.delete()
    stores.delete()
    Tag.objects.filter(clients__isnull=True).filter(
        Q(name__startswith="story:") | Q(name__in=["left-behind", "urgent"])
    ).delete()
    transaction.on_commit(lambda: _delete_photo_files(product_ids))


def story_clients() -> list[StoryClient]:
    """List the clients who carry the stories, in story order."""
    found: list[StoryClient] = []
    for tag, about in STORY_TAGS.items():
        clients = (
            Client.objects.filter(tags__name=tag)
            .select_related("store", "primary_associate")
            .order_by("id")
        )
        for client in clients:
            associate = client.primary_associate
            found.append(
                StoryClient(
                    tag=tag,
                    about=about,
                    name=client.full_name,
                    store=client.store.name,
                    associate=associate.display_name if associate else "",
                )
            )
    return found


def upcoming_birthdays(*, today: dt.date, days: int) -> list[Client]:
    """Return the clients of the demo stores whose birthday falls in the next `days` days."""
    wanted = [(d.month, d.day) for d in (today + dt.timedelta(days=n) for n in range(1, days + 1))]
    condition = Q()
    for month, day in wanted:
        condition |= Q(month=month, day=day)
    client_ids = ImportantDate.objects.filter(condition, kind=DateKind.BIRTHDAY).values("client_id")
    return list(
        Client.objects.filter(id__in=client_ids, store__code__in=DEMO_STORE_CODES)
        .select_related("store")
        .order_by("last_name", "first_name")
    )


def demo_logins() -> list[tuple[StaffSpec, User | None]]:
    """Return each demo login with its user row, if it still exists."""
    users = {u.username: u for u in User.objects.filter(username__in=DEMO_USERNAMES)}
    return [(spec, users.get(spec.username)) for spec in STAFF]
