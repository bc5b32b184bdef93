"""What each client is likely to buy next, and which signal says so.

Every product gets a score for every client: the sum of four signals, each built from the
purchase lines before `today` (a line is one product bought by one client on one day).

- **repurchase**, for the products the client has bought:
  `owned_bonus + log(days bought) + propensity x log(p) + last_bought x log(days since)`.
  `p` is how often the product's buyers buy it again (buyers on two days or more over all
  its buyers), smoothed towards its subclass's rate with `propensity_prior` buyers, so a
  product bought once by a few people borrows the habit of its shelf. Milk is bought again,
  a toaster is not: of two products bought as often, the one people come back for ranks first.
- **co-occurrence**, for products the client has not bought: `cooccurrence x log(1 + s / eps)`,
  s the sum of the cosine similarities (over clients) of the product to each product the
  client bought, keeping each product's `neighbours` most similar ones (a sparse product).
- **subclass**, for products the client has not bought: `subclass x log(1 + n / eps)`, n the
  client's lines in the product's subclass: a client who buys noodles tries new noodles.
- **popularity**: `trend x log(1 + lines in the last recent_days) + popularity x log(1 +
  buyers)`, with one pair of weights for products the client owns and one for the others.

The signals add up on a log scale, like log-odds: the bonus puts a product bought before
well above a new one, but a rarely re-bought product bought once long ago can fall below a
new product that is selling now and sits on the client's favourite shelf. A recommendation's
driver is its repurchase for a product bought before, else its larger personal signal
(co-occurrence or subclass) when that is at least 1, else popularity. `NextPurchaseWeights`
holds the values tuned on Ta-Feng's December and January (histories before 2000-12-01 and
2001-01-01, each month's purchases as the truth), picking the weights whose smaller gain over
"repurchase + popularity" of the two months is largest; see docs/evaluation-next-purchase.md.

Scoring is vectorised over a block of clients at once: the owned part is a precomputed sparse
matrix, co-occurrence one sparse product per block, subclass a gather of the client x subclass
counts, and popularity one vector per product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

SIGNALS = ("repurchase", "co-occurrence", "subclass", "popularity")
PERSONAL = 1.0  # a personal signal this large (x e on the odds) explains a new product
BLOCK = 256  # clients scored at once: 4 signals x 256 x products float64 stay in memory


@dataclass(frozen=True)
class NextPurchaseWeights:
    """The weights of the score (see the module's docstring); tuned on Ta-Feng's Dec and Jan."""

    owned_bonus: float = 14.0
    propensity: float = 0.5  # x log(repurchase rate of the product)
    propensity_prior: float = 30.0  # buyers borrowed from the subclass's rate
    last_bought: float = -0.1  # x log(days since the client last bought it)
    owned_trend: float = 0.2
    owned_popularity: float = -0.1
    trend: float = 0.75  # x log(1 + lines in the last `recent_days`)
    popularity: float = 0.5  # x log(1 + distinct buyers)
    recent_days: int = 7
    cooccurrence: float = 0.75
    cooccurrence_eps: float = 0.01
    neighbours: int = 200
    subclass: float = 0.75
    subclass_eps: float = 0.1


@dataclass(frozen=True)
class Purchases:
    """Purchase lines: which client bought which product on which day (a date ordinal)."""

    client: np.ndarray
    product: np.ndarray
    day: np.ndarray


@dataclass(frozen=True)
class Recommendations:
    """The k best products of each client, best first, with the signals behind each."""

    clients: np.ndarray  # client codes, one row each
    products: np.ndarray  # clients x k product codes
    scores: np.ndarray  # clients x k
    signals: np.ndarray  # clients x k x len(SIGNALS): each signal's part of the score

    @property
    def drivers(self) -> np.ndarray:
        """Return, per recommendation, the name of the signal that put it there.

        A product the client bought is there for its repurchase. Popularity is the same for
        every client, so a new product is explained by the larger of its personal signals
        (co-occurrence, subclass) when that one is at least `PERSONAL`, else by popularity.
        """
        repurchase, cooccurrence, subclass, _ = np.moveaxis(self.signals, 2, 0)
        personal = np.where(cooccurrence >= subclass, 1, 2)
        strong = np.maximum(cooccurrence, subclass) >= PERSONAL
        index = np.where(repurchase != 0, 0, np.where(strong, personal, 3))
        return np.asarray(SIGNALS)[index]


@dataclass(frozen=True)
class OwnedPairs:
    """Each (client, product) pair bought, in client then product order, with its history."""

    client: np.ndarray
    product: np.ndarray
    days: np.ndarray  # distinct days the client bought the product
    last_day: np.ndarray  # the last of them (a date ordinal)

    def matrix(self, values: np.ndarray, shape: tuple[int, int]) -> sparse.csr_matrix:
        """Return a client x product matrix holding one value per pair."""
        return sparse.csr_matrix((values, (self.client, self.product)), shape=shape)


def owned_pairs(purchases: Purchases) -> OwnedPairs:
    """Group purchase lines by client and product: distinct days bought and the last one."""
    lines = np.unique(
        np.stack([purchases.client, purchases.product, purchases.day]).astype(np.int64), axis=1
    )
    client, product, day = lines  # sorted by client, product, then day
    if client.size == 0:
        return OwnedPairs(client, product, np.zeros(0), day)
    last = np.r_[(client[1:] != client[:-1]) | (product[1:] != product[:-1]), True]
    ends = np.flatnonzero(last)
    days = np.diff(np.r_[-1, ends]).astype(float)
    return OwnedPairs(client[ends], product[ends], days, day[ends])


def repurchase_rate(
    days_bought: sparse.csr_matrix, product_subclass: np.ndarray, prior: float
) -> np.ndarray:
    """Return each product's share of buyers who bought it on two days or more.

    Smoothed towards the subclass's rate (itself smoothed with 1 re-buyer in 5 buyers) with
    `prior` buyers, so every product has a rate above zero.
    """
    buyers = np.diff(days_bought.tocsc().indptr).astype(float)
    rebuyers = np.bincount(
        days_bought.indices[days_bought.data >= 2], minlength=product_subclass.size
    ).astype(float)
    subclasses = int(product_subclass.max()) + 1
    shelf = (np.bincount(product_subclass, weights=rebuyers, minlength=subclasses) + 1) / (
        np.bincount(product_subclass, weights=buyers, minlength=subclasses) + 5
    )
    return (rebuyers + prior * shelf[product_subclass]) / (buyers + prior)


def cosine_neighbours(bought: sparse.csr_matrix, neighbours: int) -> sparse.csr_matrix:
    """Return the product x product cosine similarity over clients, best `neighbours` per row.

    The diagonal is dropped; ties at the cut keep the lower product code.
    """
    counts = sparse.csr_matrix(bought.T @ bought)
    counts.sort_indices()
    norms = np.sqrt(np.maximum(counts.diagonal(), 1.0))
    rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    values = counts.data / (norms[rows] * norms[counts.indices])
    values[rows == counts.indices] = 0.0
    keep = np.zeros(values.size, dtype=bool)
    for row in np.flatnonzero(np.diff(counts.indptr)):
        start, end = counts.indptr[row], counts.indptr[row + 1]
        keep[start:end] = best_of(values[start:end], neighbours)
    keep &= values > 0
    return sparse.csr_matrix((values[keep], (rows[keep], counts.indices[keep])), shape=counts.shape)


def best_of(values: np.ndarray, k: int) -> np.ndarray:
    """Return a mask of the k largest values, ties at the cut going to the first ones."""
    if values.size <= k:
        return np.ones(values.size, dtype=bool)
    cut = np.partition(values, values.size - k)[values.size - k]
    above = values > cut
    at_cut = values == cut
    return above | (at_cut & (np.cumsum(at_cut) <= k - int(above.sum())))


class NextPurchaseModel:
    """The four signals of every client's next purchase, fitted on the lines before `today`."""

    def __init__(
        self,
        purchases: Purchases,
        *,
        product_subclass: np.ndarray,
        clients: int,
        today: int,
        weights: NextPurchaseWeights | None = None,
    ) -> None:
        """Fit on the lines before `today`; products are 0..len(product_subclass) - 1."""
        w = self.weights = weights or NextPurchaseWeights()
        before = np.asarray(purchases.day) < today
        history = Purchases(
            np.asarray(purchases.client)[before],
            np.asarray(purchases.product)[before],
            np.asarray(purchases.day)[before],
        )
        self.product_subclass = np.asarray(product_subclass, dtype=np.int64)
        shape = (clients, self.product_subclass.size)
        pairs = owned_pairs(history)
        self.days_bought = pairs.matrix(pairs.days, shape)
        self.bought = pairs.matrix(np.ones(pairs.days.size), shape)
        self.rate = repurchase_rate(self.days_bought, self.product_subclass, w.propensity_prior)
        self.similar = cosine_neighbours(self.bought, w.neighbours)
        self.subclass_lines = sparse.csr_matrix(
            (
                np.ones(history.client.size),
                (history.client, self.product_subclass[history.product]),
            ),
            shape=(clients, int(self.product_subclass.max()) + 1),
        )
        recent = history.day >= today - w.recent_days
        trend = np.log1p(np.bincount(history.product[recent], minlength=shape[1]))
        buyers = np.log1p(np.diff(self.bought.tocsc().indptr))
        self.new_popularity = w.trend * trend + w.popularity * buyers
        self.owned_popularity = w.owned_trend * trend + w.owned_popularity * buyers
        self.repurchase = pairs.matrix(self._repurchase(pairs, today), shape)

    def _repurchase(self, pairs: OwnedPairs, today: int) -> np.ndarray:
        """Return the repurchase signal of each owned pair."""
        w = self.weights
        days_since = np.maximum(today - pairs.last_day, 1).astype(float)
        return (
            w.owned_bonus
            + np.log(pairs.days)
            + w.propensity * np.log(self.rate[pairs.product])
            + w.last_bought * np.log(days_since)
        )

    def signals(self, clients: np.ndarray) -> np.ndarray:
        """Return the signals of every product for a block of clients: signal x client x product."""
        w = self.weights
        clients = np.asarray(clients, dtype=np.int64)
        bought = self.bought[clients]
        owned = (np.repeat(np.arange(clients.size), np.diff(bought.indptr)), bought.indices)
        out = np.empty((len(SIGNALS), clients.size, self.product_subclass.size))
        out[0] = self.repurchase[clients].toarray()
        out[1] = log_scaled(bought @ self.similar, w.cooccurrence, w.cooccurrence_eps)
        out[2] = log_scaled(self.subclass_lines[clients], w.subclass, w.subclass_eps)[
            :, self.product_subclass
        ]
        out[1][owned] = 0.0
        out[2][owned] = 0.0
        out[3] = self.new_popularity
        out[3][owned] = self.owned_popularity[owned[1]]
        return out

    def score(self, clients: np.ndarray) -> np.ndarray:
        """Return the clients x products scores (the sum of the signals)."""
        return self.signals(clients).sum(axis=0)

    def recommend(self, clients: np.ndarray, k: int = 10) -> Recommendations:
        """Return each client's k best products, best first, ties to the lower product code."""
        clients = np.asarray(clients, dtype=np.int64)
        parts = [
            self._recommend_block(clients[s : s + BLOCK], k) for s in range(0, clients.size, BLOCK)
        ]
        return Recommendations(
            clients=clients,
            products=np.concatenate([p[0] for p in parts]) if parts else np.empty((0, k), int),
            scores=np.concatenate([p[1] for p in parts]) if parts else np.empty((0, k)),
            signals=(
                np.concatenate([p[2] for p in parts]) if parts else np.empty((0, k, len(SIGNALS)))
            ),
        )

    def _recommend_block(
        self, clients: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the top k products, their scores and their signals for one block."""
        signals = self.signals(clients)
        scores = signals.sum(axis=0)
        best = top_k(scores, k)
        rows = np.arange(clients.size)[:, None]
        picked = np.moveaxis(signals[:, rows, best], 0, 2)
        return best, scores[rows, best], picked

    def favourite_subclasses(self, client: int, n: int = 3) -> list[tuple[int, int]]:
        """Return the client's n subclasses with the most lines: (subclass, lines), most first."""
        row = self.subclass_lines[client]
        order = np.lexsort((row.indices, -row.data))[:n]
        return [(int(row.indices[i]), int(row.data[i])) for i in order]

    def because_of(self, client: int, product: int) -> int | None:
        """Return the product the client bought that is most similar to `product`, if any."""
        owned = self.bought[client].indices
        if owned.size == 0:
            return None
        similarity = self.similar[owned].toarray()[:, product]
        if similarity.max() <= 0:
            return None
        return int(owned[similarity.argmax()])


def log_scaled(counts: sparse.spmatrix, weight: float, eps: float) -> np.ndarray:
    """Return weight x log(1 + counts / eps) as a dense array (zero stays zero)."""
    scaled = sparse.csr_matrix(counts, dtype=np.float64, copy=True)
    scaled.data = weight * np.log1p(scaled.data / eps)
    return scaled.toarray()


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Return, per row, the column indices of the k best scores, best first, ties to the lower."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    picked = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -picked), axis=1)
    return np.take_along_axis(part, order, axis=1)
