"""The holdout draw: a share of eligible marketing actions is held out to measure lift.

The draw is a hash of the action's key rather than a random number, so that the same moment is
always decided the same way (a rerun, a test, an audit) while keys still fall evenly: the first
eight bytes of SHA-256 of the key, read as a number in [0, 1), are compared with the share.
"""

from __future__ import annotations

import hashlib


def holdout_draw(key: str) -> float:
    """Return the key's fixed draw in [0, 1)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_held_out(key: str, share: float) -> bool:
    """Say whether the moment with this key falls in the holdout of this share (0 to 1)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"A holdout share is between 0 and 1, not {share}.")
    return holdout_draw(key) < share
