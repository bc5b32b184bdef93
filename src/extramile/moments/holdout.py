"""Which moments are held out: the draw is made on a key free of database ids.

A database id differs between installs (and between SQLite and PostgreSQL, or a fresh load of
the same data), so a draw on "important_date:42:birthday:2026" would hold out different moments
on each. The holdout key names the moment by what stays the same wherever the data is loaded:
the kind, the client's own reference in their store (the POS or import reference, else their
Shopify id, else their email, else their phone) and the occasion as the detector names it
("birthday:2026"; for a detector that names none, the references of the products shown). The
draw itself is extramile.engine.holdout's: a hash, so the share of moments held out is the
configured share, and a moment is decided the same way every time.

Only a client with none of those references, or a candidate with neither an occasion nor a
product, falls back to database ids, which hold on this install only.
"""

from __future__ import annotations

from extramile.clients.models import Client
from extramile.engine.holdout import holdout_draw
from extramile.moments.candidates import Candidate
from extramile.moments.models import ActionKind


def client_identity(client: Client) -> str:
    """Name the client the same way on any install: store code and their own reference."""
    if client.external_ref:
        own = f"ref:{client.external_ref}"
    elif client.shopify_id is not None:
        own = f"shopify:{client.shopify_id}"
    elif client.email:
        own = f"email:{client.email.strip().lower()}"
    elif client.phone:
        own = f"phone:{client.phone.strip()}"
    else:
        own = f"id:{client.pk}"  # nothing else to go by: this install only
    return f"{client.store.code}:{own}"


def occasion_of(candidate: Candidate) -> str:
    """The occasion without database ids: the detector's, else the products shown."""
    if candidate.occasion:
        return candidate.occasion
    refs = sorted({item.product.external_ref for item in candidate.products})
    if refs and all(refs):
        return "products:" + ",".join(refs)
    return f"key:{candidate.key}"  # this install only


def holdout_key(candidate: Candidate) -> str:
    """The moment's name for the holdout draw: kind, client and occasion, free of database ids."""
    kind = ActionKind(candidate.kind).value
    return f"{kind}|{client_identity(candidate.client)}|{occasion_of(candidate)}"


def draw_for(candidate: Candidate) -> float:
    """The candidate's fixed draw in [0, 1); it is held out when the draw is below the share."""
    return holdout_draw(holdout_key(candidate))
