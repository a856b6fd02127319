"""Coupon codes: 16 characters a person can type, signed so a merchant's device can verify one offline.

    CCCC SSSSSS MMMMM K      Crockford base32 (0-9, A-Z without I, L, O, U), case-insensitive;
                             I and L read as 1, O as 0; hyphens and spaces ignored
    C  the campaign's serial (20 bits: a million campaigns)
    S  the coupon's serial within its campaign (30 bits, drawn at random: no count is given away)
    M  HMAC-SHA256(campaign key, C + S), its first 25 bits: a guessed code is valid once in 33 million
    K  Crockford's check symbol (mod 37, one of 0-9 A-Z * ~ $ = U): catches a mistyped or swapped character

The campaign key is random per campaign and given to its merchant (GetCampaign), so a device holding it
verifies its campaign's codes without a network, and a merchant can sign only its own campaign's codes.
Guessing online is throttled per caller on top (coupons.throttle).
"""

from __future__ import annotations

import hashlib
import hmac

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_ALPHABET = ALPHABET + "*~$=U"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_CHECK_VALUE = {c: i for i, c in enumerate(CHECK_ALPHABET)}
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
CAMPAIGN_CHARS, SERIAL_CHARS, MAC_CHARS = 4, 6, 5
CODE_CHARS = CAMPAIGN_CHARS + SERIAL_CHARS + MAC_CHARS + 1
MAX_CAMPAIGN_SERIAL = 32**CAMPAIGN_CHARS - 1
SERIAL_BITS = 5 * SERIAL_CHARS
QR_PREFIX = "TCCPN1:"


def _encode(value: int, chars: int) -> str:
    out = []
    for _ in range(chars):
        value, digit = divmod(value, 32)
        out.append(ALPHABET[digit])
    return "".join(reversed(out))


def _decode(text: str) -> int:
    value = 0
    for c in text:
        value = value * 32 + _VALUE[c]
    return value


def check_symbol(body: str) -> str:
    return CHECK_ALPHABET[_decode(body) % 37]


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return _encode(int.from_bytes(digest[:4], "big") >> (32 - 5 * MAC_CHARS), MAC_CHARS)


def make_code(key: bytes, campaign_serial: int, coupon_serial: int) -> str:
    body = _encode(campaign_serial, CAMPAIGN_CHARS) + _encode(coupon_serial, SERIAL_CHARS)
    signed = body + _mac(key, body)
    return signed + check_symbol(signed)


def normalize(text: str) -> str | None:
    """The canonical form of a typed or scanned code (a QR payload too), or None if it cannot be one."""
    if text.startswith(QR_PREFIX):
        text = text[len(QR_PREFIX) :]
    code = text.replace("-", "").replace(" ", "").upper()
    if len(code) != CODE_CHARS or not code.isascii():
        return None
    code = code[:-1].translate(_READ_AS) + code[-1]
    if any(c not in _VALUE for c in code[:-1]) or code[-1] not in _CHECK_VALUE:
        return None
    if check_symbol(code[:-1]) != code[-1]:
        return None
    return code


def campaign_serial_of(code: str) -> int:
    """The campaign serial of a normalized code."""
    return _decode(code[:CAMPAIGN_CHARS])


def verify(code: str, key: bytes) -> bool:
    """Whether a normalized code was signed with this campaign key (offline: no network, no state)."""
    body = code[: CAMPAIGN_CHARS + SERIAL_CHARS]
    return hmac.compare_digest(_mac(key, body), code[CAMPAIGN_CHARS + SERIAL_CHARS : -1])


def qr_payload(code: str) -> str:
    return QR_PREFIX + code
