"""A real server with its cockpit on a free HTTP port, and an HTTP client holding one role's token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
import redis

from serving.app import App
from serving.auth import Role, TokenIssuer
from serving.embedded_redis import EmbeddedRedis
from tests.conftest import server_config


@pytest_asyncio.fixture
async def web_app(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[App]:
    """The real server (every service, one zone, ticking every 0.1 s) with its pages on a free port."""
    application = App(server_config(tmp_path, redis_server.url, http_port=0))
    await application.start()
    assert application.http_port, "the cockpit did not start"
    yield application
    await application.stop()


@pytest.fixture
def web_issuer(web_app: App) -> TokenIssuer:
    assert web_app.private_key_file is not None
    return TokenIssuer(web_app.private_key_file.read_bytes())


class Web:
    """GETs and POSTs to the cockpit with a bearer token (or none)."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str | None) -> None:
        self.session, self.base = session, base
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def get(self, path: str, **kw: object) -> tuple[int, object]:
        async with self.session.get(self.base + path, headers=self.headers, allow_redirects=False, **kw) as r:
            body = await r.json() if r.content_type == "application/json" else await r.text()
            return r.status, body


@pytest_asyncio.fixture
async def web(web_app: App, web_issuer: TokenIssuer) -> AsyncIterator[object]:
    """web(Role.OPS) / web(Role.MERCHANT, "m1") / web(None) -> a Web client of that caller."""
    async with aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{web_app.http_port}"

        def make(role: Role | None, subject_id: str = "", token: str | None = None) -> Web:
            if role is not None:
                token = web_issuer.mint(role, subject_id)
            return Web(session, base, token)

        yield make
