"""The cockpit's HTTP side: pages, their data endpoints and the live stream, behind the API's own tokens.

aiohttp rather than an ASGI framework with a separate server: its server embeds in the event loop the
gRPC server already runs (`AppRunner` + `TCPSite`, with `reuse_port` for the intake processes that share
a port) without taking over signals or the loop, and the same package is the tests' HTTP client.

Who sees what (the roles of `serving.auth`): ops see everything; a merchant sees its own page and data, and
a chain's head office (a merchant token naming the chain's id) sees each of its branches; riders, members
and order services see nothing here. A token comes as `Authorization: Bearer …` or, for pages and the
event stream (which a browser cannot give headers), as the `tc_token` cookie the login page sets after the
server has verified it. No token: 401; a token of the wrong role or merchant: 403; both with no data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import h3
from aiohttp import web

from cockpit.feed import BUCKET_S, HEAT_LAYERS, HEAT_RESOLUTION, CityFeed
from cockpit.merchant import MerchantDesk
from cockpit.roads import RoadLayer
from core.errors import InvalidArgument, NotFound, PermissionDenied, TongchengError, Unauthenticated
from serving.auth import DEV_PRINCIPAL, Principal, Role, TokenVerifier

log = logging.getLogger("tongcheng.cockpit")

STATIC = Path(__file__).with_name("static")
COOKIE = "tc_token"
MAX_HEAT_SPAN_MS = 24 * 3_600_000
MIN_HEAT_RESOLUTION = 5  # ~250 km² cells: a whole city in a few
MAX_HEAT_CELLS_FOR_BOUNDARIES = 20_000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class CityInfo:
    name: str
    center: tuple[float, float]
    radius_m: float


def _error(status: int, message: str, field: str = "") -> web.Response:
    body: dict[str, object] = {"error": message}
    if field:
        body["field"] = field
    return web.json_response(body, status=status)


class Cockpit:
    """The web app of one server process."""

    def __init__(
        self,
        verifier: TokenVerifier | None,
        city: CityInfo | None,
        feed: CityFeed | None,
        roads: RoadLayer | None,
        desk: MerchantDesk | None,
    ) -> None:
        self.verifier = verifier
        self.city = city
        self.feed = feed
        self.roads = roads
        self.desk = desk
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.app = web.Application(middlewares=[self._errors])
        r = self.app.router
        r.add_get("/", self.home)
        r.add_get("/login", self.page("login.html", None))
        r.add_post("/api/session", self.login)
        r.add_delete("/api/session", self.logout)
        r.add_get("/api/session", self.whoami)
        r.add_get("/ops", self.page("ops.html", self._ops))
        r.add_get("/merchant/{merchant_id}", self.page("merchant.html", self._merchant_of_path))
        r.add_get("/api/city", self.city_info)
        r.add_get("/api/city/roads", self.city_roads)
        r.add_get("/api/ops/snapshot", self.ops_snapshot)
        r.add_get("/api/ops/stream", self.ops_stream)
        r.add_get("/api/ops/heat", self.ops_heat)
        r.add_get("/api/merchant/{merchant_id}/summary", self.merchant_summary)
        r.add_get("/api/merchant/{merchant_id}/statement", self.merchant_statement)
        r.add_get("/favicon.ico", self.favicon)
        r.add_static("/static/", STATIC, append_version=False)

    # Serving -----------------------------------------------------------------------------------

    async def start(self, host: str, port: int, reuse_port: bool = False) -> int:
        self.runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port, reuse_port=reuse_port or None)
        await site.start()
        sockets = site._server.sockets if site._server is not None else []  # type: ignore[union-attr]
        self.port = int(sockets[0].getsockname()[1]) if sockets else port
        log.info("cockpit on http://%s:%d/", host, self.port)
        return self.port

    async def stop(self) -> None:
        if self.feed is not None:
            await self.feed.stop()
        if self.runner is not None:
            await self.runner.cleanup()

    # Access ------------------------------------------------------------------------------------

    def principal(self, request: web.Request) -> Principal:
        """The caller, from the bearer header or the session cookie; Unauthenticated without a valid token."""
        if self.verifier is None:
            return DEV_PRINCIPAL
        header = request.headers.get("Authorization", "")
        token = ""
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("Authorization must be 'Bearer <token>'")
        token = token.strip() or request.cookies.get(COOKIE, "")
        if not token:
            raise Unauthenticated("no token: sign in at /login")
        return self.verifier.verify(token)

    def _ops(self, request: web.Request) -> Principal:
        p = self.principal(request)
        p.require(Role.OPS)
        return p

    async def _merchant_of_path(self, request: web.Request) -> Principal:
        p = self.principal(request)
        await self._may_see(p, request.match_info["merchant_id"])
        return p

    async def _may_see(self, p: Principal, merchant_id: str) -> None:
        """Ops see every merchant; a merchant sees itself, and a chain's head office its branches."""
        if p.role == Role.OPS:
            return
        if p.role != Role.MERCHANT:
            raise PermissionDenied(f"role {p.role.value} has no merchant pages")
        if merchant_id == p.subject_id:
            return
        if self.desk is not None and merchant_id in await self.desk.branches(p.subject_id):
            return
        raise PermissionDenied(f"merchant {p.subject_id} may not see merchant {merchant_id}")

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except Unauthenticated as exc:
            if request.path.startswith("/api/"):
                return _error(401, str(exc))
            raise web.HTTPFound(f"/login?next={request.path}") from None
        except PermissionDenied as exc:
            return _error(403, str(exc))
        except InvalidArgument as exc:
            v = exc.violations[0]
            return _error(400, v.description, v.field)
        except NotFound as exc:
            return _error(404, str(exc))
        except TongchengError as exc:
            return _error(400, str(exc))
        except web.HTTPException as exc:  # the router's 404 and 405: JSON like every other error of the API
            if exc.status < 400 or not request.path.startswith("/api/"):
                raise
            return _error(exc.status, exc.reason)

    # Pages -------------------------------------------------------------------------------------

    def page(self, name: str, guard: Callable[[web.Request], object] | None) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            if guard is not None:
                checked = guard(request)
                if asyncio.iscoroutine(checked):
                    await checked
            return web.FileResponse(STATIC / name, headers={"Cache-Control": "no-store"})

        return handler

    async def favicon(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "favicon.svg", headers={"Content-Type": "image/svg+xml"})

    async def home(self, request: web.Request) -> web.StreamResponse:
        try:
            p = self.principal(request)
        except Unauthenticated:
            raise web.HTTPFound("/login") from None
        raise web.HTTPFound(self._home_of(p))

    @staticmethod
    def _home_of(p: Principal) -> str:
        if p.role == Role.OPS:
            return "/ops"
        if p.role == Role.MERCHANT:
            return f"/merchant/{p.subject_id}"
        raise PermissionDenied(f"role {p.role.value} has no pages here")

    async def login(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InvalidArgument.field("token", 'send JSON {"token": "..."}') from None
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token.strip():
            raise InvalidArgument.field("token", "required")
        if self.verifier is None:
            p = DEV_PRINCIPAL
        else:
            p = self.verifier.verify(token.strip())
        home = self._home_of(p)
        response = web.json_response({"role": p.role.value, "id": p.subject_id, "home": home})
        response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="Strict", path="/")
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        response = web.json_response({"signed_out": True})
        response.del_cookie(COOKIE, path="/")
        return response

    async def whoami(self, request: web.Request) -> web.StreamResponse:
        p = self.principal(request)
        return web.json_response({"role": p.role.value, "id": p.subject_id, "home": self._home_of(p)})

    # City --------------------------------------------------------------------------------------

    async def city_info(self, request: web.Request) -> web.StreamResponse:
        p = self.principal(request)
        if p.role not in (Role.OPS, Role.MERCHANT):
            raise PermissionDenied(f"role {p.role.value} has no pages here")
        if self.city is None:
            raise NotFound("this server runs no city (dispatch is not among its services)")
        return web.json_response({
            "name": self.city.name, "center": list(self.city.center), "radius_m": self.city.radius_m,
            "attribution": "© OpenStreetMap contributors (ODbL)", "bucket_s": BUCKET_S,
            "heat_layers": list(HEAT_LAYERS), "heat_resolutions": [MIN_HEAT_RESOLUTION, HEAT_RESOLUTION],
        })  # fmt: skip

    async def city_roads(self, request: web.Request) -> web.StreamResponse:
        p = self.principal(request)
        if p.role not in (Role.OPS, Role.MERCHANT):
            raise PermissionDenied(f"role {p.role.value} has no pages here")
        if self.roads is None:
            raise NotFound("this server runs no city (dispatch is not among its services)")
        body = await asyncio.to_thread(self.roads.json_gz)
        return web.Response(
            body=body, content_type="application/json",
            headers={"Content-Encoding": "gzip", "Cache-Control": "private, max-age=3600"},
        )  # fmt: skip

    # Ops ---------------------------------------------------------------------------------------

    def _need_feed(self) -> CityFeed:
        if self.feed is None:
            raise NotFound("this server runs no dispatch: no live city to show")
        return self.feed

    async def ops_snapshot(self, request: web.Request) -> web.StreamResponse:
        self._ops(request)
        feed = self._need_feed()
        await feed.ensure_started()
        return web.json_response(feed.snapshot(), dumps=_compact)

    async def ops_stream(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: a snapshot, then one delta per feed step (about a second)."""
        self._ops(request)
        feed = self._need_feed()
        await feed.ensure_started()
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no",
        })  # fmt: skip
        await response.prepare(request)
        q = feed.subscribe()
        try:
            await response.write(b"event: snapshot\ndata: " + _compact(feed.snapshot()).encode() + b"\n\n")
            while True:
                try:
                    data = await asyncio.wait_for(q.get(), timeout=15.0)
                except TimeoutError:
                    data = b": keep-alive\n\n"
                if not data:
                    break  # the page fell behind: it reconnects and starts from a snapshot
                await response.write(data)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            feed.unsubscribe(q)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response

    async def ops_heat(self, request: web.Request) -> web.StreamResponse:
        self._ops(request)
        feed = self._need_feed()
        q = request.query
        layer = q.get("layer", "demand")
        if layer not in HEAT_LAYERS:
            raise InvalidArgument.field("layer", f"one of {', '.join(HEAT_LAYERS)}, got {layer!r}")
        res = _int(q, "res", 8)
        if not MIN_HEAT_RESOLUTION <= res <= HEAT_RESOLUTION:
            raise InvalidArgument.field("res", f"an H3 resolution within {MIN_HEAT_RESOLUTION}..{HEAT_RESOLUTION}")
        await feed.ensure_started()
        now_ms = feed.clock.now_ms()
        to_ms = _int(q, "to_ms", now_ms + 1)
        from_ms = _int(q, "from_ms", to_ms - 3_600_000)
        if from_ms >= to_ms:
            raise InvalidArgument.field("from_ms", "must be before to_ms")
        if to_ms - from_ms > MAX_HEAT_SPAN_MS:
            raise InvalidArgument.field("to_ms", "a heat map covers at most 24 hours")
        if from_ms < 0:
            raise InvalidArgument.field("from_ms", "must be a time after 1970 (Unix ms)")
        # Buckets are labelled by their start: a window includes the bucket its start falls in.
        cells = feed.heat_cells(layer, res, from_ms - from_ms % (BUCKET_S * 1000), to_ms)
        first, last = feed.heat_range()
        top = sorted(cells.items(), key=lambda kv: -kv[1])[:MAX_HEAT_CELLS_FOR_BOUNDARIES]
        return web.json_response({
            "layer": layer, "res": res, "from_ms": from_ms, "to_ms": to_ms, "held_from_ms": first,
            "held_to_ms": last + BUCKET_S * 1000, "bucket_s": BUCKET_S,
            "cells": [{"cell": c, "n": n, "boundary": [[round(a, 5), round(b, 5)] for a, b in h3.cell_to_boundary(c)]}
                      for c, n in top],
        }, dumps=_compact)  # fmt: skip

    # Merchants ---------------------------------------------------------------------------------

    def _need_desk(self) -> MerchantDesk:
        if self.desk is None:
            raise NotFound("this server runs no order center: no merchant data")
        return self.desk

    async def merchant_summary(self, request: web.Request) -> web.StreamResponse:
        p = self.principal(request)
        merchant_id = request.match_info["merchant_id"]
        await self._may_see(p, merchant_id)
        desk = self._need_desk()
        return web.json_response(await desk.summary(merchant_id), dumps=_compact)

    async def merchant_statement(self, request: web.Request) -> web.StreamResponse:
        p = self.principal(request)
        merchant_id = request.match_info["merchant_id"]
        await self._may_see(p, merchant_id)
        desk = self._need_desk()
        day = request.query.get("day") or desk.yesterday()
        fmt = request.query.get("format", "json")
        if fmt not in ("json", "csv"):
            raise InvalidArgument.field("format", f"json or csv, got {fmt!r}")
        statement = await desk.statement(merchant_id, day)
        if fmt == "csv":
            return web.Response(
                text=statement["csv"], content_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="statement-{merchant_id}-{day}.csv"'},
            )  # fmt: skip
        return web.json_response(statement, dumps=_compact)


def _int(q: object, name: str, default: int) -> int:
    raw = q.get(name)  # type: ignore[attr-defined]
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidArgument.field(name, f"must be an integer, got {raw[:40]!r}") from None


def _compact(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"))
