"""Coupon codes: typable, checked, signed per campaign, verified offline fast."""

from __future__ import annotations

import os
import random

from coupons.codes import CODE_CHARS, campaign_serial_of, make_code, normalize, qr_payload, verify


def test_a_code_is_16_typable_characters_with_a_check() -> None:
    """Crockford base32 plus a check symbol; case, hyphens and look-alikes (O, I, L) are read as meant."""
    key = os.urandom(32)
    code = make_code(key, 77, 123_456_789)
    assert len(code) == CODE_CHARS == 16 and code.isascii()
    assert normalize(code) == code
    typed = "-".join(code[i : i + 4] for i in range(0, 16, 4)).lower()
    assert normalize(typed) == code
    assert normalize(qr_payload(code)) == code
    assert campaign_serial_of(code) == 77 and verify(code, key)
    if "0" in code[:-1]:
        assert normalize(code[:-1].replace("0", "O", 1) + code[-1]) == code


def test_a_mistyped_character_or_swap_is_caught_and_other_keys_do_not_verify() -> None:
    """Every single-character change fails the check symbol or the signature; another campaign's key never verifies."""
    rng = random.Random(7)
    key, other = os.urandom(32), os.urandom(32)
    for _ in range(200):
        code = make_code(key, rng.randrange(1, 1000), rng.getrandbits(30))
        assert not verify(code, other) or False  # a 25-bit signature: a false accept is 1 in 33 million
        i = rng.randrange(15)
        wrong = code[:i] + rng.choice([c for c in "0123456789ABCDEFGHJKMNPQRSTVWXYZ" if c != code[i]]) + code[i + 1 :]
        normal = normalize(wrong)
        assert normal is None or not verify(normal, key)
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        if swapped != code and i < 14:
            normal = normalize(swapped)
            assert normal is None or not verify(normal, key)
    assert normalize("TOO-SHORT") is None and normalize("ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ") is None
