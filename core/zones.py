"""IANA time zones from the pinned `tzdata` package, so every host computes the same local times.

`zoneinfo` prefers the operating system's zone files, whose version differs from host to host (and
which slim containers lack): a resource's slots or a merchant's hours would then move with the OS
package. Loading from `tzdata` (a pinned dependency) makes the rules part of the release.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import zoneinfo

from core.errors import FieldViolation
from core.validation import quote

# A zone name: path components of letters, digits and - + _ (e.g. America/Argentina/Buenos_Aires, Etc/GMT+8).
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]{1,40}(/[A-Za-z0-9_+\-]{1,40}){0,2}", re.ASCII)


@functools.cache
def _names() -> frozenset[str]:
    listing = importlib.resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in listing.splitlines() if line.strip())


def is_zone(name: str) -> bool:
    return _ZONE_NAME.fullmatch(name) is not None and name in _names()


def zone_violation(field: str, name: str) -> FieldViolation | None:
    if not name:
        return FieldViolation(field, "required (an IANA zone name such as Asia/Shanghai)")
    if not is_zone(name):
        return FieldViolation(field, f"must be an IANA zone name such as Asia/Shanghai, got {quote(name)}")
    return None


@functools.cache
def load_zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone from the tzdata package (checked by `is_zone` first: a bad name raises ValueError)."""
    if not is_zone(name):
        raise ValueError(f"not an IANA zone: {name!r}")
    parts = name.split("/")
    resource = importlib.resources.files("tzdata.zoneinfo").joinpath(*parts)
    with resource.open("rb") as f:
        return zoneinfo.ZoneInfo.from_file(f, key=name)
