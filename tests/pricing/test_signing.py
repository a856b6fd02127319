"""Signed quotes and page tokens (pricing/signing.py): the terms survive the round trip, and any change,
another key, or another merchant, drop-off or a time past the expiry is refused naming the field; a page
token holds only for its cell and filter."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from core.errors import InvalidArgument
from pricing.signing import PageTokens, QuoteSigner, QuoteTerms, _b64

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


def test_the_basket_is_bound_and_a_token_signed_before_it_was_reads_as_none() -> None:
    """The basket survives the round trip; a 9-term token (signed before baskets were bound) opens with 0."""
    signer = QuoteSigner(b"k" * 32)
    assert signer.open(signer.sign(replace(TERMS, items_fen=1_850))).items_fen == 1_850
    body = [TERMS.quote_id, TERMS.merchant_id, TERMS.dropoff_lat, TERMS.dropoff_lng, TERMS.fee_fen, TERMS.surge_fen,
            TERMS.rider_surge_fen, TERMS.issued_ms, TERMS.expires_ms]  # fmt: skip
    signed = f"q1.{_b64(json.dumps(body, separators=(',', ':')).encode())}"
    assert signer.open(f"{signed}.{signer._mac(signed)}") == TERMS


def test_page_tokens_hold_only_for_their_cell_and_filter_and_under_their_own_key() -> None:
    """A page token opens to its last id for the same cell and include_closed; another cell, the other
    filter, a changed character, or a token made under the quote key itself is refused naming page_token."""
    signer = QuoteSigner(b"k" * 32)
    pages = signer.page_tokens()
    token = pages.sign("891126d33abffff", False, "m42")
    assert pages.open(token, "891126d33abffff", False) == "m42"
    for cell, closed in (("891126d33afffff", False), ("891126d33abffff", True)):
        with pytest.raises(InvalidArgument, match="another place") as err:
            pages.open(token, cell, closed)
        assert err.value.violations[0].field == "page_token"
    changed = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(InvalidArgument, match="signature"):
        pages.open(changed, "891126d33abffff", False)
    with pytest.raises(InvalidArgument, match="signature"):
        pages.open(PageTokens(b"k" * 32).sign("891126d33abffff", False, "m42"), "891126d33abffff", False)
