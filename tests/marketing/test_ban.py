"""Broadcasts never reach a banned user: they are left out of the segment, and someone banned
after the segment was resolved is skipped."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.config import Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.marketing import service as marketing
from signalhub.marketing.schemas import BroadcastCreate
from signalhub.models import Role, User
from signalhub.users import service as users
from tests.factories import create_user
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.marketing.conftest import make_template, run_to_end


async def test_a_banned_user_is_left_out_of_every_segment(
    population: dict[str, User], session: AsyncSession
) -> None:
    admin = await create_user(session, role=Role.admin)
    before = await marketing.segment_size(session, "all", None, utcnow())
    await users.ban(session, population["free_en"].id, admin, utcnow())
    assert await marketing.segment_size(session, "all", None, utcnow()) == before - 1
    await users.unban(session, population["free_en"].id, admin, utcnow())
    assert await marketing.segment_size(session, "all", None, utcnow()) == before


async def test_someone_banned_after_the_start_is_skipped(
    population: dict[str, User],
    session: AsyncSession,
    database: Database,
    settings: Settings,
    telegram_api: FakeTelegramAPI,
) -> None:
    admin = await create_user(session, role=Role.admin)
    template = await make_template(session, settings)
    broadcast = await marketing.create_broadcast(
        session,
        BroadcastCreate.model_validate({"template_id": template.id, "segment": "free"}),
        None,
        utcnow(),
    )
    await session.commit()
    async with database.transaction() as work:
        await marketing.start_due(work, utcnow())
    await users.ban(session, population["free_en"].id, admin, utcnow())
    await session.commit()
    await run_to_end(database, settings)
    sent_to = {call.chat_id for call in telegram_api.sends()}
    assert population["free_en"].telegram_id not in sent_to
    assert population["free_de"].telegram_id in sent_to
    assert (await marketing.analytics(session, broadcast.id)).skipped == 1
