"""Races on real commits (PostgreSQL): one link per account, one primary per user."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from signalhub.accounts import service as accounts
from signalhub.accounts.schemas import LinkRequest
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.errors import Conflict
from signalhub.kit.time import utcnow
from signalhub.models import AccountLink
from tests.factories import broker_snapshot, create_trader_device, create_user

pytestmark = pytest.mark.postgres


async def test_concurrent_links_of_one_account_make_one_link(committing_database: Database) -> None:
    async with committing_database.transaction() as session:
        user_id = (await create_user(session)).id
    request = LinkRequest(mt5_login=880001, server="Race-Demo")

    async def link_once() -> str:
        try:
            async with committing_database.transaction() as session:
                await accounts.link(session, user_id, request, utcnow())
        except Conflict:
            return "409"
        return "201"

    outcomes = await asyncio.gather(*(link_once() for _ in range(12)))
    assert sorted(outcomes) == ["201"] + ["409"] * 11
    async with committing_database.transaction() as session:
        links = (await session.scalars(select(AccountLink))).all()
    assert len(links) == 1


async def test_concurrent_verifications_and_primary_changes_keep_exactly_one_primary(
    committing_database: Database, settings: Settings
) -> None:
    async with committing_database.transaction() as session:
        user = await create_user(session)
        user_id = user.id
        device = await create_trader_device(session, settings, user)
        logins = list(range(990001, 990009))
        for login in logins:
            await accounts.link(
                session, user_id, LinkRequest(mt5_login=login, server="Race-Demo"), utcnow()
            )

    async def verify(login: int) -> None:
        async with committing_database.transaction() as session:
            await accounts.record_snapshot(
                session, user_id, device, broker_snapshot(login, "Race-Demo"), utcnow()
            )

    await asyncio.gather(*(verify(login) for login in logins))
    async with committing_database.transaction() as session:
        links = (await session.scalars(select(AccountLink))).all()
    assert {link.status for link in links} == {"verified"}
    assert sum(link.is_primary for link in links) == 1

    async def make_primary(link_id: int) -> None:
        async with committing_database.transaction() as session:
            await accounts.set_primary(session, user_id, link_id, utcnow())

    async def unlink(link_id: int) -> None:
        async with committing_database.transaction() as session:
            await accounts.unlink(session, user_id, link_id, utcnow())

    ids = [link.id for link in links]
    await asyncio.gather(
        *(make_primary(link_id) for link_id in ids[:5]), *(unlink(link_id) for link_id in ids[5:7])
    )
    async with committing_database.transaction() as session:
        remaining = (
            await session.scalars(select(AccountLink).where(AccountLink.status == "verified"))
        ).all()
    assert len(remaining) == 6
    assert sum(link.is_primary for link in remaining) == 1
