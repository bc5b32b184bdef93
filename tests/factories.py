"""factory-boy factories shared by every app's tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from extramile.accounts.models import Role, Store, User
from extramile.catalog.models import Product, Stock, Variant
from extramile.clients.models import Client
from extramile.orders.models import Order, OrderLine


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"store-{n}")
    name = factory.Sequence(lambda n: f"Store {n}")
    time_zone = "America/New_York"


class UserFactory(factory.django.DjangoModelFactory):
    """Staff with an unusable password; pass password="…" to log in (hashed with Argon2)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.ASSOCIATE
    store = factory.SubFactory(StoreFactory)

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs: object) -> None:
        if extracted:
            obj.set_password(extracted)
        else:
            obj.set_unusable_password()
        if create:
            obj.save()


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    store = factory.SubFactory(StoreFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"client{n}@example.com")
    time_zone = "America/New_York"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    external_ref = factory.Sequence(lambda n: f"P{n:05d}")
    title = factory.Sequence(lambda n: f"Product {n}")
    category = "Apparel/Suits"
    brand = "Tailor & Co"
    price = Decimal("100.00")
    cost = Decimal("40.00")


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    size = "M"


class StockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stock

    variant = factory.SubFactory(VariantFactory)
    store = factory.SubFactory(StoreFactory)
    quantity = 3


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    store = factory.SubFactory(StoreFactory)
    client = factory.SubFactory(ClientFactory, store=factory.SelfAttribute("..store"))
    external_ref = factory.Sequence(lambda n: f"R{n:06d}")
    placed_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))
    total = Decimal("100.00")


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    variant = factory.SubFactory(VariantFactory)
    product = factory.SelfAttribute("variant.product")
    title = factory.SelfAttribute("variant.product.title")
    quantity = 1
    unit_price = Decimal("100.00")


class ActionFactory(factory.django.DjangoModelFactory):
    """An open marketing action due now; pass kind, purpose, state, due_at… to change it."""

    class Meta:
        model = "moments.Action"

    store = factory.SubFactory(StoreFactory)
    client = factory.SubFactory(ClientFactory, store=factory.SelfAttribute("..store"))
    associate = factory.SubFactory(UserFactory, store=factory.SelfAttribute("..store"))
    kind = "new_arrival_match"
    purpose = "marketing"
    reason = factory.LazyAttribute(lambda o: f"A new arrival fits {o.client.first_name}.")
    due_at = factory.LazyFunction(timezone.now)
    priority = 30.0
    channel = "email"
    state = "open"


class NeedFactory(factory.django.DjangoModelFactory):
    """A need in the client's words; pass budget=Decimal(…) to give one."""

    class Meta:
        model = "clients.Need"

    client = factory.SubFactory(ClientFactory)
    text = "A dark suit for a summer wedding, lightweight"
    budget = None


class PreferenceFactory(factory.django.DjangoModelFactory):
    """A stated like; pass likes=False for a dislike."""

    class Meta:
        model = "clients.Preference"

    client = factory.SubFactory(ClientFactory)
    dimension = "colour"
    value = "navy"
    likes = True


class RefundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.Refund"

    order = factory.SubFactory(OrderFactory)
    external_ref = factory.Sequence(lambda n: f"RF{n:06d}")
    amount = Decimal("100.00")


class ProblemFactory(factory.django.DjangoModelFactory):
    """An open problem of a client, reported by the event whose id is its external_ref."""

    class Meta:
        model = "care.Problem"

    store = factory.SubFactory(StoreFactory)
    client = factory.SubFactory(ClientFactory, store=factory.SelfAttribute("..store"))
    kind = "left_behind"
    status = "open"
    external_ref = factory.Sequence(lambda n: f"evt-problem-{n}")


class EventFactory(factory.django.DjangoModelFactory):
    """A recorded event, not yet processed; pass type and data."""

    class Meta:
        model = "moments.Event"

    event_id = factory.Sequence(lambda n: f"evt-{n}")
    type = "order.placed"
    occurred_at = factory.LazyFunction(timezone.now)
    source = "api"
    data = factory.LazyFunction(dict)


class ImportantDateFactory(factory.django.DjangoModelFactory):
    """A client's birthday on 28 November, year unknown; pass kind, label, month, day, year."""

    class Meta:
        model = "clients.ImportantDate"

    client = factory.SubFactory(ClientFactory)
    kind = "birthday"
    label = "Birthday"
    month = 11
    day = 28
    year = None


class SizeFactory(factory.django.DjangoModelFactory):
    """The size a client wears in one category (dresses 8); pass category and size."""

    class Meta:
        model = "clients.Size"

    client = factory.SubFactory(ClientFactory)
    category = "Women/Dresses"
    size = "8"
