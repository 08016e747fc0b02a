"""A fixture population covering every segment, and helpers that drive a broadcast the way the
worker does: scheduler ticks, the real outbox sender against the fake Bot API."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.config import Settings
from signalhub.db import Database
from signalhub.entitlements import service as entitlements
from signalhub.kit.time import utcnow
from signalhub.marketing import service as marketing
from signalhub.marketing import tasks
from signalhub.marketing.schemas import TemplateCreate
from signalhub.models import BroadcastDelivery, BroadcastTemplate, Tier, User
from tests.factories import create_payment, create_product, create_user
from tests.helpers import drain_outbox

# name → (tier, granted days ago, duration days, revoked) ; None: never paid.
POPULATION: dict[str, tuple[Tier, int, int, bool] | None] = {
    "free_en": None,
    "free_de": None,
    "free_en_us": None,
    "premium": (Tier.premium, 5, 30, False),
    "premium_and_vip": (Tier.premium, 5, 30, False),
    "vip": (Tier.vip, 5, 30, False),
    "enterprise": (Tier.enterprise, 1, 30, False),
    "expiring_premium": (Tier.premium, 27, 30, False),
    "lapsed_recent": (Tier.premium, 40, 30, False),
    "lapsed_old": (Tier.premium, 100, 30, False),
    "refunded": (Tier.premium, 5, 30, True),
    "blocked_vip": (Tier.vip, 5, 30, False),
    "opted_out": None,
}
LANGUAGES = {"free_de": "de", "free_en_us": "en-US"}


async def build_population(session: AsyncSession, now: datetime) -> dict[str, User]:
    products = {
        tier: await create_product(session, tier=tier) for tier in Tier if tier is not Tier.free
    }
    people: dict[str, User] = {}
    for index, (name, paid) in enumerate(POPULATION.items()):
        user = await create_user(session, telegram_id=2_000_000 + index)
        user.first_name = name
        user.language_code = LANGUAGES.get(name, "en")
        if paid is not None:
            tier, days_ago, _, revoked = paid
            product = products[tier]
            payment = await create_payment(session, user, product)
            granted_at = now - timedelta(days=days_ago)
            await entitlements.grant(session, product, payment, granted_at)
            if revoked:
                await entitlements.revoke(session, payment, "refund", granted_at)
        people[name] = user
    # The current tier of a VIP who also holds premium is VIP.
    vip_too = await create_payment(session, people["premium_and_vip"], products[Tier.vip])
    await entitlements.grant(session, products[Tier.vip], vip_too, now - timedelta(days=1))
    people["blocked_vip"].bot_blocked = True
    people["opted_out"].marketing_opt_out = True
    await session.flush()
    return people


@pytest.fixture
def database(committing_database: Database) -> Database:
    """Broadcast tests commit for real: the sender's concurrent sends each commit on their own
    connection, which the shared rolled-back test connection cannot nest."""
    return committing_database


@pytest.fixture
async def population(session: AsyncSession) -> dict[str, User]:
    people = await build_population(session, utcnow())
    await session.commit()
    return people


async def make_template(
    session: AsyncSession, settings: Settings, text: str = "Hello {first_name}!", **fields: object
) -> BroadcastTemplate:
    data = TemplateCreate.model_validate({"title": "Promo", "text": text, **fields})
    return await marketing.create_template(session, settings, data, None)


async def tick(
    database: Database, settings: Settings, now: datetime | None = None
) -> dict[str, int]:
    async with database.transaction() as session:
        return await tasks.run_broadcasts(session, now or utcnow(), settings)


async def run_to_end(database: Database, settings: Settings, *, ticks: int = 20) -> None:
    """Scheduler ticks and sender passes until nothing is left to do."""
    for _ in range(ticks):
        done = await tick(database, settings)
        await drain_outbox(settings, database)
        if done["finished"]:
            return
    raise AssertionError(f"the broadcast did not finish in {ticks} ticks")


async def recipients(session: AsyncSession, broadcast_id: int) -> set[int]:
    result = await session.scalars(
        select(BroadcastDelivery.user_id).where(BroadcastDelivery.broadcast_id == broadcast_id)
    )
    return set(result.all())
