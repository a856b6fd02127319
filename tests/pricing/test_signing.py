"""Signed quotes (pricing/signing.py): the terms survive the round trip, and any change, another key, or
another merchant, drop-off or a time past the expiry is refused naming the field."""

from __future__ import annotations

import pytest

from core.errors import InvalidArgument
from pricing.signing import QuoteSigner, QuoteTerms

TERMS = QuoteTerms("q1", "m1", 60.172212, 24.947, 1_234, 200, 100, 1_000, 301_000)


def test_terms_survive_signing_and_opening() -> None:
    signer = QuoteSigner(b"k" * 32)
    assert signer.open(signer.sign(TERMS)) == TERMS
    assert signer.check(signer.sign(TERMS), "m1", 60.1722121, 24.947, now_ms=300_999) == TERMS


@pytest.mark.parametrize("position", [3, 10, 30, -3])
def test_any_changed_character_is_refused(position: int) -> None:
    signer = QuoteSigner(b"k" * 32)
    token = signer.sign(TERMS)
    changed = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
    with pytest.raises(InvalidArgument) as err:
        signer.open(changed)
    assert err.value.violations[0].field == "delivery_quote"


def test_another_key_merchant_dropoff_or_a_late_time_is_refused() -> None:
    signer = QuoteSigner(b"k" * 32)
    token = signer.sign(TERMS)
    with pytest.raises(InvalidArgument, match="signature"):
        QuoteSigner(b"x" * 32).open(token)
    with pytest.raises(InvalidArgument, match="merchant m1, not m2"):
        signer.check(token, "m2", TERMS.dropoff_lat, TERMS.dropoff_lng, now_ms=2_000)
    with pytest.raises(InvalidArgument, match="drop-off"):
        signer.check(token, "m1", TERMS.dropoff_lat + 0.0001, TERMS.dropoff_lng, now_ms=2_000)
    with pytest.raises(InvalidArgument, match="expired"):
        signer.check(token, "m1", TERMS.dropoff_lat, TERMS.dropoff_lng, now_ms=301_000)
    with pytest.raises(InvalidArgument, match="at most"):
        signer.open("q1." + "A" * 2_000 + ".x")
