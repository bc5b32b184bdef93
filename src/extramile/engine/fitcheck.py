"""Fit check: how well an ordered item answers the client's stated needs and likes, in words.

A transparent first version, on purpose: it looks for a small set of concepts (fabric weight,
season, dark or light colour, formality) in the need's text and in the item's title, material,
colour and style tags, and counts each concept the item shares with the need as a match and each
opposite concept (lightweight ↔ heavy, summer ↔ winter, dark ↔ light, formal ↔ casual) as a
conflict; a price over the budget is a conflict, and stated likes and dislikes of brand, colour,
style, category and material count too. Each counts with a weight (WEIGHTS: a need's concept,
the budget and a dislike 1, a like 0.5), and the score is (matches + 1) / (matches + conflicts
+ 2): 0.5 when nothing is known, below 0.5 (poor) when the conflicts outweigh the matches.

Its limits, stated so nobody over-trusts it: it reads words, not meaning ("not too heavy" reads
as "heavy"; a bare "light" is ignored because it may mean weight or colour); it knows only the
concepts in `CONCEPTS`, in English; brown and other middle colours are neither dark nor light;
a price band like "premium" is not scored, since its meaning depends on the category; and a need
applies to an item only when it names a word of the item's category path (or names no category
at all).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

# A score below this means the conflicts outweigh the matches.
POOR_FIT = 0.5
# Fabric weights in ounces per yard: at or under LIGHT_OZ reads as lightweight, at or over
# HEAVY_OZ as heavy (a summer suiting is 7 to 9 oz, a winter tweed 13 oz and up).
LIGHT_OZ = 9.0
HEAVY_OZ = 13.0
# An alternative costs at most this much more than the ordered item, and at least this much less.
PRICE_BAND = Decimal("0.10")
# A pricier alternative must fit this much better than a cheaper or equal one to rank above it.
PRICIER_MARGIN = 0.05

WEIGHTS = {"need": 1.0, "budget": 1.0, "dislike": 1.0, "like": 0.5}


@dataclass(frozen=True)
class Concept:
    """A quality a need can ask for and an item can have, with the words that show it."""

    name: str
    label: str
    words: tuple[str, ...]
    fields: tuple[str, ...]  # the item fields read, most telling first


CONCEPTS: dict[str, Concept] = {
    c.name: c
    for c in (
        Concept(
            "lightweight",
            "lightweight",
            (
                "lightweight",
                "light weight",
                "featherweight",
                "summer weight",
                "breathable",
                "tropical",
                "linen",
                "seersucker",
                "airy",
            ),
            ("material", "title", "tags"),
        ),
        Concept(
            "heavy",
            "heavy",
            ("heavy", "heavyweight", "tweed", "flannel", "corduroy", "moleskin", "thick", "chunky"),
            ("material", "title", "tags"),
        ),
        Concept(
            "summer",
            "for warm weather",
            ("summer", "spring", "hot", "heat", "warm weather", "beach", "tropical", "linen"),
            ("tags", "title", "material"),
        ),
        Concept(
            "winter",
            "for cold weather",
            ("winter", "autumn", "cold", "snow", "tweed", "flannel", "shearling"),
            ("tags", "title", "material"),
        ),
        Concept(
            "dark",
            "dark",
            ("dark", "navy", "black", "charcoal", "midnight", "ink"),
            ("colour", "title"),
        ),
        Concept(
            "light_colour",
            "light-coloured",
            (
                "light grey",
                "light gray",
                "light blue",
                "pale",
                "white",
                "cream",
                "ivory",
                "sand",
                "beige",
                "stone",
                "pastel",
                "blush",
            ),
            ("colour", "title"),
        ),
        Concept(
            "formal",
            "formal",
            ("formal", "black tie", "tuxedo", "dinner suit", "evening"),
            ("tags", "title"),
        ),
        Concept("casual", "casual", ("casual", "relaxed", "weekend"), ("tags", "title")),
    )
}
OPPOSITES = {
    "lightweight": "heavy",
    "heavy": "lightweight",
    "summer": "winter",
    "winter": "summer",
    "dark": "light_colour",
    "light_colour": "dark",
    "formal": "casual",
    "casual": "formal",
}
AUDIENCE_WORDS = frozenset(
    {
        "men",
        "mens",
        "man",
        "women",
        "womens",
        "woman",
        "kids",
        "children",
        "unisex",
        "boys",
        "girls",
    }
)
_OUNCES = re.compile(r"(\d+(?:\.\d+)?)\s*oz\b")
_BUDGET_IN_TEXT = re.compile(r"\b(?:under|below|less than|max(?:imum)?|up to)\s*\$?\s*(\d[\d,]*)")


@dataclass(frozen=True)
class ItemAttributes:
    """What the catalog says about one product; `key` is the caller's id for it."""

    key: int | str
    title: str
    category: str = ""
    brand: str = ""
    colour: str = ""
    material: str = ""
    style_tags: tuple[str, ...] = ()
    price: Decimal | None = None


@dataclass(frozen=True)
class StatedNeed:
    """A need in the client's own words, with an optional budget."""

    text: str
    budget: Decimal | None = None


@dataclass(frozen=True)
class Taste:
    """A like or dislike: dimension is brand, colour, style, category, material or other."""

    dimension: str
    value: str
    likes: bool = True


@dataclass(frozen=True)
class FitResult:
    """How well one item fits, and why: each match and conflict in words."""

    score: float
    need: StatedNeed | None
    matches: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()

    @property
    def poor(self) -> bool:
        """Say whether the conflicts outweigh the matches."""
        return self.score < POOR_FIT

    @property
    def reasons(self) -> tuple[str, ...]:
        """Conflicts first, then matches."""
        return self.conflicts + self.matches


@dataclass(frozen=True)
class Alternative:
    """An item that fits better than the one ordered, at about the same price."""

    item: ItemAttributes
    fit: FitResult
    price_change: Decimal  # alternative price minus ordered price


@dataclass
class _Tally:
    matches: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    plus: float = 0.0
    minus: float = 0.0

    def match(self, text: str, weight: float) -> None:
        self.matches.append(text)
        self.plus += weight

    def conflict(self, text: str, weight: float) -> None:
        self.conflicts.append(text)
        self.minus += weight


def normalise(text: str) -> str:
    """Lower-case, hyphens and punctuation to spaces, padded so phrases match on word edges."""
    cleaned = re.sub(r"[^a-z0-9$.]+", " ", text.casefold().replace("-", " "))
    return f" {' '.join(cleaned.split())} "


def _has_word(text: str, word: str) -> bool:
    """Say whether the normalised `text` holds `word` (or its plural) as whole words."""
    return f" {word} " in text or f" {word}s " in text


def _found(text: str, concept: Concept) -> str | None:
    """Return the first of the concept's words found in the normalised text."""
    return next((word for word in concept.words if _has_word(text, word)), None)


def _ounces(material: str) -> float | None:
    found = _OUNCES.search(material.casefold())
    return float(found.group(1)) if found else None


def _evidence(item: ItemAttributes, concept: Concept) -> str | None:
    """Quote the item's field that shows the concept, most telling field first."""
    for name in concept.fields:
        if name == "tags":
            tags = [tag for tag in item.style_tags if _found(normalise(tag), concept)]
            if tags:
                return "tagged " + ", ".join(tags)
            continue
        value = {"title": item.title, "material": item.material, "colour": item.colour}[name]
        if value and _found(normalise(value), concept):
            return value
    return None


def item_concepts(item: ItemAttributes) -> dict[str, str]:
    """Return the concepts the item shows, each with the evidence that shows it."""
    found: dict[str, str] = {}
    for concept in CONCEPTS.values():
        evidence = _evidence(item, concept)
        if evidence is not None:
            found[concept.name] = evidence
    ounces = _ounces(item.material)
    if ounces is not None and ounces <= LIGHT_OZ:
        found.setdefault("lightweight", item.material)
    if ounces is not None and ounces >= HEAVY_OZ:
        found.setdefault("heavy", item.material)
    return found


def need_concepts(need: StatedNeed) -> dict[str, str]:
    """Return the concepts the need asks for, each with the client's own word for it."""
    text = normalise(need.text)
    found: dict[str, str] = {}
    for concept in CONCEPTS.values():
        word = _found(text, concept)
        if word is not None:
            found[concept.name] = word
    return found


def need_budget(need: StatedNeed) -> Decimal | None:
    """The need's budget, else one written in its text ("under $600")."""
    if need.budget is not None:
        return need.budget
    found = _BUDGET_IN_TEXT.search(need.text.casefold())
    return Decimal(found.group(1).replace(",", "")) if found else None


def _category_words(category: str) -> set[str]:
    """The words of a category path, singular and plural: "Shoes/Men" → shoe, shoes.

    Words that name the audience rather than the product ("men", "women", "kids") are left out,
    so "shoes for men" does not read as a need for a suit from "Men/Suits".
    """
    words = set(normalise(category.replace("/", " ")).split()) - AUDIENCE_WORDS
    return words | {w[:-1] for w in words if w.endswith("s") and len(w) > 3}


def need_relevance(need: StatedNeed, item: ItemAttributes, known_categories: Iterable[str]) -> int:
    """2 if the need names the item's category, 1 if it names no category, 0 if another."""
    text = normalise(need.text)
    if any(_has_word(text, word) for word in _category_words(item.category)):
        return 2
    others = set().union(*(_category_words(c) for c in known_categories))
    if any(_has_word(text, word) for word in others):
        return 0
    return 1


def pick_need(
    item: ItemAttributes, needs: Sequence[StatedNeed], known_categories: Iterable[str] = ()
) -> StatedNeed | None:
    """Return the need that applies to the item: the most specific one, earliest on ties."""
    known = list(known_categories)
    best: tuple[int, StatedNeed] | None = None
    for need in needs:
        relevance = need_relevance(need, item, known)
        if relevance and (best is None or relevance > best[0]):
            best = (relevance, need)
    return best[1] if best else None


def _money(value: Decimal) -> str:
    return f"${value:,.0f}" if value == value.to_integral_value() else f"${value:,.2f}"


def _check_need(item: ItemAttributes, need: StatedNeed, tally: _Tally) -> None:
    shown = item_concepts(item)
    for name, word in need_concepts(need).items():
        if name in shown:
            tally.match(f"{shown[name]}: '{word}', as asked", WEIGHTS["need"])
        elif OPPOSITES[name] in shown:
            tally.conflict(f"{shown[OPPOSITES[name]]} vs '{word}'", WEIGHTS["need"])
    budget = need_budget(need)
    if budget is not None and item.price is not None:
        if item.price > budget:
            tally.conflict(
                f"{_money(item.price)} vs a budget of {_money(budget)}", WEIGHTS["budget"]
            )
        else:
            tally.match(
                f"{_money(item.price)}, within the {_money(budget)} budget", WEIGHTS["budget"]
            )


def _taste_applies(item: ItemAttributes, taste: Taste) -> bool:
    value = normalise(taste.value)
    if value.strip() == "":
        return False
    if taste.dimension == "brand":
        return normalise(item.brand) == value
    if taste.dimension == "colour":
        return value in normalise(item.colour)
    if taste.dimension == "style":
        return any(normalise(tag) == value for tag in item.style_tags) or value in normalise(
            item.title
        )
    if taste.dimension == "category":
        return value in normalise(item.category.replace("/", " "))
    if taste.dimension == "material":
        return value in normalise(item.material)
    return False  # price bands and free text are not scored (see the module's limits)


def _check_tastes(item: ItemAttributes, tastes: Iterable[Taste], tally: _Tally) -> None:
    for taste in tastes:
        if not _taste_applies(item, taste):
            continue
        if taste.likes:
            tally.match(f"{taste.value}: a {taste.dimension} they like", WEIGHTS["like"])
        else:
            tally.conflict(f"{taste.value}: a {taste.dimension} they dislike", WEIGHTS["dislike"])


def check_fit(
    item: ItemAttributes,
    *,
    needs: Sequence[StatedNeed] = (),
    tastes: Iterable[Taste] = (),
    known_categories: Iterable[str] = (),
) -> FitResult:
    """Score how well the item fits the need that applies to it and the client's likes.

    `needs` are the client's open needs, most recent first; `known_categories` are the store's
    category paths, so that a need naming another category ("shoes for the wedding") is not held
    against a suit.
    """
    tally = _Tally()
    need = pick_need(item, needs, known_categories)
    if need is not None:
        _check_need(item, need, tally)
    _check_tastes(item, tastes, tally)
    score = (tally.plus + 1.0) / (tally.plus + tally.minus + 2.0)
    return FitResult(
        score=round(score, 4),
        need=need,
        matches=tuple(tally.matches),
        conflicts=tuple(tally.conflicts),
    )


def within_price_band(price: Decimal | None, ordered: Decimal | None) -> bool:
    """Say whether `price` is within ±10% of the ordered price (never more than +10%)."""
    if price is None or ordered is None:
        return False
    return ordered * (1 - PRICE_BAND) <= price <= ordered * (1 + PRICE_BAND)


def better_alternatives(
    ordered: ItemAttributes,
    ordered_fit: FitResult,
    candidates: Iterable[ItemAttributes],
    *,
    needs: Sequence[StatedNeed] = (),
    tastes: Iterable[Taste] = (),
    known_categories: Iterable[str] = (),
) -> list[Alternative]:
    """Rank the candidates that fit better than the ordered item at about the same price.

    Never an upsell: a candidate more than 10% pricier is dropped whatever its fit. Of the rest,
    only those that fit well (not poor) and better than the ordered item are kept; the best fit
    comes first, and a pricier one must fit clearly better (by PRICIER_MARGIN) to rank above a
    cheaper or equal one.
    """
    tastes = list(tastes)
    known = list(known_categories)
    found: list[Alternative] = []
    for candidate in candidates:
        if candidate.key == ordered.key or not within_price_band(candidate.price, ordered.price):
            continue
        fit = check_fit(candidate, needs=needs, tastes=tastes, known_categories=known)
        if fit.poor or fit.score <= ordered_fit.score:
            continue
        assert candidate.price is not None  # within_price_band says so
        assert ordered.price is not None
        found.append(Alternative(candidate, fit, candidate.price - ordered.price))

    def rank(alternative: Alternative) -> tuple[float, Decimal, str]:
        pricier = alternative.price_change > 0
        return (
            -(alternative.fit.score - (PRICIER_MARGIN if pricier else 0.0)),
            alternative.price_change,
            str(alternative.item.key),
        )

    return sorted(found, key=rank)
