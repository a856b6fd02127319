"""A chain's head-office catalogue inherited by its branches, through the real gRPC server: the merged view,
a branch's own prices and availability, head-office changes visible at the next read, checkouts and stock of
inherited items, and refusals that change nothing."""

from __future__ import annotations

import grpc
import redis

from serving.app import App
from serving.auth import Role
from tests.conftest import redis_snapshot
from tests.dispatch.api.helpers import bad_request_fields
from tests.merchants.helpers import Supply, count, create_merchant, item, record, sync
from tests.merchants.test_api import refused
from tests.settlement.helpers import new_order
from tongcheng.merchants.v1 import merchants_pb2 as pb
from tongcheng.orders.v1 import orders_pb2 as opb


async def _chain(s: Supply) -> None:
    """Chain c1 with branches b1 and b2; the head office's menu: latte 28 yuan, tea 15 yuan."""
    for branch in ("b1", "b2"):
        await create_merchant(s, branch, chain_id="c1", name=f"Coffee {branch}")
    await sync_chain(s, "menu-1", item("latte", 2_800), item("tea", 1_500))


async def sync_chain(s: Supply, key: str, *items: pb.CatalogItem) -> pb.SyncChainCatalogResponse:
    request = pb.SyncChainCatalogRequest(chain_id="c1", idempotency_key=key, items=list(items))
    return await s.merchants.SyncChainCatalog(request, metadata=s.md)


async def view(s: Supply, merchant_id: str) -> dict[str, tuple[int, int, str, bool]]:
    """item -> (first variant's price, status, chain, overridden) as the branch's customers see it."""
    reply = await s.merchants.GetCatalog(pb.GetCatalogRequest(merchant_id=merchant_id), metadata=s.md)
    return {it.item_id: (it.variants[0].price_fen, it.status, it.chain_id, it.overridden) for it in reply.items}


def override(item_id: str, price_fen: int = 0, status: int = 0) -> pb.ItemOverride:
    prices = [pb.VariantPrice(variant_id=f"{item_id}-v0", price_fen=price_fen)] if price_fen else []
    return pb.ItemOverride(item_id=item_id, status=status, prices=prices)  # type: ignore[arg-type]


def set_overrides(s: Supply, merchant_id: str, *overrides: pb.ItemOverride, cleared: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    request = pb.SetItemOverridesRequest(merchant_id=merchant_id, overrides=list(overrides), cleared_item_ids=cleared)
    return s.merchants.SetItemOverrides(request, metadata=s.md)


async def test_branches_inherit_and_override_and_see_head_office_changes_at_once(supply) -> None:  # type: ignore[no-untyped-def]
    """b1 inherits as is; b2 sells latte at its own price and pauses tea; the head office's new latte price
    reaches b1 at its next read, not b2's override; b2 clears it and follows the chain again."""
    s: Supply = supply()
    await _chain(s)
    active, paused = pb.ITEM_STATUS_ACTIVE, pb.ITEM_STATUS_PAUSED
    assert await view(s, "b1") == {"latte": (2_800, active, "c1", False), "tea": (1_500, active, "c1", False)}
    reply = await set_overrides(s, "b2", override("latte", 2_500), override("tea", status=paused))
    assert {it.item_id: it.overridden for it in reply.items} == {"latte": True, "tea": True}
    await sync_chain(s, "menu-2", item("latte", 3_000, version=1))
    assert (await view(s, "b1"))["latte"] == (3_000, active, "c1", False)
    assert await view(s, "b2") == {"latte": (2_500, active, "c1", True), "tea": (1_500, paused, "c1", True)}
    await set_overrides(s, "b2", cleared=("latte",))
    assert (await view(s, "b2"))["latte"] == (3_000, active, "c1", False)
    # A branch's own item of the same id wins over the chain's.
    await sync(s, "b1", "own", item("latte", 3_300))
    assert (await view(s, "b1"))["latte"] == (3_300, active, "", False)


async def test_checkouts_and_stock_of_inherited_items_use_the_branch_view(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """A branch counts stock of an inherited variant; an order is priced at the branch's price; an item the
    branch paused is refused naming the line."""
    s: Supply = supply()
    await _chain(s)
    await set_overrides(s, "b2", override("latte", 2_500), override("tea", status=pb.ITEM_STATUS_PAUSED))
    at = supply_app.clock.now_ms() - 60_000
    await record(s, "b2", count("c1", "latte-v0", 10, at), count("c2", "tea-v0", 10, at))
    lines = [opb.OrderLine(item_id="latte", variant_id="latte-v0", quantity=2)]
    request = new_order("o1", items_fen=0, merchant_id="b2", lines=lines)
    created = (await s.orders.CreateOrder(request, metadata=s.md)).order
    assert (created.items_fen, created.lines[0].unit_price_fen) == (5_000, 2_500)
    tea = new_order(
        "o2", items_fen=0, merchant_id="b2", lines=[opb.OrderLine(item_id="tea", variant_id="tea-v0", quantity=1)]
    )
    err = await refused(s.orders.CreateOrder(tea, metadata=s.md))
    assert bad_request_fields(err) == ["lines[0].item_id"]


async def test_chain_refusals_name_the_field_and_change_nothing(supply, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """Only the head office's own token (or a service) syncs the chain's menu; overrides of an unknown item or
    variant, a bad price, or at a merchant that is no branch, are refused naming the field; Redis unchanged."""
    s: Supply = supply()
    await _chain(s)
    await create_merchant(s, "solo")
    before = redis_snapshot(redis_sync)
    branch = supply(Role.MERCHANT, "b1")
    await refused(
        branch.merchants.SyncChainCatalog(
            pb.SyncChainCatalogRequest(chain_id="c1", idempotency_key="k", items=[item("x")]), metadata=branch.md
        ),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    assert bad_request_fields(await refused(set_overrides(s, "b1", override("mocha", 100)))) == ["overrides[0].item_id"]
    bad_variant = pb.ItemOverride(item_id="latte", prices=[pb.VariantPrice(variant_id="latte-v9", price_fen=100)])
    assert bad_request_fields(await refused(set_overrides(s, "b1", bad_variant))) == [
        "overrides[0].prices[0].variant_id"
    ]
    assert bad_request_fields(await refused(set_overrides(s, "b1", override("latte")))) == ["overrides[0]"]
    negative = pb.ItemOverride(item_id="latte", prices=[pb.VariantPrice(variant_id="latte-v0", price_fen=-5)])
    assert bad_request_fields(await refused(set_overrides(s, "b1", negative))) == ["overrides[0].prices[0].price_fen"]
    assert bad_request_fields(await refused(set_overrides(s, "solo", override("latte", 100)))) == ["merchant_id"]
    assert redis_snapshot(redis_sync) == before
    head = supply(Role.MERCHANT, "c1")
    reply = await head.merchants.SyncChainCatalog(
        pb.SyncChainCatalogRequest(chain_id="c1", idempotency_key="k", items=[item("mocha", 3_200)]), metadata=head.md
    )
    assert [it.item_id for it in reply.items] == ["mocha"]
