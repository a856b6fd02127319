"""The dispatcher's tick machinery that the API tests cannot see: the collector pause around ticks."""

from __future__ import annotations

import gc

import pytest

from dispatch.dispatcher import _collector_paused


def test_the_collector_is_paused_during_ticks_and_restored_after_the_last() -> None:
    """Overlapping ticks (two zones) keep the collector paused until the last ends, then it is on
    again; an exception in a tick restores it too; a collector already off stays off."""
    assert gc.isenabled()
    first, second = _collector_paused(), _collector_paused()
    first.__enter__()
    assert not gc.isenabled()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second zone's tick is still running
    second.__exit__(None, None, None)
    assert gc.isenabled()
    with pytest.raises(RuntimeError), _collector_paused():
        raise RuntimeError("tick failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with _collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
