"""Builders and an independent recomputation of a member's points, for the loyalty tests."""

from __future__ import annotations

import json

import redis

from loyalty.keys import LoyaltyKeys


def member_invariants(client: redis.Redis, programme_id: str, member_id: str, now_ms: int) -> list[str]:
    """What is wrong with a member's stored points, recomputed from its history and its lots alone."""
    k = LoyaltyKeys()
    h = client.hgetall(k.member(programme_id, member_id))
    entries = [json.loads(e) for e in client.lrange(k.history(programme_id, member_id), 0, -1)]
    lots = {i: raw.split("|") for i, raw in client.hgetall(k.lots(programme_id, member_id)).items()}
    live = dict(client.zrange(k.live(programme_id, member_id), 0, -1, withscores=True))
    problems = []
    avail, pending, debt = (int(h.get(f, 0)) for f in ("avail", "pending", "debt"))
    sums = [sum(int(e[i]) for e in entries) for i in (2, 3, 4)]
    if [avail, pending, debt] != sums:
        problems.append(f"counters {[avail, pending, debt]} != history sums {sums}")
    left_total = sum(int(v[0]) for v in lots.values())
    if left_total != avail:
        problems.append(f"lots hold {left_total}, available is {avail}")
    for lot_id, (left, points, expires, *_rest) in lots.items():
        if not 0 <= int(left) <= int(points):
            problems.append(f"lot {lot_id} has {left} left of {points}")
        if (int(left) > 0) != (lot_id in live):
            problems.append(f"lot {lot_id} with {left} left is {'not ' if lot_id not in live else ''}live")
        if lot_id in live and int(live[lot_id]) != int(expires):
            problems.append(f"lot {lot_id} is live at {live[lot_id]}, expires {expires}")
    if min(avail, pending, debt) < 0:
        problems.append(f"a negative counter: {[avail, pending, debt]}")
    if debt > 0 and any(int(v[0]) > 0 and int(v[2]) > now_ms for v in lots.values()):
        problems.append("a debt beside spendable points")
    return problems
