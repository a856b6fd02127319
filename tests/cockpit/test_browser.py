"""The cockpit in a real headless Chromium (Debian's `chromium`, driven by Playwright) against the real server
with live data: what is drawn matches what the API says. Screenshots land in out/browser/ (and the test's
tmp folder); the README shows two of them."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import pytest_asyncio

from serving.app import App
from serving.auth import Role, TokenIssuer
from tests.conftest import Caller
from tests.dispatch.api.helpers import fix, order, stream_fixes
from tests.merchants.helpers import Supply, create_merchant
from tests.settlement.helpers import Money, create_and_pay, rule, set_rule
from tongcheng.dispatch.v1 import dispatch_pb2 as dpb

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
INSTALL = "apt-get install -y chromium (make test does it when run as root)"
SHOTS = Path(__file__).resolve().parents[2] / "out" / "browser"
# Chromium as root in a container, with no network beyond loopback: no sandbox, no GPU, and none of the
# background connections a closed network refuses.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip

try:
    from playwright.async_api import Browser, Page, async_playwright
except ImportError:  # pragma: no cover - the dev install has it
    async_playwright = None  # type: ignore[assignment]


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    if async_playwright is None:
        pytest.skip("SKIPPED LOUDLY: the playwright package is missing: pip install -e '.[dev]'")
    if CHROMIUM is None:
        pytest.skip(f"SKIPPED LOUDLY: no Chromium on this machine: {INSTALL}")
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        await b.close()


async def signed_in(browser: Browser, base: str, token: str) -> Page:
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # Script errors; a refused fetch the page handles (a statement of a day not settled yet: 404) is not one.
    page.on(
        "console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load" not in m.text else None
    )
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{base}/login#token={token}")
    return page


def shot(tmp_path: Path, name: str) -> list[Path]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return [tmp_path / name, SHOTS / name]


async def test_ops_view_draws_the_live_city_as_the_api_sees_it(
    browser: Browser, web_app: App, web_issuer: TokenIssuer, tmp_path: Path
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{web_app.port}") as ch:
        ops_rider = Caller(ch, web_issuer.mint(Role.OPS))
        svc = Caller(ch, web_issuer.mint(Role.ORDER_SERVICE))
        # 40 riders on a grid around the centre, then 6 orders: the greedy policy offers each at once.
        fixes = [fix(f"r{i}", 60.160 + 0.002 * (i // 8), 24.925 + 0.004 * (i % 8)) for i in range(40)]
        await stream_fixes(ops_rider, [fixes])
        orders = [order(f"o{i}", pickup=(60.165 + 0.001 * i, 24.935), dropoff=(60.172, 24.950 - 0.002 * i))
                  for i in range(6)]  # fmt: skip
        await svc.stub.AssignRiders(dpb.AssignRidersRequest(orders=orders, no_wait=True), metadata=svc.metadata)

        base = f"http://127.0.0.1:{web_app.http_port}"
        page = await signed_in(browser, base, web_issuer.mint(Role.OPS))
        await page.wait_for_url("**/ops")
        await page.wait_for_function("document.body.dataset.live === '1' && +document.body.dataset.updates >= 3")
        await page.wait_for_function("+document.body.dataset.roads > 0 && +document.body.dataset.ridersDrawn === 40")
        # The page's numbers are the API's: the rider and order states of the same moment.
        api = await (await page.request.get(f"{base}/api/ops/snapshot")).json()
        assert len(api["riders"]) == 40
        busy = sum(1 for r in api["riders"] if r[3] != "free")
        assert busy == 6 and api["kpis"]["riders_busy"] == 6 and api["kpis"]["open_orders"] == 6
        await page.wait_for_function("document.querySelector('[data-kpi=riders_busy]').textContent === '6'")
        assert await page.text_content("[data-kpi=riders_free]") == str(api["kpis"]["riders_free"]) == "34"
        assert await page.text_content("[data-kpi=open_orders]") == "6"
        assert await page.evaluate("document.body.dataset.ordersDrawn") == "6"
        # A rider that moves is redrawn where it went.
        await stream_fixes(ops_rider, [[fix("r0", 60.1705, 24.9460)]])
        await page.wait_for_function(
            "(() => { const r = window.__cockpit.riders.get('r0'); return r && r[0] === 60.1705 && r[1] === 24.946; })()"
        )
        # Demand heat: six placements over the last hour.
        await page.select_option("#layer", "demand")
        await page.wait_for_function("+document.body.dataset.heatCells > 0")
        cells = await (await page.request.get(f"{base}/api/ops/heat?layer=demand&res=8")).json()
        assert sum(c["n"] for c in cells["cells"]) == 6
        assert not page.errors, page.errors  # type: ignore[attr-defined]
        for path in shot(tmp_path, "ops.png"):
            await page.screenshot(path=str(path))
        assert (tmp_path / "ops.png").stat().st_size > 20_000


async def test_merchant_view_shows_its_orders_sales_and_nothing_of_others(
    browser: Browser, web_app: App, web_issuer: TokenIssuer, tmp_path: Path
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{web_app.port}") as ch:
        m = Money(ch, web_issuer.mint(Role.OPS))
        s = Supply(ch, web_issuer.mint(Role.OPS))
        for mid in ("b1", "b2"):
            await create_merchant(s, mid, chain_id="c1")
            await set_rule(m, rule(mid))
        await create_and_pay(m, "o1", merchant_id="b1")
        await create_and_pay(m, "o2", merchant_id="b1", items_fen=19_500)
        await create_and_pay(m, "o3", merchant_id="b2")

    base = f"http://127.0.0.1:{web_app.http_port}"
    page = await signed_in(browser, base, web_issuer.mint(Role.MERCHANT, "b1"))
    await page.wait_for_url("**/merchant/b1")
    await page.wait_for_function("+document.body.dataset.refreshes >= 1")
    assert await page.text_content("[data-field=orders_today]") == "2"
    assert await page.text_content("[data-field=sales]") == "295.00"
    assert await page.locator("tr[data-order]").count() == 2
    assert await page.locator("tr[data-order=o3]").count() == 0
    assert await page.is_hidden("#branches-card")
    for path in shot(tmp_path, "merchant.png"):
        await page.screenshot(path=str(path), full_page=True)
    # Another merchant's page is refused to this token, with no data.
    response = await page.goto(f"{base}/merchant/b2")
    assert response is not None and response.status == 403
    assert "o3" not in await page.content()

    head = await signed_in(browser, base, web_issuer.mint(Role.MERCHANT, "c1"))
    await head.wait_for_url("**/merchant/c1")
    await head.wait_for_function("+document.body.dataset.refreshes >= 1")
    assert await head.locator("tr[data-branch]").count() == 2
    assert await head.text_content("[data-field=sales]") == "390.00"  # the chain's total at the top
    assert await head.text_content("tr[data-branch=b2] td:nth-child(4)") == "95.00"
    assert "no statement for head_office:c1" in await head.text_content("#stmt-status")  # no run for that day yet
    assert not head.errors, head.errors  # type: ignore[attr-defined]
    for path in shot(tmp_path, "head-office.png"):
        await head.screenshot(path=str(path), full_page=True)
