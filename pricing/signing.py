"""Signed quotes: the terms of a quote in a token the order center checks without a Redis read.

A token is `q1.<payload>.<mac>`: the payload is the compact JSON of the terms (quote id, merchant,
drop-off to 1e-6 degrees, fee, surge and riders' share of it, issue and expiry ms, the basket priced),
base64url; the mac
is HMAC-SHA256 of `q1.<payload>` under the server's quote key (a dev key file beside the token keys, or
one an operator gives), base64url of its first 16 bytes. The key never leaves the servers; a client can
read a token's terms but not change them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import InvalidArgument

VERSION = "q1"
MAX_TOKEN_CHARS = 1_024
# Drop-offs are compared to the quote's within this (the client sends back the place it was quoted for;
# a float's round trip through JSON and protobuf is exact, so this only absorbs clients that round to 6 digits).
DROPOFF_TOLERANCE_DEG = 2e-6


@dataclass(frozen=True)
class QuoteTerms:
    """What a quote binds: who delivers where, at what fee, until when."""

    quote_id: str
    merchant_id: str
    dropoff_lat: float
    dropoff_lng: float
    fee_fen: int
    surge_fen: int
    rider_surge_fen: int
    issued_ms: int
    expires_ms: int
    # The basket the fee was priced on (its small-order line): an order of a smaller basket cannot use it.
    items_fen: int = 0


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class QuoteSigner:
    """Signs and opens quote tokens under one key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a quote key needs at least 16 bytes")
        self._key = key

    def _mac(self, signed: str) -> str:
        return _b64(hmac.new(self._key, signed.encode(), hashlib.sha256).digest()[:16])

    def page_tokens(self) -> PageTokens:
        """FindMerchantsDelivering's page tokens, under a key derived from this one."""
        return PageTokens(hmac.new(self._key, b"tongcheng/pricing/page-token", hashlib.sha256).digest())

    def sign(self, t: QuoteTerms) -> str:
        body = [t.quote_id, t.merchant_id, round(t.dropoff_lat, 6), round(t.dropoff_lng, 6), t.fee_fen, t.surge_fen,
                t.rider_surge_fen, t.issued_ms, t.expires_ms, t.items_fen]  # fmt: skip
        signed = f"{VERSION}.{_b64(json.dumps(body, separators=(',', ':')).encode())}"
        return f"{signed}.{self._mac(signed)}"

    def open(self, token: str, field: str = "delivery_quote") -> QuoteTerms:
        """The terms of a token this server signed; INVALID_ARGUMENT naming `field` for anything else."""
        payload = _signed_payload(token, VERSION, self._mac, MAX_TOKEN_CHARS, field,
                                  "a delivery quote of PricingService.QuoteDelivery", "quote")  # fmt: skip
        try:
            b = json.loads(_unb64(payload))
            # A token signed before the basket was bound has 9 terms: it priced no basket.
            return QuoteTerms(str(b[0]), str(b[1]), float(b[2]), float(b[3]), int(b[4]), int(b[5]), int(b[6]),
                              int(b[7]), int(b[8]), int(b[9]) if len(b) > 9 else 0)  # fmt: skip
        except (ValueError, TypeError, IndexError, binascii.Error):  # signed by us, so never in practice
            raise InvalidArgument.field(field, "unreadable quote") from None

    def check(
        self, token: str, merchant_id: str, lat: float, lng: float, now_ms: int | None, field: str = "delivery_quote"
    ) -> QuoteTerms:
        """Opens a token and checks it is for this merchant and drop-off and, unless now_ms is None, unexpired."""
        t = self.open(token, field)
        if t.merchant_id != merchant_id:
            raise InvalidArgument.field(field, f"quoted for merchant {t.merchant_id}, not {merchant_id}")
        if abs(t.dropoff_lat - lat) > DROPOFF_TOLERANCE_DEG or abs(t.dropoff_lng - lng) > DROPOFF_TOLERANCE_DEG:
            raise InvalidArgument.field(
                field, f"quoted for the drop-off {t.dropoff_lat:.6f},{t.dropoff_lng:.6f}, not {lat:.6f},{lng:.6f}"
            )
        if now_ms is not None and now_ms >= t.expires_ms:
            raise InvalidArgument.field(
                field, f"expired {(now_ms - t.expires_ms) // 1000} s ago: quote the delivery again"
            )
        return t


PAGE_VERSION = "p1"
MAX_PAGE_TOKEN_CHARS = 512


class PageTokens:
    """Page tokens of "which merchants deliver here": `p1.<payload>.<mac>`, the payload the compact JSON of
    [cell, include_closed, last merchant id examined], the mac HMAC-SHA256 (first 12 bytes) under a key
    derived from the quote key. Opaque to clients and tamper-evident: a token is good only for the cell and
    filter it was issued for, so a page cannot be asked for with another place's position in the list."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, signed: str) -> str:
        return _b64(hmac.new(self._key, signed.encode(), hashlib.sha256).digest()[:12])

    def sign(self, cell: str, include_closed: bool, last_id: str) -> str:
        signed = f"{PAGE_VERSION}.{_b64(json.dumps([cell, include_closed, last_id], separators=(',', ':')).encode())}"
        return f"{signed}.{self._mac(signed)}"

    def open(self, token: str, cell: str, include_closed: bool, field: str = "page_token") -> str:
        """The last merchant id of the previous page; INVALID_ARGUMENT naming `field` for a token not issued
        here, altered, or issued for another cell or filter."""
        payload = _signed_payload(token, PAGE_VERSION, self._mac, MAX_PAGE_TOKEN_CHARS, field,
                                  "a next_page_token of FindMerchantsDelivering", "token")  # fmt: skip
        try:
            token_cell, token_closed, last_id = json.loads(_unb64(payload))
        except (ValueError, TypeError, binascii.Error):  # signed by us, so never in practice
            raise InvalidArgument.field(field, "unreadable page token") from None
        if token_cell != cell or token_closed is not include_closed:
            raise InvalidArgument.field(
                field, "issued for another place or include_closed: page from the first page again"
            )
        return str(last_id)


def _signed_payload(
    token: str, version: str, mac: Callable[[str], str], max_chars: int, field: str, what: str, noun: str
) -> str:
    """The payload of a `<version>.<payload>.<mac>` token signed here; INVALID_ARGUMENT naming `field` for a
    token too long, of another kind (`what` it should be), or whose mac does not match."""
    if len(token) > max_chars:
        raise InvalidArgument.field(field, f"at most {max_chars} characters")
    got_version, _, rest = token.partition(".")
    payload, _, got_mac = rest.partition(".")
    if got_version != version or not payload or not got_mac:
        raise InvalidArgument.field(field, f"not {what}")
    if not hmac.compare_digest(mac(f"{version}.{payload}").encode(), got_mac.encode()):
        raise InvalidArgument.field(field, f"signature does not match: the {noun} was altered or not issued here")
    return payload
