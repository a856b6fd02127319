"""The shared validation layer: ids matched whole, bounded stream ids, instants, text and lists."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from core.validation import (
    EARLIEST_MS,
    count_violation,
    day_violation,
    duplicate_violations,
    id_violation,
    instant_violation,
    quote,
    stream_id_violation,
    text_violation,
    timestamp_ms_violation,
)


def test_ids_are_matched_whole_in_ascii() -> None:
    """A trailing newline, other scripts' letters and digits, and 129 characters are refused."""
    for good in ("o1", "a.b_c:d-e", "x" * 128):
        assert id_violation("order_id", good) is None
    for bad in ("p1-nl\n", "o1\r", " o1", "٣٤", "ｏ1", "订单", "x" * 129, "a/b", "a b"):
        v = id_violation("order_id", bad)
        assert v is not None and v.field == "order_id"
    assert id_violation("chain_id", "", required=False) is None
    assert id_violation("order_id", "") is not None


def test_stream_ids_are_two_unsigned_64_bit_numbers() -> None:
    """Arabic-Indic digits, a trailing newline and numbers past 64 bits are refused; empty means none."""
    assert stream_id_violation("resume_after_event_id", "") is None
    assert stream_id_violation("resume_after_event_id", "1700000000000-0") is None
    assert stream_id_violation("resume_after_event_id", f"{2**64 - 1}-{2**64 - 1}") is None
    for bad in ("١٢-٣", "1-1\n", f"{2**64}-0", f"0-{2**64}", "1", "-1-1", "1-", "a-b"):
        assert stream_id_violation("resume_after_event_id", bad) is not None


def test_timestamps_and_instants_are_bounded() -> None:
    """Nanos outside [0, 1e9) and seconds past year 9999 are not Timestamps; instants have a window."""
    assert timestamp_ms_violation("t", 0, 0) is None
    assert timestamp_ms_violation("t", 0, -1) is not None
    assert timestamp_ms_violation("t", 0, 1_000_000_000) is not None
    assert timestamp_ms_violation("t", 253_402_300_800, 0) is not None
    assert instant_violation("t", EARLIEST_MS) is None
    assert instant_violation("t", EARLIEST_MS - 1) is not None
    assert instant_violation("t", 10, earliest_ms=0, latest_ms=9) is not None
    assert day_violation("d", dt.date(9999, 12, 31), dt.date(2099, 12, 31)) is not None


def test_text_lists_and_repeats() -> None:
    """Free text is bounded and free of control characters; lists are bounded; repeats name the later entry."""
    assert text_violation("reason", "late\nagain\t!", 20) is None
    assert text_violation("reason", "x" * 21, 20) is not None
    assert text_violation("reason", "bell\x07", 20) is not None
    assert count_violation("cells", [1, 2, 3], 2) is not None
    assert count_violation("cells", [], 2, min_items=1) is not None
    repeats = duplicate_violations("splits", ["k1", "k2", "k1", "k1"], ".idempotency_key")
    assert [v.field for v in repeats] == ["splits[2].idempotency_key", "splits[3].idempotency_key"]


@given(st.text(max_size=5_000))
def test_quotes_are_short_whatever_the_value(value: str) -> None:
    """A message quotes at most a short prefix of any value."""
    assert len(quote(value)) <= 3 * 40 + 40
    v = id_violation("order_id", value)
    assert v is None or len(v.description) <= 300
