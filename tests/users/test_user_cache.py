"""The user cache behind `CurrentUser`: a request whose caller is cached runs no SQL; a ban, an
unban, a role change or a tier grant made on one API instance is seen by the other on its next
request; while Redis does not answer nothing is served from memory; an entry older than the
TTL is read again."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from signalhub.app import create_app
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.kit.bus import USER_CHANGES_CHANNEL, BusMessage, MemoryBus, RedisBus
from signalhub.models import Tier, User
from signalhub.users import service as users
from signalhub.users.cache import UserCache
from tests.factories import create_user, grant_tier
from tests.helpers import bearer_for, eventually, statements_on

REDIS_URL = os.environ.get("SIGNALHUB_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs Redis: SIGNALHUB_TEST_REDIS_URL")
# Nothing listens there: Redis configured but not answering.
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"

ADMIN = 900  # listed in the test settings' admin_telegram_ids
TRADER = 7_400_001


@dataclass
class Instance:
    """One API process: its app (with its own cache and bus) and a client for it."""

    app: FastAPI
    client: httpx.AsyncClient

    @property
    def cache(self) -> UserCache:
        cache: UserCache = self.app.state.user_cache
        return cache

    @property
    def database(self) -> Database:
        database: Database = self.app.state.database
        return database

    async def me(self, headers: dict[str, str]) -> httpx.Response:
        return await self.client.get("/api/v1/me", headers=headers)


@asynccontextmanager
async def running(settings: Settings, database: Database) -> AsyncIterator[Instance]:
    app = create_app(settings, database)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Instance(app, client)


@asynccontextmanager
async def process(
    settings: Settings, database: Database, redis_url: str | None, **overrides: object
) -> AsyncIterator[Instance]:
    """An API process on the test's database; with `redis_url`, with a bus of its own through
    that Redis, as a separate process has."""
    if redis_url is None:
        async with running(settings.model_copy(update=overrides), database) as instance:
            yield instance
        return
    own = Database(database.engine, database.sessionmaker, bus=RedisBus(redis_url))
    try:
        update = {"redis_url": redis_url, **overrides}
        async with running(settings.model_copy(update=update), own) as instance:
            if redis_url != DEAD_REDIS_URL:
                await eventually(lambda: own.bus.delivery_epoch(USER_CHANGES_CHANNEL) is not None)
            yield instance
    finally:
        await own.bus.close()


def cached_setup(database: Database) -> str | None:
    """Where the cache serves in these tests: through Redis when they have it, else SQLite
    as one process (on PostgreSQL without Redis it is off)."""
    if REDIS_URL:
        return REDIS_URL
    if database.dialect != "sqlite":
        pytest.skip("on PostgreSQL the user cache needs Redis: SIGNALHUB_TEST_REDIS_URL")
    return None


@pytest.fixture
async def api(settings: Settings, database: Database) -> AsyncIterator[Instance]:
    async with process(settings, database, cached_setup(database)) as instance:
        yield instance


@pytest.fixture
async def two_instances(
    settings: Settings, database: Database
) -> AsyncIterator[tuple[Instance, Instance]]:
    assert REDIS_URL is not None
    async with (
        process(settings, database, REDIS_URL) as first,
        process(settings, database, REDIS_URL) as second,
    ):
        yield first, second


def assert_refused(response: httpx.Response, code: str) -> None:
    assert response.status_code in (401, 403), response.text
    assert response.json()["error"]["code"] == code


async def dropped(instance: Instance, user_id: int) -> None:
    """Redis hands the change to every subscriber before it answers the publisher; a process
    drops the entry as soon as its event loop reads it. Here both instances share one event
    loop with the test, so it has to give them that turn."""
    await eventually(lambda: not instance.cache.holds(user_id), timeout_s=5)


async def test_a_cached_caller_costs_no_query_and_no_session(
    api: Instance, database: Database
) -> None:
    headers = await bearer_for(api.client, TRADER)
    first = await api.me(headers)
    assert first.status_code == 200, first.text
    transactions: list[object] = []

    def begun(_session: Session, transaction: object) -> None:
        transactions.append(transaction)

    event.listen(Session, "after_transaction_create", begun)
    try:
        with statements_on(database.engine) as statements:
            again = await api.me(headers)
    finally:
        event.remove(Session, "after_transaction_create", begun)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert statements == []
    assert transactions == []


async def test_an_entry_older_than_the_ttl_is_read_again(
    settings: Settings, database: Database
) -> None:
    redis_url = cached_setup(database)
    async with process(settings, database, redis_url, user_cache_ttl_s=0.3) as api:
        headers = await bearer_for(api.client, TRADER)
        assert (await api.me(headers)).status_code == 200
        with statements_on(database.engine) as statements:
            assert (await api.me(headers)).status_code == 200
        assert statements == []
        await asyncio.sleep(0.4)
        with statements_on(database.engine) as statements:
            assert (await api.me(headers)).status_code == 200
        assert any("FROM users" in sql for sql in statements), statements


async def test_a_ttl_of_zero_turns_the_cache_off(settings: Settings, database: Database) -> None:
    async with process(settings, database, None, user_cache_ttl_s=0) as api:
        headers = await bearer_for(api.client, TRADER)
        for _ in range(2):
            with statements_on(database.engine) as statements:
                assert (await api.me(headers)).status_code == 200
            assert any("FROM users" in sql for sql in statements), statements


async def test_while_redis_does_not_answer_every_request_reads_the_database(
    settings: Settings, database: Database
) -> None:
    async with process(settings, database, DEAD_REDIS_URL) as api:
        headers = await bearer_for(api.client, TRADER)
        for _ in range(2):
            with statements_on(database.engine) as statements:
                assert (await api.me(headers)).status_code == 200
            assert any("FROM users" in sql for sql in statements), statements


@pytest.mark.postgres
async def test_on_postgres_without_redis_every_request_reads_the_database(
    client: httpx.AsyncClient, database: Database
) -> None:
    """Other processes could change a user unannounced: nothing is served from memory."""
    headers = await bearer_for(client, TRADER)
    for _ in range(2):
        with statements_on(database.engine) as statements:
            assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
        assert any("FROM users" in sql for sql in statements), statements


async def test_a_read_overtaken_by_a_change_is_not_kept(
    database: Database, session: AsyncSession
) -> None:
    """A change announced while the row was being read may not be in what was read."""
    user = await create_user(session)
    cache = UserCache(MemoryBus(), 30)

    def announce_a_change(*_args: object) -> None:
        cache.deliver(BusMessage(USER_CHANGES_CHANNEL, {"user_id": user.id}))

    assert session.bind is not None
    engine = session.bind.engine
    async with cache.running():
        session.expunge_all()
        event.listen(engine.sync_engine, "before_cursor_execute", announce_a_change)
        try:
            assert (await cache.user(database, user.id)) is not None
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", announce_a_change)
        assert not cache.holds(user.id)
        assert (await cache.user(database, user.id)) is not None
        assert cache.holds(user.id)


@needs_redis
async def test_a_ban_on_one_instance_refuses_the_token_on_the_other(
    two_instances: tuple[Instance, Instance],
) -> None:
    first, second = two_instances
    admin = await bearer_for(first.client, ADMIN)
    trader = await bearer_for(first.client, TRADER)
    user_id = (await second.me(trader)).json()["user"]["id"]
    assert second.cache.holds(user_id)

    banned = await first.client.post(f"/api/v1/admin/users/{user_id}/ban", headers=admin)
    assert banned.status_code == 200, banned.text
    await dropped(second, user_id)
    assert_refused(await second.me(trader), "account_banned")
    assert_refused(await first.me(trader), "account_banned")


@needs_redis
async def test_an_unban_on_one_instance_lets_the_user_back_in_on_the_other(
    two_instances: tuple[Instance, Instance],
) -> None:
    first, second = two_instances
    admin = await bearer_for(first.client, ADMIN)
    trader = await bearer_for(first.client, TRADER)
    user_id = (await second.me(trader)).json()["user"]["id"]
    await first.client.post(f"/api/v1/admin/users/{user_id}/ban", headers=admin)
    await dropped(second, user_id)
    assert_refused(await second.me(trader), "account_banned")
    assert second.cache.holds(user_id)  # the banned user, as read

    unbanned = await first.client.post(f"/api/v1/admin/users/{user_id}/unban", headers=admin)
    assert unbanned.status_code == 200, unbanned.text
    await dropped(second, user_id)
    again = await bearer_for(first.client, TRADER)
    assert (await second.me(again)).status_code == 200
    # The token from before the ban stays revoked.
    assert_refused(await second.me(trader), "token_revoked")


@needs_redis
async def test_a_tier_granted_anywhere_shows_on_the_other_instance(
    two_instances: tuple[Instance, Instance],
) -> None:
    first, second = two_instances
    trader = await bearer_for(first.client, TRADER)
    before = (await second.me(trader)).json()
    assert before["tier"] == "free"
    user_id = before["user"]["id"]

    async with first.database.transaction() as session:
        user = await session.get(User, user_id)
        assert user is not None
        await grant_tier(session, user, Tier.premium)
    await dropped(second, user_id)
    after = (await second.me(trader)).json()
    assert after["tier"] == "premium"
    assert after["expires_at"] is not None


@needs_redis
async def test_a_promotion_on_one_instance_opens_admin_routes_on_the_other(
    two_instances: tuple[Instance, Instance],
) -> None:
    first, second = two_instances
    trader = await bearer_for(first.client, TRADER)
    user_id = (await second.me(trader)).json()["user"]["id"]
    path = f"/api/v1/admin/users/{user_id}"
    assert_refused(await second.client.get(path, headers=trader), "admin_only")

    async with first.database.transaction() as session:
        assert await users.promote_to_admin(session, TRADER)
    await dropped(second, user_id)
    assert (await second.client.get(path, headers=trader)).status_code == 200


async def test_a_tier_granted_in_this_process_shows_on_the_next_request(api: Instance) -> None:
    trader = await bearer_for(api.client, TRADER)
    before = (await api.me(trader)).json()
    assert before["tier"] == "free"

    async with api.database.transaction() as session:
        user = await session.get(User, before["user"]["id"])
        assert user is not None
        await grant_tier(session, user, Tier.vip)
    await dropped(api, before["user"]["id"])
    assert (await api.me(trader)).json()["tier"] == "vip"
