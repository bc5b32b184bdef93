"""Build the demo boutique in memory: stores, staff, catalog, clients, orders and the stories.

Nothing here touches the database: `build_demo` returns unsaved model instances that point at
each other, and `extramile.demo.services.load_demo` writes them in dependency order. The same
seed and `now` give the same boutique (with the same Faker version).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from faker import Faker

from extramile.accounts.models import Role, Store, User
from extramile.catalog.models import Photo, Product, Stock, Variant
from extramile.clients.models import (
    Channel,
    Client,
    ClientStatus,
    Consent,
    ContactKind,
    ContactPoint,
    DateKind,
    ImportantDate,
    Need,
    Note,
    Preference,
    PreferenceDimension,
    PreferenceSource,
    Relation,
    RelationKind,
    Size,
)
from extramile.clients.services import normalize_phone
from extramile.demo import assortment as A
from extramile.orders.models import Order, OrderChannel, OrderLine, OrderStatus, Refund

STORE_TZ = "America/New_York"
HISTORY_DAYS = 3 * 365
CENT = Decimal("0.01")


@dataclass(frozen=True)
class StoreSpec:
    """A demo store."""

    code: str
    name: str
    address: str
    phone: str


STORES = [
    StoreSpec("uptown", "Uptown Boutique", "1120 Madison Avenue, New York, NY 10028", "2125550100"),
    StoreSpec("harbour", "Harbour Street", "48 Harbour Street, Brooklyn, NY 11201", "7185550100"),
]


@dataclass(frozen=True)
class StaffSpec:
    """A demo login: who they are, their role and store, and the password printed for the demo."""

    username: str
    first_name: str
    last_name: str
    role: str
    store_code: str | None
    password: str
    leaving_in_days: int | None = None


STAFF = [
    StaffSpec("admin", "Alex", "Morgan", Role.ADMIN, None, "admin-extramile"),
    StaffSpec("margaret", "Margaret", "Hale", Role.MANAGER, "uptown", "margaret-extramile"),
    StaffSpec("henry", "Henry", "Okafor", Role.MANAGER, "harbour", "henry-extramile"),
    StaffSpec("walter", "Walter", "Kessler", Role.ASSOCIATE, "uptown", "walter-extramile", 10),
    StaffSpec("sofia", "Sofia", "Marchetti", Role.ASSOCIATE, "uptown", "sofia-extramile"),
    StaffSpec("james", "James", "Whitaker", Role.ASSOCIATE, "uptown", "james-extramile"),
    StaffSpec("priya", "Priya", "Raman", Role.ASSOCIATE, "harbour", "priya-extramile"),
    StaffSpec("lucas", "Lucas", "Moreau", Role.ASSOCIATE, "harbour", "lucas-extramile"),
]
DEMO_USERNAMES = tuple(s.username for s in STAFF)
DEMO_STORE_CODES = tuple(s.code for s in STORES)
PRODUCT_REF_PREFIX = "DEMO-"

# The stories (see /shared/PRODUCT.md): the tag on each story client and what to look for.
STORY_TAGS = {
    "story:s1-new-arrivals": "S1 new arrivals in their size, brand and colour",
    "story:s2-suit-season": "S2 a suit in the same weeks every year from Walter, who leaves soon",
    "story:s4-urgent-saturday": "S4 an urgent need for Saturday, when alterations are closed",
    "story:s6-left-behind": "S6 left his new belt at the counter; a shoe-care kit would delight",
    "story:s7-online-fit-check": "S7 online order 8 minutes ago that does not fit his stated need",
    "story:s8-cancellation": "S8 cancelled 20 minutes ago, refund recorded: a courtesy call",
    "story:s9-raving-fan": "S9 has referred four friends",
}

COMMON_TAGS = [
    ("vip", 0.08),
    ("corporate", 0.06),
    ("wedding party", 0.04),
    ("prefers call", 0.08),
    ("made to measure", 0.03),
    ("stylist appointment", 0.04),
]
AREA_CODES = ("212", "646", "917", "718", "347", "929", "332")
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
LANGUAGES = (("en", 0.84), ("es", 0.08), ("fr", 0.04), ("zh", 0.04))
FAKER_LOCALES = {"en": "en_US", "es": "es_MX", "fr": "fr_FR", "zh": "zh_CN"}
MEN_BRANDS = [
    "Ashby & Rowe",
    "Hollis Tailoring",
    "Marlowe Sartoria",
    "Kestrel",
    "Fenwick Shirtmakers",
    "Oxley",
    "Thornbury",
    "Ludlow Silk",
]
WOMEN_BRANDS = [
    "Maison Lavande",
    "Juniper Row",
    "Céleste",
    "Wren & Willow",
    "Alder & Sloane",
    "Harbour Leather Co.",
    "Ludlow Silk",
]
MEN_COLOURS = ["navy", "charcoal", "grey", "brown", "olive", "burgundy", "camel", "light blue"]
WOMEN_COLOURS = ["black", "navy", "emerald", "blush", "camel", "cream", "burgundy", "red", "sage"]
STYLES = ["classic", "modern", "slim", "relaxed", "minimalist", "bold", "romantic", "italian"]
DISLIKE_COLOURS = ["yellow", "orange", "red", "pink", "black", "brown", "lavender"]
DISLIKE_STYLES = ["slim", "bold", "double-breasted", "floral", "polka dot", "relaxed"]

MEN_NEEDS = [
    ("A navy blazer that works for client dinners and weekends", 550),
    ("A dinner suit for a black-tie gala in the spring", 1000),
    ("Comfortable shoes for standing all day at a trade show", 350),
    ("Two or three shirts that don't need ironing for travel", 400),
    ("A warm overcoat that fits over a suit", 900),
    ("An outfit for his daughter's graduation", None),
    ("Something for his wife's birthday — she likes scarves", 200),
]
WOMEN_NEEDS = [
    ("A dress for a friend's wedding in the vineyard — not white, not black", 450),
    ("Work trousers that are not too tight, in navy or black", 250),
    ("A winter coat for walking to work, warm but not bulky", 700),
    ("A cocktail dress for the office holiday party", 400),
    ("Flat shoes smart enough for the office", 300),
    ("A gift for her husband — he likes good ties", 120),
    ("Something to wear for a milestone birthday dinner", None),
]
NOTE_TEMPLATES = [
    "Prefers {colour}; steer away from anything too {dislike}.",
    "Travels to {city} for work most months — likes things that pack well.",
    "Came in with {relation}; they liked the {brand} pieces.",
    "Likes to be called, not texted. Best after 6 pm.",
    "Always asks about alterations — trousers need hemming an inch shorter.",
    "Mentioned a big birthday coming up in the family; might shop for a gift.",
    "Very loyal to {brand}. Let {pronoun} know when the new season lands.",
    "Bought a gift here last year and was delighted with the wrapping.",
    "Not a fan of crowds — suggest a Tuesday morning appointment.",
    "Asked us to hold sizes for the sale preview if possible.",
]
CITIES = ["Chicago", "London", "Boston", "Miami", "Toronto", "Paris", "San Francisco"]

# Seasonal weight of orders by month: holidays, spring and the autumn suit season.
SEASON = {
    1: 0.8,
    2: 0.6,
    3: 0.9,
    4: 1.0,
    5: 1.0,
    6: 0.9,
    7: 0.6,
    8: 0.6,
    9: 1.0,
    10: 1.2,
    11: 1.4,
    12: 1.6,
}
MEN_SIZE_CATEGORIES = [
    "Men/Suits",
    "Men/Jackets",
    "Men/Coats",
    "Men/Shirts",
    "Men/Trousers",
    "Men/Knitwear",
    "Shoes/Men",
    "Accessories/Belts",
]
WOMEN_SIZE_CATEGORIES = [
    "Women/Dresses",
    "Women/Tops",
    "Women/Knitwear",
    "Women/Trousers",
    "Women/Coats",
    "Women/Jackets",
    "Shoes/Women",
]
# How often a size that the client wears is written down in the client book.
SIZE_RECORDED = {
    "Men/Suits": 0.85,
    "Men/Jackets": 0.5,
    "Men/Coats": 0.2,
    "Men/Shirts": 0.8,
    "Men/Trousers": 0.65,
    "Men/Knitwear": 0.45,
    "Shoes/Men": 0.6,
    "Women/Dresses": 0.85,
    "Women/Tops": 0.6,
    "Women/Knitwear": 0.5,
    "Women/Trousers": 0.55,
    "Women/Coats": 0.3,
    "Women/Jackets": 0.3,
    "Shoes/Women": 0.65,
}


@dataclass
class Story:
    """A story client, for the summary and the tests."""

    tag: str
    client: Client


@dataclass
class DemoData:
    """Every row of the demo, unsaved, in the order they must be written."""

    stores: list[Store] = field(default_factory=list)
    staff: list[tuple[User, StaffSpec]] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    variants: list[Variant] = field(default_factory=list)
    stock: list[Stock] = field(default_factory=list)
    photos: list[Photo] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)
    client_tags: list[tuple[Client, str]] = field(default_factory=list)
    contact_points: list[ContactPoint] = field(default_factory=list)
    consents: list[Consent] = field(default_factory=list)
    dates: list[ImportantDate] = field(default_factory=list)
    sizes: list[Size] = field(default_factory=list)
    preferences: list[Preference] = field(default_factory=list)
    needs: list[Need] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    lines: list[OrderLine] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    stories: list[Story] = field(default_factory=list)


@dataclass
class _Profile:
    """What the generator knows about a client beyond the row: true sizes and tastes."""

    client: Client
    store: Store
    gender: str  # "m" or "w"
    associate: User | None
    sizes: dict[str, str]
    brands: set[str] = field(default_factory=set)
    colours: set[str] = field(default_factory=set)
    styles: set[str] = field(default_factory=set)
    disliked: set[str] = field(default_factory=set)
    price_band: str = "mid-range"
    rate: float = 1.5  # orders a year
    active_until: dt.datetime | None = None


@dataclass
class _Item:
    product: Product
    spec: A.ProductSpec
    colours: list[str]
    variants: dict[tuple[str, str], Variant]  # (size, colour) -> variant


def spoken_date(day: dt.date) -> str:
    """Write a date as people say it: "Saturday June 21"."""
    return f"{day:%A %B} {day.day}"


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", folded.lower())


def _money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


class _Builder:
    """Draws every choice from one seeded random generator, in a fixed order."""

    def __init__(self, *, seed: int, now: dt.datetime, clients: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.now = now
        self.tz = ZoneInfo(STORE_TZ)
        self.today = now.astimezone(self.tz).date()
        self.history_start = now - dt.timedelta(days=HISTORY_DAYS)
        self.client_count = clients
        self.fakers: dict[str, Faker] = {}
        for index, (language, locale) in enumerate(FAKER_LOCALES.items()):
            faker = Faker(locale)
            faker.seed_instance(seed * 10 + index)
            self.fakers[language] = faker
        self.data = DemoData()
        self.stores: dict[str, Store] = {}
        self.users: dict[str, User] = {}
        self.items: list[_Item] = []
        self.by_title: dict[str, _Item] = {}
        self.by_category: dict[str, list[_Item]] = {}
        self.profiles: list[_Profile] = []
        self.phones: list[str] = []
        self.emails: set[str] = set()
        self.client_seq = 0
        self.preference_keys: set[tuple[int, str, str]] = set()

    # -- time -----------------------------------------------------------------------------

    def local(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        """A wall-clock time in the stores' zone, as an aware datetime."""
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=self.tz).astimezone(dt.UTC)

    def days_ago(self, days: float) -> dt.datetime:
        return self.now - dt.timedelta(days=days)

    def random_between(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        seconds = max(0.0, (end - start).total_seconds())
        return start + dt.timedelta(seconds=self.rng.uniform(0, seconds))

    # -- stores, staff, catalog -----------------------------------------------------------

    def build_stores_and_staff(self) -> None:
        for spec in STORES:
            store = Store(
                code=spec.code,
                name=spec.name,
                time_zone=STORE_TZ,
                currency="USD",
                address=spec.address,
                phone=normalize_phone(spec.phone, region="US"),
                created_at=self.days_ago(HISTORY_DAYS + 900),
            )
            self.stores[spec.code] = store
            self.data.stores.append(store)
        for staff in STAFF:
            user = User(
                username=staff.username,
                first_name=staff.first_name,
                last_name=staff.last_name,
                email=f"{staff.username}@extramile.example",
                role=staff.role,
                store=self.stores[staff.store_code] if staff.store_code else None,
                date_joined=self.days_ago(HISTORY_DAYS + 400),
            )
            if staff.leaving_in_days is not None:
                user.leaving_on = self.today + dt.timedelta(days=staff.leaving_in_days)
            self.users[staff.username] = user
            self.data.staff.append((user, staff))

    def associates(self, store: Store) -> list[User]:
        return [
            u for u, s in self.data.staff if s.role == Role.ASSOCIATE and s.store_code == store.code
        ]

    def build_catalog(self) -> None:
        forced_old = {
            A.S7_ORDERED,
            A.S7_ALTERNATIVE,
            A.S8_ORDERED,
            A.S6_SHOES,
            A.S6_LEFT_BEHIND,
            A.S6_SURPRISE,
            A.S4_SUIT,
            "Charcoal Birdseye Suit",
            "Mid-Grey Sharkskin Suit",
            "White Poplin Dress Shirt",
            "Navy Grenadine Tie",
        }
        seen_categories: set[str] = set()
        for number, spec in enumerate(A.PRODUCTS, start=1):
            ref = f"{PRODUCT_REF_PREFIX}{number:03d}"
            staple = spec.category not in seen_categories or spec.title in forced_old
            staple = staple or spec.category.startswith(("Care/", "Gifts/", "Accessories/Socks"))
            seen_categories.add(spec.category)
            if spec.new:
                arrived = self.today - dt.timedelta(days=self.rng.randint(0, 2))
            elif staple or self.rng.random() < 0.45:
                # Staples were on the shelf before the three years of orders began.
                arrived = self.today - dt.timedelta(days=self.rng.randint(HISTORY_DAYS + 120, 1500))
            else:
                arrived = self.today - dt.timedelta(days=self.rng.randint(20, HISTORY_DAYS))
            cost = _money(spec.price * self.rng.uniform(0.38, 0.5))
            product = Product(
                external_ref=ref,
                title=spec.title,
                brand=spec.brand,
                category=spec.category,
                colour=spec.colour,
                material=spec.material,
                style_tags=list(spec.tags),
                description=f"{spec.title} by {spec.brand}, in {spec.material}.",
                price=spec.price_decimal,
                cost=cost,
                currency="USD",
                arrived_on=arrived,
                created_at=self.local(arrived, 8),
            )
            colours = [spec.colour, *spec.extra_colours]
            item = _Item(product=product, spec=spec, colours=colours, variants={})
            run = A.size_run(spec.category)
            for colour in colours:
                for size in run:
                    size_value = "" if size == A.ONE_SIZE else size
                    parts = [ref]
                    if len(colours) > 1:
                        parts.append(_ascii(colour)[:3].upper())
                    parts.append(size_value.replace(".", "H") if size_value else "OS")
                    variant = Variant(
                        product=product, sku="-".join(parts), size=size_value, colour=colour
                    )
                    item.variants[(size_value, colour)] = variant
                    self.data.variants.append(variant)
                    for store in self.data.stores:
                        quantity = self.stock_quantity(spec, size_value, run)
                        self.data.stock.append(
                            Stock(variant=variant, store=store, quantity=quantity)
                        )
            self.data.products.append(product)
            self.data.photos.append(
                Photo(product=product, alt=f"{spec.title} in {spec.colour}", position=0)
            )
            self.items.append(item)
            self.by_title[spec.title] = item
            self.by_category.setdefault(spec.category, []).append(item)

    def stock_quantity(self, spec: A.ProductSpec, size: str, run: list[str]) -> int:
        if not size:
            return self.rng.randint(3, 12) if spec.price < 80 else self.rng.randint(1, 5)
        middle = (len(run) - 1) / 2
        edge = abs(run.index(size) - middle) / max(middle, 1)
        if spec.new:
            return self.rng.choice([1, 2, 2, 3]) if edge < 0.8 else self.rng.choice([0, 1, 1])
        if self.rng.random() < 0.12 + 0.3 * edge:
            return 0
        return self.rng.randint(1, 4 if edge < 0.5 else 2)

    def set_stock(self, title: str, *, size: str, store_code: str, quantity: int) -> None:
        item = self.by_title[title]
        for colour in item.colours:
            variant = item.variants[(size, colour)]
            for row in self.data.stock:
                if row.variant is variant and row.store is self.stores[store_code]:
                    row.quantity = quantity

    # -- clients --------------------------------------------------------------------------

    def next_phone(self) -> str:
        if not self.phones:
            return ""
        return normalize_phone(self.phones.pop(), region="US")

    def email_for(self, first: str, last: str, *, domain: str = "") -> str:
        base = f"{_ascii(first)}.{_ascii(last)}".strip(".") or "client"
        domain = domain or self.rng.choice(EMAIL_DOMAINS)
        email = f"{base}@{domain}"
        suffix = 2
        while email in self.emails:
            email = f"{base}{suffix}@{domain}"
            suffix += 1
        self.emails.add(email)
        return email

    def true_sizes(self, gender: str) -> dict[str, str]:
        rng = self.rng
        if gender == "m":
            chest = rng.choices([36, 38, 40, 42, 44, 46, 48], [3, 10, 22, 25, 20, 12, 8])[0]
            length = rng.choices(["S", "R", "L"], [12, 70, 18])[0]
            suit = f"{chest}{length}"
            if suit not in A.SUIT_SIZES:
                suit = f"{chest}R"
            collar_index = min(6, max(0, (chest - 36) // 2 + rng.choice([-1, 0, 0, 0, 1])))
            waist = min(40, max(30, chest - 8 + rng.choice([-2, 0, 0, 2])))
            knit = {36: "S", 38: "S", 40: "M", 42: "L", 44: "XL", 46: "XL", 48: "XXL"}[chest]
            shoe_index = min(9, max(0, int(rng.gauss(4.5 + (chest - 42) / 4, 2))))
            return {
                "Men/Suits": suit,
                "Men/Jackets": suit,
                "Men/Coats": suit,
                "Men/Shirts": A.COLLAR_SIZES[collar_index],
                "Men/Trousers": str(waist),
                "Men/Knitwear": knit,
                "Shoes/Men": A.MEN_SHOE_SIZES[shoe_index],
                "Accessories/Belts": str(min(42, waist + 2)),
            }
        dress = rng.choices(A.WOMEN_NUMERIC_SIZES, [4, 10, 18, 22, 18, 14, 9, 5])[0]
        letter = {"0": "XS", "2": "XS", "4": "S", "6": "S", "8": "M", "10": "M", "12": "L"}
        top = letter.get(dress, "XL")
        trousers_index = A.WOMEN_NUMERIC_SIZES.index(dress) + rng.choice([-1, 0, 0, 0, 1])
        trousers = A.WOMEN_NUMERIC_SIZES[min(7, max(0, trousers_index))]
        shoe_index = min(10, max(0, int(rng.gauss(5, 2))))
        return {
            "Women/Dresses": dress,
            "Women/Tops": top,
            "Women/Knitwear": top,
            "Women/Trousers": trousers,
            "Women/Coats": top,
            "Women/Jackets": dress,
            "Shoes/Women": A.WOMEN_SHOE_SIZES[shoe_index],
        }

    def new_client(
        self,
        *,
        store: Store,
        gender: str,
        language: str = "en",
        first_name: str | None = None,
        last_name: str | None = None,
        associate: User | None = None,
        created_at: dt.datetime | None = None,
    ) -> _Profile:
        """Make a client with contact points, time zone and true sizes; nothing else yet."""
        rng = self.rng
        faker = self.fakers[language]
        if language == "zh":
            # Romanised names, as the client would write them on a form in New York.
            first = first_name or faker.first_romanized_name()
            last = last_name or faker.last_romanized_name()
        elif gender == "m":
            first = first_name or faker.first_name_male()
            last = last_name or faker.last_name()
        else:
            first = first_name or faker.first_name_female()
            last = last_name or faker.last_name()
        self.client_seq += 1
        if created_at is None:
            if rng.random() < 0.5:
                created_at = self.history_start - dt.timedelta(days=rng.uniform(0, 900))
            else:
                created_at = self.random_between(self.history_start, self.days_ago(10))
        if language == "fr" and rng.random() < 0.4:
            time_zone = "Europe/Paris"
        elif language == "zh" and rng.random() < 0.25:
            time_zone = "Asia/Shanghai"
        else:
            time_zone = rng.choices(
                [STORE_TZ, "America/Chicago", "America/Los_Angeles", "Europe/London"],
                [90, 4, 4, 2],
            )[0]
        has_email = rng.random() < 0.93
        has_phone = rng.random() < 0.85
        client = Client(
            store=store,
            primary_associate=associate or self.pick_associate(store),
            first_name=first,
            last_name=last,
            email=self.email_for(first, last) if has_email else "",
            phone=self.next_phone() if has_phone else "",
            address=(
                f"{self.fakers['en'].street_address()}, New York, NY "
                f"{rng.choice(['10021', '10028', '10128', '11201', '11215', '10014'])}"
                if rng.random() < 0.6
                else ""
            ),
            language=language,
            time_zone=time_zone,
            status=ClientStatus.ACTIVE,
            external_ref=f"demo-{self.client_seq:04d}",
            created_at=created_at,
        )
        if not client.email and not client.phone:
            client.email = self.email_for(first, last)
        profile = _Profile(
            client=client,
            store=store,
            gender=gender,
            associate=client.primary_associate,
            sizes=self.true_sizes(gender),
        )
        self.data.clients.append(client)
        self.profiles.append(profile)
        return profile

    def pick_associate(self, store: Store) -> User:
        team = self.associates(store)
        # Walter has been on the floor longest and holds the biggest book.
        weights = [1.5 if u.username == "walter" else 1.0 for u in team]
        return self.rng.choices(team, weights)[0]

    def pick_language(self) -> str:
        return self.rng.choices([x for x, _ in LANGUAGES], [w for _, w in LANGUAGES])[0]

    def add_tastes(self, profile: _Profile) -> None:
        """Give the client stated likes and dislikes, and the price band they shop in."""
        rng = self.rng
        men = profile.gender == "m"
        brands = MEN_BRANDS if men else WOMEN_BRANDS
        colours = MEN_COLOURS if men else WOMEN_COLOURS
        profile.brands = set(rng.sample(brands, rng.choice([1, 1, 2])))
        profile.colours = set(rng.sample(colours, rng.choice([1, 2, 2, 3])))
        profile.styles = set(rng.sample(STYLES, rng.choice([0, 1, 1, 2])))
        if rng.random() < 0.35:
            pool = DISLIKE_COLOURS + DISLIKE_STYLES
            liked = profile.colours | profile.styles
            profile.disliked = {d for d in rng.sample(pool, rng.choice([1, 2])) if d not in liked}
        profile.price_band = rng.choices(["value", "mid-range", "premium"], [25, 50, 25])[0]
        profile.rate = max(0.3, rng.gammavariate(2.0, 1.0))
        if rng.random() < 0.18:
            profile.active_until = self.random_between(self.history_start, self.days_ago(60))

    def record_profile(self, profile: _Profile, *, stated_share: float = 0.75) -> None:
        """Write the client's sizes, stated tastes, consent, dates and tags."""
        rng = self.rng
        client = profile.client
        author = profile.associate
        for category, size in profile.sizes.items():
            if rng.random() < SIZE_RECORDED.get(category, 0):
                self.data.sizes.append(Size(client=client, category=category, size=size))
        if rng.random() < stated_share:
            said = self.random_between(client.created_at, self.now)
            for brand in sorted(profile.brands):
                self.add_preference(client, PreferenceDimension.BRAND, brand, at=said)
            for colour in sorted(profile.colours):
                self.add_preference(client, PreferenceDimension.COLOUR, colour, at=said)
            for style in sorted(profile.styles):
                self.add_preference(client, PreferenceDimension.STYLE, style, at=said)
            for value in sorted(profile.disliked):
                dimension = (
                    PreferenceDimension.COLOUR
                    if value in DISLIKE_COLOURS
                    else PreferenceDimension.STYLE
                )
                self.add_preference(client, dimension, value, at=said, likes=False)
            if rng.random() < 0.4:
                self.add_preference(
                    client, PreferenceDimension.PRICE_BAND, profile.price_band, at=said
                )
        self.add_consents(client, author)
        self.add_dates(client)
        for tag, share in COMMON_TAGS:
            if rng.random() < share:
                self.data.client_tags.append((client, tag))
                if tag == "vip":
                    profile.rate *= 2.2
                    profile.price_band = "premium"
                    profile.active_until = None
        if rng.random() < 0.1 and client.email:
            work = self.email_for(
                client.first_name[:1], client.last_name, domain="work.example.com"
            )
            self.data.contact_points.append(
                ContactPoint(client=client, kind=ContactKind.EMAIL, value=work, label="work")
            )
        if rng.random() < 0.05:
            phone = self.next_phone()
            if phone:
                self.data.contact_points.append(
                    ContactPoint(client=client, kind=ContactKind.PHONE, value=phone, label="work")
                )

    def add_preference(
        self,
        client: Client,
        dimension: str,
        value: str,
        *,
        at: dt.datetime,
        likes: bool = True,
        source: str = PreferenceSource.STATED,
    ) -> None:
        """Record a like or dislike, once per client, dimension and value (the first wins)."""
        key = (id(client), dimension, value)
        if key in self.preference_keys:
            return
        self.preference_keys.add(key)
        self.data.preferences.append(
            Preference(
                client=client,
                dimension=dimension,
                value=value,
                likes=likes,
                source=source,
                recorded_at=at,
            )
        )

    def add_consents(self, client: Client, author: User | None) -> None:
        rng = self.rng
        at = client.created_at
        source = rng.choices(
            ["in-store sign-up form", "online checkout", "told the associate"], [55, 30, 15]
        )[0]
        by = author if source != "online checkout" else None

        def consent(channel: str, granted: bool, *, when: dt.datetime = at, how: str = source):
            self.data.consents.append(
                Consent(
                    client=client,
                    channel=channel,
                    granted=granted,
                    source=how,
                    recorded_at=when,
                    recorded_by=by if how == source else None,
                )
            )

        if client.email and rng.random() < 0.82:
            consent(Channel.EMAIL, True)
            if rng.random() < 0.06:
                later = self.random_between(at, self.days_ago(3))
                consent(Channel.EMAIL, False, when=later, how="unsubscribe link")
        elif client.email and rng.random() < 0.5:
            consent(Channel.EMAIL, False)
        if client.phone:
            sms = rng.random()
            if sms < 0.42:
                consent(Channel.SMS, True)
            elif sms < 0.62:
                consent(Channel.SMS, False)
            call = rng.random()
            if call < 0.55:
                consent(Channel.PHONE, True)
            elif call < 0.65:
                consent(Channel.PHONE, False)
        if client.address and rng.random() < 0.3:
            consent(Channel.MAIL, True)

    def random_month_day(self) -> tuple[int, int]:
        # A day of a common year, so there is no 29 February.
        day = dt.date(2025, 1, 1) + dt.timedelta(days=self.rng.randrange(365))
        return day.month, day.day

    def add_dates(self, client: Client) -> None:
        rng = self.rng
        if rng.random() < 0.85:
            month, day = self.random_month_day()
            year = self.today.year - rng.randint(24, 74) if rng.random() < 0.55 else None
            self.data.dates.append(
                ImportantDate(
                    client=client,
                    kind=DateKind.BIRTHDAY,
                    label="Birthday",
                    month=month,
                    day=day,
                    year=year,
                )
            )
        if rng.random() < 0.22:
            month, day = self.random_month_day()
            self.data.dates.append(
                ImportantDate(
                    client=client,
                    kind=DateKind.ANNIVERSARY,
                    label="Wedding anniversary",
                    month=month,
                    day=day,
                    year=self.today.year - rng.randint(2, 35),
                )
            )
        if rng.random() < 0.04:
            month, day = self.random_month_day()
            label = rng.choice(["Daughter's graduation", "Son's birthday", "Company founding day"])
            self.data.dates.append(
                ImportantDate(client=client, kind=DateKind.OTHER, label=label, month=month, day=day)
            )

    def set_date_in(self, client: Client, *, kind: str, days: int, label: str) -> None:
        """Put a birthday or anniversary `days` from today, replacing one of that kind."""
        when = self.today + dt.timedelta(days=days)
        if when.month == 2 and when.day == 29:
            when = when + dt.timedelta(days=1)
        self.data.dates = [
            d for d in self.data.dates if not (d.client is client and d.kind == kind)
        ]
        year = self.today.year - self.rng.randint(28, 60) if kind == DateKind.BIRTHDAY else None
        self.data.dates.append(
            ImportantDate(
                client=client, kind=kind, label=label, month=when.month, day=when.day, year=year
            )
        )

    def add_needs_and_notes(self, profile: _Profile) -> None:
        rng = self.rng
        client = profile.client
        if rng.random() < 0.18:
            text, budget = rng.choice(MEN_NEEDS if profile.gender == "m" else WOMEN_NEEDS)
            stated = self.random_between(max(client.created_at, self.days_ago(150)), self.now)
            met = None
            if rng.random() < 0.3:
                met = self.random_between(stated, self.now)
            self.data.needs.append(
                Need(
                    client=client,
                    text=text,
                    budget=_money(budget) if budget and rng.random() < 0.8 else None,
                    stated_at=stated,
                    met_at=met,
                )
            )
        if rng.random() < 0.55:
            for _ in range(rng.choice([1, 1, 2, 3])):
                body = rng.choice(NOTE_TEMPLATES).format(
                    colour=next(iter(sorted(profile.colours)), "navy"),
                    dislike=rng.choice(["slim", "shiny", "loud", "boxy"]),
                    city=rng.choice(CITIES),
                    relation=rng.choice(["a colleague", "their partner", "a friend"]),
                    brand=next(iter(sorted(profile.brands)), "Oxley"),
                    pronoun="him" if profile.gender == "m" else "her",
                )
                self.data.notes.append(
                    Note(
                        client=client,
                        author=profile.associate,
                        body=body,
                        created_at=self.random_between(client.created_at, self.now),
                    )
                )

    # -- orders ---------------------------------------------------------------------------

    def choose(
        self, profile: _Profile, category: str, at: dt.datetime, *, exclude: Sequence[str] = ()
    ) -> tuple[_Item, Variant] | None:
        """Pick a product of the category the client would buy then, in their size."""
        day = at.astimezone(self.tz).date()
        month = day.month
        candidates: list[_Item] = []
        weights: list[float] = []
        prices = [float(i.spec.price) for i in self.by_category.get(category, [])]
        median = sorted(prices)[len(prices) // 2] if prices else 1.0
        for item in self.by_category.get(category, []):
            spec = item.spec
            product_day = item.product.arrived_on
            if product_day is None or product_day > day or spec.title in exclude:
                continue
            weight = 1.0
            if spec.brand in profile.brands:
                weight *= 8
            if any(c in profile.colours for c in item.colours):
                weight *= 3
            if spec.colour in profile.disliked or profile.disliked & set(spec.tags):
                weight *= 0.08
            if profile.styles & set(spec.tags):
                weight *= 2
            if "summer" in spec.tags:
                weight *= 2.5 if month in (5, 6, 7, 8) else 0.3 if month in (11, 12, 1, 2) else 1
            if {"autumn", "winter"} & set(spec.tags):
                weight *= 2 if month in (9, 10, 11, 12, 1, 2) else 0.3
            ratio = spec.price / median
            if profile.price_band == "premium":
                weight *= ratio
            elif profile.price_band == "value":
                weight *= (1 / ratio) ** 1.2
            candidates.append(item)
            weights.append(weight)
        if not candidates:
            return None
        item = self.rng.choices(candidates, weights)[0]
        size = profile.sizes.get(category, "") if category in A.SIZE_RUNS else ""
        liked = [c for c in item.colours if c in profile.colours]
        colour = self.rng.choice(liked or item.colours)
        variant = item.variants.get((size, colour))
        if variant is None:
            return None
        return item, variant

    def basket(self, profile: _Profile, at: dt.datetime) -> list[tuple[_Item, Variant, int]]:
        """The lines of one order: a mission and the things that go with it."""
        rng = self.rng
        month = at.astimezone(self.tz).month
        men = profile.gender == "m"
        autumn = month in (9, 10, 11)
        winter = month in (11, 12, 1, 2)
        if men:
            missions = {
                "suit": 0.2 * (2 if autumn or month in (4, 5, 6) else 1),
                "jacket": 0.07,
                "coat": 0.08 if winter or month == 10 else 0.0,
                "shirts": 0.24,
                "trousers": 0.1,
                "knit": 0.12 * (2 if winter else 0.4 if month in (5, 6, 7, 8) else 1),
                "shoes": 0.14,
                "gift": 0.06 * (3 if month == 12 else 1),
            }
        else:
            missions = {
                "dress": 0.3,
                "tops": 0.18,
                "knit": 0.12 * (2 if winter else 0.4 if month in (5, 6, 7, 8) else 1),
                "trousers": 0.08,
                "coat": 0.07 if winter or month == 10 else 0.0,
                "jacket": 0.05,
                "shoes": 0.14,
                "bag": 0.08,
                "gift": 0.05 * (3 if month == 12 else 1),
            }
        mission = rng.choices(list(missions), list(missions.values()))[0]
        lines: list[tuple[_Item, Variant, int]] = []
        used: list[str] = []

        def add(category: str, chance: float = 1.0, quantity: int = 1) -> _Item | None:
            if rng.random() >= chance:
                return None
            picked = self.choose(profile, category, at, exclude=used)
            if picked is None:
                return None
            item, variant = picked
            used.append(item.spec.title)
            lines.append((item, variant, quantity))
            return item

        if mission == "suit":
            suit = add("Men/Suits")
            shirt = add("Men/Shirts", 0.6)
            add("Accessories/Ties", 0.65 if shirt else 0.35)
            add("Accessories/Pocket Squares", 0.2)
            add("Shoes/Men", 0.15)
            add("Accessories/Belts", 0.1)
            if suit and rng.random() < 0.12:
                self.add_named(lines, used, "Lint Roller")
            if shirt and "french-cuff" in shirt.spec.title.lower():
                add("Accessories/Cufflinks", 0.5)
        elif mission == "jacket" and men:
            add("Men/Jackets")
            add("Men/Shirts", 0.3)
            add("Men/Trousers", 0.3)
            add("Accessories/Pocket Squares", 0.25)
        elif mission == "coat":
            add("Men/Coats" if men else "Women/Coats")
            add("Accessories/Scarves", 0.4)
        elif mission == "shirts":
            for _ in range(rng.choice([1, 1, 2, 3])):
                add("Men/Shirts")
            add("Accessories/Ties", 0.3)
            if rng.random() < 0.08:
                self.add_named(lines, used, "Brass Collar Stays")
        elif mission == "trousers":
            add("Men/Trousers" if men else "Women/Trousers")
            add("Men/Trousers" if men else "Women/Trousers", 0.3)
            if men:
                add("Accessories/Belts", 0.25)
            else:
                add("Women/Tops", 0.4)
        elif mission == "knit":
            add("Men/Knitwear" if men else "Women/Knitwear")
            add("Accessories/Scarves", 0.15)
            if rng.random() < 0.2:
                self.add_named(lines, used, "Lint Roller")
        elif mission == "shoes":
            shoes = add("Shoes/Men" if men else "Shoes/Women")
            # The root beer and the vanilla ice cream: shoes and something to care for them.
            if shoes and rng.random() < 0.45:
                self.add_named(lines, used, "Shoe Care Kit")
            if shoes and rng.random() < (0.25 if men else 0.1):
                self.add_named(lines, used, "Cedar Shoe Trees")
            if shoes and "suede" in shoes.spec.material and rng.random() < 0.6:
                self.add_named(lines, used, "Suede Brush")
            if men:
                add("Accessories/Socks", 0.3, quantity=rng.choice([1, 2, 3]))
        elif mission == "dress":
            dress = add("Women/Dresses")
            add("Shoes/Women", 0.3)
            if dress and {"evening", "wedding"} & set(dress.spec.tags) and rng.random() < 0.35:
                self.add_named(lines, used, "Black Evening Clutch")
            add("Accessories/Scarves", 0.1)
        elif mission == "tops":
            add("Women/Tops")
            add("Women/Tops", 0.35)
            add("Women/Trousers", 0.25)
        elif mission == "jacket":
            add("Women/Jackets")
            add("Women/Tops", 0.3)
        elif mission == "bag":
            add("Accessories/Bags")
            add("Accessories/Scarves", 0.3)
        else:  # a gift
            category = rng.choice(
                [
                    "Accessories/Ties",
                    "Accessories/Pocket Squares",
                    "Accessories/Scarves",
                    "Accessories/Socks",
                    "Accessories/Bags",
                    "Gifts/Candles",
                ]
            )
            add(category)
            add("Gifts/Chocolates", 0.35)
        if month == 12 and rng.random() < 0.2:
            add("Gifts/Chocolates")
        return lines

    def add_named(
        self, lines: list[tuple[_Item, Variant, int]], used: list[str], title: str
    ) -> None:
        if title in used:
            return
        item = self.by_title[title]
        variant = next(iter(item.variants.values()))
        used.append(title)
        lines.append((item, variant, 1))

    def pick_channel(self) -> str:
        return self.rng.choices(
            [OrderChannel.STORE, OrderChannel.ONLINE, OrderChannel.PHONE], [68, 24, 8]
        )[0]

    def order_time(self, day: dt.date, channel: str) -> dt.datetime:
        if channel == OrderChannel.ONLINE:
            hour = self.rng.choice([7, 8, 12, 13, 19, 20, 21, 22])
        else:
            hour = self.rng.randint(10, 18)
        return self.local(day, hour, self.rng.randrange(60))

    def make_order(
        self,
        *,
        profile: _Profile | None,
        store: Store,
        at: dt.datetime,
        lines: list[tuple[_Item, Variant, int]],
        channel: str,
        associate: User | None,
        status: str | None = None,
        note: str = "",
        discount: float = 0.0,
    ) -> Order:
        """Make an order with its lines and, by chance, a cancellation or a return."""
        rng = self.rng
        order = Order(
            store=store,
            client=profile.client if profile else None,
            associate=associate,
            channel=channel,
            currency="USD",
            placed_at=at,
            note=note,
        )
        total = Decimal(0)
        for number, (item, variant, quantity) in enumerate(lines, start=1):
            price = item.spec.price_decimal
            if discount:
                price = _money(float(price) * (1 - discount))
            line = OrderLine(
                order=order,
                product=item.product,
                variant=variant,
                title=item.spec.title,
                sku=variant.sku,
                quantity=quantity,
                unit_price=price,
                unit_cost=item.product.cost,
                line_ref=str(number),
            )
            total += price * quantity
            self.data.lines.append(line)
        order.total = total
        remote = channel != OrderChannel.STORE
        by_chance = status is None
        if status is None:
            recent = at > self.now - dt.timedelta(days=3)
            roll = rng.random()
            if remote and recent:
                status = OrderStatus.PLACED
            elif roll < 0.03:
                status = OrderStatus.CANCELLED
            elif roll < 0.08:
                status = "return"
            else:
                status = OrderStatus.FULFILLED
        if status in (OrderStatus.FULFILLED, "return"):
            delay = dt.timedelta(days=rng.uniform(1, 4)) if remote else dt.timedelta(minutes=2)
            order.fulfilled_at = min(at + delay, self.now)
            order.status = OrderStatus.FULFILLED
        else:
            order.status = status
        if status == OrderStatus.CANCELLED and by_chance:
            order.cancelled_at = min(at + dt.timedelta(hours=rng.uniform(1, 30)), self.now)
            order.cancel_reason = rng.choice(
                [
                    "Changed their mind",
                    "Found it elsewhere",
                    "Size not available in time",
                    "Ordered twice by mistake",
                ]
            )
            if remote:
                self.refund(
                    order, order.total, at=order.cancelled_at, note="Cancelled before it shipped."
                )
        if status == "return":
            returned_at = at + dt.timedelta(days=rng.uniform(4, 25))
            if returned_at < self.now:
                last = self.data.lines[-1]
                amount = last.unit_price * last.quantity
                self.refund(order, amount, at=returned_at, note=f"Returned: {last.title}.")
                if amount == order.total:
                    order.status = OrderStatus.REFUNDED
        self.data.orders.append(order)
        return order

    def refund(self, order: Order, amount: Decimal, *, at: dt.datetime, note: str) -> Refund:
        order.refunded_at = at
        order.refunded_amount = amount
        refund = Refund(order=order, amount=amount, note=note, created_at=at)
        self.data.refunds.append(refund)
        return refund

    def history(self, profile: _Profile) -> None:
        """Three years of orders for one client, at their own pace and season."""
        rng = self.rng
        start = max(profile.client.created_at, self.history_start)
        end = self.now - dt.timedelta(hours=1)
        if profile.active_until is not None:
            end = min(end, profile.active_until)
        peak = max(SEASON.values())
        at = start
        while True:
            at = at + dt.timedelta(days=rng.expovariate(profile.rate * 1.35 / 365))
            if at >= end:
                break
            if rng.random() > SEASON[at.astimezone(self.tz).month] / peak:
                continue
            lines = self.basket(profile, at)
            if not lines:
                continue
            channel = self.pick_channel()
            team = self.associates(profile.store)
            associate: User | None = None
            if channel != OrderChannel.ONLINE:
                associate = profile.associate if rng.random() < 0.85 else rng.choice(team)
            placed = self.order_time(at.astimezone(self.tz).date(), channel)
            if placed >= self.now:
                continue
            month = placed.astimezone(self.tz).month
            discount = rng.choice([0.2, 0.3]) if month in (1, 7) and rng.random() < 0.4 else 0.0
            self.make_order(
                profile=profile,
                store=profile.store,
                at=placed,
                lines=lines,
                channel=channel,
                associate=associate,
                discount=discount,
            )
        if profile.active_until is not None and profile.active_until < self.days_ago(540):
            profile.client.status = ClientStatus.LAPSED

    def walk_ins(self, count: int) -> None:
        """Orders from people who never gave their name: baskets without a client."""
        rng = self.rng
        for _ in range(count):
            store = rng.choice(self.data.stores)
            gender = rng.choice(["m", "w"])
            profile = _Profile(
                client=Client(),
                store=store,
                gender=gender,
                associate=None,
                sizes=self.true_sizes(gender),
            )
            at = self.random_between(self.history_start, self.days_ago(0.5))
            lines = self.basket(profile, at)
            if not lines:
                continue
            placed = self.order_time(at.astimezone(self.tz).date(), OrderChannel.STORE)
            if placed >= self.now:
                continue
            self.make_order(
                profile=None,
                store=store,
                at=placed,
                lines=lines,
                channel=OrderChannel.STORE,
                associate=rng.choice(self.associates(store)),
            )

    def observed_preferences(self) -> None:
        """Record the brand and colour each client keeps buying, where they never said so."""
        bought: dict[str, tuple[Client, Counter[str], Counter[str]]] = {}
        for line in self.data.lines:
            client = line.order.client
            product = line.product
            if client is None or product is None or line.order.status != OrderStatus.FULFILLED:
                continue
            if product.category.startswith(("Care/", "Gifts/")):
                continue
            entry = bought.setdefault(client.external_ref, (client, Counter(), Counter()))
            entry[1][product.brand] += 1
            entry[2][line.variant.colour if line.variant else product.colour] += 1
        for client, brands, colours in bought.values():
            for dimension, counter in (
                (PreferenceDimension.BRAND, brands),
                (PreferenceDimension.COLOUR, colours),
            ):
                value, count = counter.most_common(1)[0]
                if count >= 3:  # add_preference keeps what the client said over what we saw
                    self.add_preference(
                        client, dimension, value, at=self.now, source=PreferenceSource.OBSERVED
                    )

    def households_and_referrals(self, ordinary: list[_Profile]) -> None:
        rng = self.rng
        by_store: dict[str, list[_Profile]] = {}
        for profile in ordinary:
            by_store.setdefault(profile.store.code, []).append(profile)
        pairs = max(2, len(ordinary) // 40)
        for _ in range(pairs):
            group = by_store[rng.choice(sorted(by_store))]
            a, b = rng.sample(group, 2)
            if a.gender == b.gender:
                continue
            if any(r.client is a.client or r.client is b.client for r in self.data.relations):
                continue
            b.client.last_name = a.client.last_name
            b.client.address = a.client.address
            label = "spouse" if rng.random() < 0.7 else "partner"
            self.data.relations.append(
                Relation(client=a.client, other=b.client, kind=RelationKind.HOUSEHOLD, label=label)
            )
            self.data.relations.append(
                Relation(client=b.client, other=a.client, kind=RelationKind.HOUSEHOLD, label=label)
            )
        for _ in range(max(3, len(ordinary) // 25)):
            group = by_store[rng.choice(sorted(by_store))]
            newer, older = rng.sample(group, 2)
            if newer.client.created_at < older.client.created_at:
                newer, older = older, newer
            if any(
                r.client is newer.client and r.other is older.client for r in self.data.relations
            ):
                continue
            self.data.relations.append(
                Relation(
                    client=newer.client,
                    other=older.client,
                    kind=RelationKind.REFERRED_BY,
                    label=rng.choice(["friend", "colleague", "neighbour"]),
                    created_at=newer.client.created_at,
                )
            )

    # -- the stories ----------------------------------------------------------------------

    def story(self, profile: _Profile, tag: str, *extra_tags: str) -> None:
        self.data.client_tags.append((profile.client, tag))
        for extra in extra_tags:
            self.data.client_tags.append((profile.client, extra))
        self.data.stories.append(Story(tag=tag, client=profile.client))

    def note(self, profile: _Profile, body: str, *, at: dt.datetime, by: User | None) -> None:
        self.data.notes.append(Note(client=profile.client, author=by, body=body, created_at=at))

    def story_client(
        self,
        where: str,
        gender: str,
        name: str,
        sizes: dict[str, str],
        *,
        brands: Sequence[str] = (),
        colours: Sequence[str] = (),
        styles: Sequence[str] = (),
        language: str = "en",
        years: float = 4,
    ) -> _Profile:
        """A story's client: `where` is "store/associate", `name` "First Last"."""
        store, associate = where.split("/")
        first, last = name.split(" ", 1)
        profile = self.new_client(
            store=self.stores[store],
            gender=gender,
            language=language,
            first_name=first,
            last_name=last,
            associate=self.users[associate],
            created_at=self.days_ago(365 * years),
        )
        profile.sizes.update(sizes)
        profile.brands, profile.colours, profile.styles = set(brands), set(colours), set(styles)
        profile.rate = 2.0
        client = profile.client
        if not client.email:
            client.email = self.email_for(first, last)
        if not client.phone:
            client.phone = self.next_phone()
        for category, size in sizes.items():
            self.data.sizes.append(Size(client=client, category=category, size=size))
        said = client.created_at + dt.timedelta(days=30)
        for dimension, values in (
            (PreferenceDimension.BRAND, brands),
            (PreferenceDimension.COLOUR, colours),
            (PreferenceDimension.STYLE, styles),
        ):
            for value in values:
                self.add_preference(client, dimension, value, at=said)
        for channel in (Channel.EMAIL, Channel.SMS, Channel.PHONE):
            self.data.consents.append(
                Consent(
                    client=client,
                    channel=channel,
                    granted=True,
                    source="in-store sign-up form",
                    recorded_at=client.created_at,
                    recorded_by=profile.associate,
                )
            )
        self.add_dates(client)
        return profile

    def story_order(
        self,
        profile: _Profile,
        at: dt.datetime,
        lines: list[tuple[_Item, Variant, int]],
        status: str,
        *,
        online: bool = False,
        note: str = "",
    ) -> Order:
        """An order by a story's client in their store: online, or in store with their associate."""
        return self.make_order(
            profile=profile,
            store=profile.store,
            at=at,
            lines=lines,
            channel=OrderChannel.ONLINE if online else OrderChannel.STORE,
            associate=None if online else profile.associate,
            status=status,
            note=note,
        )

    def suit_seasons(self) -> list[dt.date]:
        """The first day of the S2 client's suit season in each of the last three years.

        The season opens a week from today, so the demo always holds a buying season about to
        start, whatever day it is loaded on.
        """
        opens = self.today + dt.timedelta(days=7)
        return [_same_day_in_year(opens, opens.year - back) for back in (3, 2, 1)]

    def build_stories(self) -> list[_Profile]:
        """The story clients, S2, S7, S8, S6, S4, the four of S1, then S9 (the last)."""
        return [
            self.story_s2_suit_season(),
            self.story_s7_online_fit_check(),
            self.story_s8_cancellation(),
            self.story_s6_left_behind(),
            self.story_s4_urgent_saturday(),
            *self.story_s1_new_arrivals(),
            self.story_slipping_away(),
            self.story_s9_raving_fan(),
        ]

    def story_s2_suit_season(self) -> _Profile:
        """S2: a suit every autumn, always from Walter, who leaves in ten days."""
        rng, walter = self.rng, self.users["walter"]
        sizes = {
            "Men/Suits": "42L",
            "Men/Jackets": "42L",
            "Men/Shirts": "16.5",
            "Men/Trousers": "36",
            "Shoes/Men": "11",
        }
        s2 = self.story_client(
            "uptown/walter",
            "m",
            "Edmund Ashcroft",
            sizes,
            brands=["Ashby & Rowe", "Hollis Tailoring"],
            colours=["navy", "charcoal"],
            styles=["classic"],
            years=7,
        )
        self.add_preference(
            s2.client, PreferenceDimension.STYLE, "slim", at=self.days_ago(900), likes=False
        )
        self.set_date_in(s2.client, kind=DateKind.BIRTHDAY, days=12, label="Birthday")
        suits = ["Navy Worsted Two-Piece Suit", "Charcoal Birdseye Suit", "Mid-Grey Sharkskin Suit"]
        ties = ["Navy Grenadine Tie", "Regimental Stripe Tie", "Navy Polka-Dot Tie"]
        for index, season in enumerate(self.suit_seasons()):
            day = season + dt.timedelta(days=rng.randint(0, 6))
            lines = [
                self.line(suits[index], "42L"),
                self.line("White Poplin Dress Shirt", "16.5"),
                self.line(ties[index], ""),
            ]
            self.story_order(s2, self.local(day, 15, 10), lines, OrderStatus.FULFILLED)
            spring = season + dt.timedelta(days=180 + rng.randint(0, 10))
            if self.local(spring, 12) < self.now:
                shirt = [self.line("Light Blue Poplin Dress Shirt", "16.5")]
                self.story_order(s2, self.local(spring, 12, 30), shirt, OrderStatus.FULFILLED)
        self.note(
            s2,
            "Edmund buys one suit a year, always in the same weeks — classic, navy or charcoal, "
            "42L — plus a white shirt and a tie. I post him a card when the new suits arrive and "
            "he comes in within days. Birthday card every year too.",
            at=self.days_ago(700),
            by=walter,
        )
        last_day = walter.leaving_on or self.today
        self.note(
            s2,
            f"My last day is {spoken_date(last_day)}. Edmund only buys from me: when I am not "
            "on the floor he leaves without buying. His suit season opens next week and the new "
            "suits are in his 42L "
            "(charcoal flannel, navy chalk-stripe) — please call him and introduce yourself as "
            "my colleague before they sell through. His birthday is in 12 days.",
            at=self.days_ago(1),
            by=walter,
        )
        self.story(s2, "story:s2-suit-season", "vip")
        for title in A.S2_AUTUMN_SUITS:
            self.set_stock(title, size="42L", store_code="uptown", quantity=2)
        return s2

    def story_s7_online_fit_check(self) -> _Profile:
        """S7: an online order that does not fit the stated need; a better one costs the same."""
        sizes = {"Men/Suits": "40R", "Men/Shirts": "15.5", "Shoes/Men": "10"}
        s7 = self.story_client(
            "harbour/priya",
            "m",
            "Daniel Reyes",
            sizes,
            colours=["navy"],
            styles=["classic"],
            years=2.5,
        )
        self.data.needs.append(
            Need(
                client=s7.client,
                text="A dark suit for a summer wedding abroad — lightweight, under $600",
                budget=Decimal("600.00"),
                stated_at=self.days_ago(19),
            )
        )
        self.note(
            s7,
            "Daniel's sister is getting married in Lisbon in July, outdoors and hot. He wants "
            "something dark he can wear again, lightweight, under $600. Said he would probably "
            "order online after payday.",
            at=self.days_ago(19),
            by=self.users["priya"],
        )
        self.history(s7)
        self.story_order(
            s7,
            self.now - dt.timedelta(minutes=8),
            [self.line(A.S7_ORDERED, "40R")],
            OrderStatus.PLACED,
            online=True,
            note="Web order. Ship to home.",
        )
        self.set_stock(A.S7_ALTERNATIVE, size="40R", store_code="harbour", quantity=2)
        self.set_stock(A.S7_ORDERED, size="40R", store_code="harbour", quantity=1)
        self.story(s7, "story:s7-online-fit-check")
        return s7

    def story_s8_cancellation(self) -> _Profile:
        """S8: a cancellation twenty minutes ago, refund already recorded."""
        sizes = {"Women/Coats": "S", "Women/Dresses": "6", "Shoes/Women": "7.5"}
        s8 = self.story_client(
            "uptown/sofia",
            "w",
            "Claire Dubois",
            sizes,
            brands=["Wren & Willow"],
            colours=["camel"],
            language="fr",
            years=3,
        )
        self.history(s8)
        coat = [self.line(A.S8_ORDERED, "S")]
        cancelled = self.story_order(
            s8, self.days_ago(2.1), coat, OrderStatus.CANCELLED, online=True
        )
        cancelled.cancelled_at = self.now - dt.timedelta(minutes=20)
        cancelled.cancel_reason = "Cancelled by the client by email: her trip to Montréal is off."
        self.refund(
            cancelled,
            cancelled.total,
            at=self.now - dt.timedelta(minutes=18),
            note="Full refund to the original card; 3 to 5 business days.",
        )
        self.note(
            s8,
            "Cancelled her camel wrap coat online twenty minutes ago; the full refund is recorded. "
            "No selling — a short call to confirm the refund is on its way.",
            at=self.now - dt.timedelta(minutes=15),
            by=None,
        )
        self.story(s8, "story:s8-cancellation")
        return s8

    def story_s6_left_behind(self) -> _Profile:
        """S6: left his new belt at the counter; shoes sell with a care kit."""
        lucas = self.users["lucas"]
        sizes = {"Shoes/Men": "10.5", "Men/Trousers": "34", "Men/Shirts": "16"}
        s6 = self.story_client(
            "harbour/lucas",
            "m",
            "Jim Calloway",
            sizes,
            brands=["Thornbury"],
            colours=["cognac", "brown"],
            years=5,
        )
        s6.sizes["Accessories/Belts"] = "36"
        self.history(s6)
        yesterday = self.today - dt.timedelta(days=1)
        self.story_order(
            s6,
            self.local(yesterday, 17, 40),
            [self.line(A.S6_SHOES, "10.5"), self.line(A.S6_LEFT_BEHIND, "36")],
            OrderStatus.FULFILLED,
            note="Left behind: Jim paid for the cognac belt but left it on the counter. It is in "
            "the hold drawer at the till.",
        )
        self.note(
            s6,
            "Jim left his new cognac belt on the counter after paying — it is in the hold drawer. "
            "He is in town all week; he could use a shoe-care kit for the new oxfords.",
            at=self.local(yesterday, 18, 5),
            by=lucas,
        )
        self.set_stock(A.S6_SURPRISE, size="", store_code="harbour", quantity=6)
        self.story(s6, "story:s6-left-behind", "left-behind")
        return s6

    def story_s4_urgent_saturday(self) -> _Profile:
        """S4: an urgent need for Saturday, when the tailor does not work."""
        saturday = self.today + dt.timedelta(days=(5 - self.today.weekday()) % 7)
        sizes = {"Men/Suits": "42R", "Men/Trousers": "34", "Men/Shirts": "16", "Shoes/Men": "10"}
        s4 = self.story_client(
            "uptown/james",
            "m",
            "Marcus Bell",
            sizes,
            brands=["Ashby & Rowe"],
            colours=["navy"],
            years=3,
        )
        self.history(s4)
        self.data.needs.append(
            Need(
                client=s4.client,
                text=f"A navy suit, hemmed and pressed, ready by {spoken_date(saturday)} at 9 am "
                "— the airline lost his luggage and his brother's wedding is that afternoon",
                budget=Decimal("900.00"),
                stated_at=self.now - dt.timedelta(minutes=40),
            )
        )
        self.note(
            s4,
            "Marcus called: the airline lost his suitcase with his suit in it, and his brother's "
            f"wedding is on {spoken_date(saturday)}. Our tailor does not work Saturdays and we "
            "open at 10. Someone needs to fit him before, have the hem done and get it to him by "
            "9 am Saturday.",
            at=self.now - dt.timedelta(minutes=35),
            by=self.users["james"],
        )
        self.set_stock(A.S4_SUIT, size="42R", store_code="uptown", quantity=1)
        self.story(s4, "story:s4-urgent-saturday", "urgent")
        return s4

    def story_s1_new_arrivals(self) -> list[_Profile]:
        """S1: new arrivals for clients who like just that brand and colour, in their size."""
        found = []
        for where, gender, name, sizes, brand, colour, body in (
            (
                "uptown/sofia",
                "w",
                "Evelyn Marsh",
                {"Women/Dresses": "6"},
                "Maison Lavande",
                "emerald",
                "Asked to hear about the new Maison Lavande silk the moment it lands — a photo by "
                "text is best.",
            ),
            (
                "harbour/lucas",
                "m",
                "Rafael Ortiz",
                {"Men/Knitwear": "M", "Men/Shirts": "15.5"},
                "Oxley",
                "forest green",
                "Loves Oxley knits in green. Wants first pick of the autumn knitwear.",
            ),
            (
                "uptown/sofia",
                "w",
                "Grace Whitmore",
                {"Women/Knitwear": "S", "Women/Tops": "S"},
                "Wren & Willow",
                "cream",
                "Lives in cream and camel cashmere. Tell her when Wren & Willow's new knits "
                "arrive.",
            ),
            (
                "harbour/priya",
                "m",
                "Thomas Reid",
                {"Men/Jackets": "40R", "Men/Suits": "40R"},
                "Marlowe Sartoria",
                "brown",
                "Collects tweed jackets; asked for a call when the Marlowe autumn tweeds come in.",
            ),
        ):
            profile = self.story_client(
                where, gender, name, sizes, brands=[brand], colours=[colour]
            )
            self.history(profile)
            store, who = where.split("/")
            self.note(
                profile, body, at=self.days_ago(self.rng.randint(20, 200)), by=self.users[who]
            )
            for category, size in sizes.items():
                for item in self.by_category.get(category, []):
                    if item.spec.new and item.spec.brand == brand:
                        self.set_stock(item.spec.title, size=size, store_code=store, quantity=2)
            self.story(profile, "story:s1-new-arrivals")
            found.append(profile)
        return found

    def story_slipping_away(self) -> _Profile:
        """A valued regular who came about every three weeks, and not once in six months.

        Drawn from a random stream of its own, so adding this story left the others as they were.
        """
        shared, self.rng = self.rng, random.Random(f"slipping-away-{self.seed}")
        sizes = {"Women/Dresses": "10", "Women/Tops": "M"}
        profile = self.story_client(
            "harbour/priya",
            "w",
            "Beatrice Hale",
            sizes,
            brands=["Juniper Row"],
            colours=["navy", "ivory"],
            years=3,
        )
        profile.price_band = "premium"
        last = self.today - dt.timedelta(days=190)
        day = last - dt.timedelta(days=21 * 34)
        while day <= last:
            lines = self.basket(profile, self.local(day, 12))
            if lines:
                at = self.order_time(day, OrderChannel.STORE)
                self.story_order(profile, at, lines, OrderStatus.FULFILLED)
            day += dt.timedelta(days=21 + self.rng.randint(-3, 3))
        self.story(profile, "story:slipping-away", "vip")
        self.rng = shared
        return profile

    def story_s9_raving_fan(self) -> _Profile:
        """S9: a raving fan who keeps sending friends."""
        sizes = {"Women/Dresses": "8", "Women/Tops": "M"}
        s9 = self.story_client(
            "uptown/sofia",
            "w",
            "Olivia Grant",
            sizes,
            brands=["Juniper Row"],
            colours=["blush", "cobalt"],
            years=5,
        )
        self.history(s9)
        self.note(
            s9,
            "Olivia has sent four friends our way and tells everyone about us. Say thank you.",
            at=self.days_ago(30),
            by=self.users["sofia"],
        )
        self.story(s9, "story:s9-raving-fan", "vip")
        return s9

    def line(self, title: str, size: str) -> tuple[_Item, Variant, int]:
        item = self.by_title[title]
        return item, item.variants[(size, item.colours[0])], 1

    # -- the whole boutique ---------------------------------------------------------------

    def build(self) -> DemoData:
        rng = self.rng
        self.build_stores_and_staff()
        self.build_catalog()
        self.phones = [f"({ac}) 555-{n:04d}" for ac in AREA_CODES for n in range(101, 200)]
        rng.shuffle(self.phones)
        stories = self.build_stories()
        ordinary: list[_Profile] = []
        for index in range(max(0, self.client_count - len(stories))):
            store = self.stores["uptown" if index % 5 < 3 else "harbour"]
            gender = "m" if rng.random() < 0.5 else "w"
            profile = self.new_client(store=store, gender=gender, language=self.pick_language())
            self.add_tastes(profile)
            self.record_profile(profile)
            self.add_needs_and_notes(profile)
            ordinary.append(profile)
        self.households_and_referrals(ordinary)
        # S9's four referrals.
        fan = stories[-1]
        friends = [
            p
            for p in ordinary
            if p.store is fan.store and p.client.created_at > fan.client.created_at
        ][:4]
        for friend in friends:
            self.data.relations.append(
                Relation(
                    client=friend.client,
                    other=fan.client,
                    kind=RelationKind.REFERRED_BY,
                    label="friend",
                    created_at=friend.client.created_at,
                )
            )
        # Birthdays in the next week and anniversaries the week after, for a few clients.
        if ordinary:
            for days, profile in zip(
                (1, 2, 3, 4, 6), rng.sample(ordinary, min(5, len(ordinary))), strict=False
            ):
                self.set_date_in(
                    profile.client, kind=DateKind.BIRTHDAY, days=days, label="Birthday"
                )
            for days, profile in zip(
                (8, 9, 11, 13), rng.sample(ordinary, min(4, len(ordinary))), strict=False
            ):
                self.set_date_in(
                    profile.client,
                    kind=DateKind.ANNIVERSARY,
                    days=days,
                    label="Wedding anniversary",
                )
        for profile in ordinary:
            self.history(profile)
        self.walk_ins(max(20, self.client_count * 3 // 5))
        self.observed_preferences()
        self.data.orders.sort(key=lambda o: o.placed_at)
        for number, order in enumerate(self.data.orders, start=1):
            order.external_ref = f"demo-{order.store.code}-{number:06d}"
        for number, refund in enumerate(self.data.refunds, start=1):
            refund.external_ref = f"demo-refund-{number:06d}"
        return self.data


def build_demo(*, seed: int, now: dt.datetime, clients: int = 500) -> DemoData:
    """Build the whole demo boutique in memory, the same for the same seed and `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return _Builder(seed=seed, now=now, clients=clients).build()


def _same_day_in_year(day: dt.date, year: int) -> dt.date:
    """The same month and day in another year (28 February for a 29 February)."""
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)
