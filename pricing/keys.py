"""Redis key names of the pricing package: everything under one hash tag, `{pricing}`.

Areas, the cell index, rules, conditions, promotions and surge share the tag so that a quote reads all it
needs in one script and an area change (its cells and the index) is one script. On a Redis Cluster the
tag is one slot, as `{money}` is for the order center; the index stays small (a merchant appears once
per cell of its area).
"""

from __future__ import annotations

TAG = "{pricing}"
PREFIX = f"tc:{TAG}:"


def area_key(merchant_id: str) -> str:
    """hash: spec (JSON), fingerprint, cells (JSON [[cell, depth], ...]), max_depth."""
    return f"{PREFIX}area:{merchant_id}"


def area_cell_key(cell: str) -> str:
    """hash: merchant -> depth of this cell in its area (0: the outer ring)."""
    return f"{PREFIX}areacell:{cell}"


def area_cell_ids_key(cell: str) -> str:
    """zset, every score 0: the merchants whose area holds this cell, paged by id (ZRANGEBYLEX)."""
    return f"{PREFIX}cellids:{cell}"


AREAS = f"{PREFIX}areas"  # hash: merchant -> "surge cell|max depth" (what the refresh shrinks)
SHRINK = f"{PREFIX}shrink"  # hash: merchant -> outer rings dropped now
RULES = f"{PREFIX}rules"  # string: the rules (JSON); absent: the defaults
CONDITIONS = f"{PREFIX}conditions"  # hash: condition area -> "weather|until ms"
SURGE = f"{PREFIX}surge"  # hash: res-8 cell -> "factor|smoothed ratio|free riders|open orders|ms changed"


def promotions_key(merchant_id: str) -> str:
    """string: the merchant's delivery promotions (JSON list)."""
    return f"{PREFIX}promo:{merchant_id}"
