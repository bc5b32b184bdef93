"""Which client's offer answers which other client's need: word overlap with stems and synonyms.

An offer is short ("caterer", "wedding photographer"); a need is a sentence in the client's own
words ("needs a caterer for a summer party"). Both are reduced to concepts: words lower-cased,
possessives and common suffixes stripped ("catering", "caterers" → "cater"), and words of one
trade mapped to one name through SYNONYMS ("chef", "catering" → "cater"). An offer matches a
need when they share a concept that names a trade or a service, not only an occasion: "family
lawyer" and "a dress for a family dinner" share "family", which is no reason to introduce two
people. The score is the share of the offer's concepts the need mentions, so "caterer" scores 1
against any need that asks for catering, and "wedding photographer" 0.5 against "a
photographer for the party".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Words of one trade or service, each group under one name (its key).
SYNONYMS: dict[str, frozenset[str]] = {
    "cater": frozenset({"cater", "caterer", "catering", "chef", "cook", "cooking", "food"}),
    "photo": frozenset(
        {"photo", "photos", "photograph", "photographer", "photography", "photographs"}
    ),
    "video": frozenset({"video", "videographer", "videography", "film", "filming"}),
    "flower": frozenset({"florist", "flower", "flowers", "floral", "bouquet", "bouquets"}),
    "music": frozenset({"music", "musician", "band", "dj", "pianist", "singer", "quartet"}),
    "tailor": frozenset({"tailor", "tailoring", "alteration", "alterations", "seamstress"}),
    "legal": frozenset({"lawyer", "attorney", "solicitor", "legal", "notary"}),
    "account": frozenset({"accountant", "accounting", "bookkeeper", "bookkeeping", "tax"}),
    "plan": frozenset({"planner", "planning", "organiser", "organizer", "coordinator"}),
    "cake": frozenset({"cake", "cakes", "baker", "bakery", "pastry", "patisserie"}),
    "wine": frozenset({"wine", "wines", "sommelier", "vintner", "winemaker"}),
    "hair": frozenset({"hair", "hairdresser", "hairstylist", "barber", "makeup", "stylist"}),
    "childcare": frozenset({"babysitter", "babysitting", "nanny", "childcare", "childminder"}),
    "fitness": frozenset({"trainer", "fitness", "coach", "coaching", "yoga", "pilates"}),
    "build": frozenset({"builder", "contractor", "renovation", "renovate", "carpenter"}),
    "design": frozenset({"designer", "interior", "interiors", "decorator", "decorating"}),
    "print": frozenset({"printer", "printing", "stationery", "invitation", "invitations"}),
    "transport": frozenset({"driver", "chauffeur", "limo", "limousine", "transport"}),
    "venue": frozenset({"venue", "hall"}),
    "translate": frozenset({"translator", "translation", "interpreter"}),
}
_CONCEPT_OF = {word: concept for concept, words in SYNONYMS.items() for word in words}

# Occasions and other words that say when or why, never who could help: shared alone, they are
# no reason for an introduction.
OCCASION_WORDS = frozenset(
    {
        "party",
        "summer",
        "winter",
        "spring",
        "autumn",
        "fall",
        "wedding",
        "birthday",
        "anniversary",
        "dinner",
        "lunch",
        "event",
        "family",
        "friend",
        "office",
        "holiday",
        "work",
        "business",
        "home",
        "weekend",
        "gala",
        "graduation",
        "christmas",
        "new",
        "good",
        "small",
        "big",
        "local",
    }
)
STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "at",
        "be",
        "by",
        "can",
        "for",
        "from",
        "has",
        "have",
        "her",
        "his",
        "i",
        "in",
        "is",
        "it",
        "looking",
        "my",
        "need",
        "needs",
        "needed",
        "not",
        "of",
        "on",
        "or",
        "our",
        "she",
        "he",
        "some",
        "someone",
        "something",
        "that",
        "the",
        "their",
        "them",
        "they",
        "to",
        "too",
        "want",
        "wants",
        "who",
        "with",
        "would",
        "like",
        "offer",
        "offers",
        "service",
        "services",
        "help",
    }
)
MIN_SCORE = 0.5
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class Text:
    """An offer or a need: its id, its client and its words."""

    id: int
    client_id: int
    text: str


@dataclass(frozen=True)
class Match:
    """An offer that answers a need, with the concepts they share and how much of the offer."""

    offer_id: int
    need_id: int
    offer_client_id: int
    need_client_id: int
    score: float
    shared: tuple[str, ...]


def stem(word: str) -> str:
    """Strip a possessive and common endings ("parties" → "party", "caterings" → "cater")."""
    word = word.removesuffix("'s").removesuffix("'")
    while (shorter := _strip_one(word)) != word:
        word = shorter
    return word


def _strip_one(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def concept(word: str) -> str:
    """The concept a word stands for: its synonym group, else its stem."""
    if word in _CONCEPT_OF:
        return _CONCEPT_OF[word]
    stemmed = stem(word)
    return _CONCEPT_OF.get(stemmed, stemmed)


def concepts(text: str) -> frozenset[str]:
    """The concepts of a text, without stop words; "needs a caterer" → {"cater"}."""
    words = WORD.findall(text.lower().replace("\u2019", "'"))
    return frozenset(concept(w) for w in words if w not in STOPWORDS and len(w) > 1)


def _is_service(name: str) -> bool:
    return name not in _OCCASIONS


_OCCASIONS = frozenset(concept(word) for word in OCCASION_WORDS)


def match(offer: Text, need: Text) -> Match | None:
    """Say whether the offer answers the need, and how well; None when it does not."""
    if offer.client_id == need.client_id:
        return None
    offered = concepts(offer.text)
    if not offered:
        return None
    shared = offered & concepts(need.text)
    if not any(_is_service(name) for name in shared):
        return None
    score = len(shared) / len(offered)
    if score < MIN_SCORE:
        return None
    return Match(
        offer_id=offer.id,
        need_id=need.id,
        offer_client_id=offer.client_id,
        need_client_id=need.client_id,
        score=round(score, 3),
        shared=tuple(sorted(shared)),
    )


def match_offers_to_needs(offers: Iterable[Text], needs: Iterable[Text]) -> list[Match]:
    """Return every offer-need pair that matches, best first, then by offer and need id."""
    needs = list(needs)
    found = [m for offer in offers for need in needs if (m := match(offer, need)) is not None]
    return sorted(found, key=lambda m: (-m.score, m.offer_id, m.need_id))
