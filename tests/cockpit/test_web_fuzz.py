"""Random queries, paths and tokens against every cockpit endpoint: never a 5xx, always a JSON error naming the
problem, and Redis unchanged (the pages only read)."""

from __future__ import annotations

import urllib.parse

import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serving.auth import Role
from tests.conftest import redis_snapshot

ENDPOINTS = ("/api/ops/heat", "/api/ops/snapshot", "/api/city", "/api/merchant/{m}/summary",
             "/api/merchant/{m}/statement", "/api/session")  # fmt: skip
PARAMS = ("layer", "res", "from_ms", "to_ms", "day", "format", "x")
values = st.one_of(
    st.sampled_from(
        [
            "demand",
            "late",
            "delivered",
            "csv",
            "json",
            "2026-03-01",
            "9",
            "5",
            "-1",
            "",
            "0",
            "99999999999999999999",
            "2026-13-40",
            "1e3",
            "nan",
        ]
    ),
    st.text(max_size=30),
)
merchant_ids = st.one_of(st.sampled_from(["m1", "m2", "c1", "", "%2F", "..", "x" * 200]), st.text(max_size=20))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    merchant=merchant_ids,
    query=st.dictionaries(st.sampled_from(PARAMS), values, max_size=4),
    caller=st.sampled_from([None, (Role.OPS, ""), (Role.MERCHANT, "m1"), (Role.RIDER, "r1"), "garbage"]),
)
async def test_no_query_breaks_an_endpoint_or_writes(  # type: ignore[no-untyped-def]
    web, redis_sync: redis.Redis, endpoint: str, merchant: str, query: dict[str, str], caller: object
) -> None:
    if caller is None:
        client = web(None)
    elif caller == "garbage":
        client = web(None, token="x.y.z")
    else:
        client = web(*caller)  # type: ignore[misc]
    path = endpoint.replace("{m}", urllib.parse.quote(merchant, safe="")) + "?" + urllib.parse.urlencode(query)
    before = _state(redis_sync)
    status, body = await client.get(path)
    assert status in (200, 400, 401, 403, 404), (path, status, body)
    if status != 200:
        assert isinstance(body, dict) and body.get("error"), (path, body)
    assert _state(redis_sync) == before, path


def _state(client: redis.Redis) -> dict[str, object]:
    """Every key but the zones' tick records, which the server's own ticks rewrite every 0.1 s."""
    return {k: v for k, v in redis_snapshot(client).items() if not k.endswith(":tick")}
