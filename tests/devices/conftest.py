"""A VIP trader (room for three devices), one registered device with its secret, and a signal
the trader approved; a helper to approve more."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.config import Settings
from signalhub.db import Database
from signalhub.devices import service as devices
from signalhub.kit.time import utcnow
from signalhub.models import Approval, ApprovalChannel, Tier, User
from signalhub.signals import service as signals
from tests.factories import create_device, create_subscriber
from tests.signals.conftest import offered


@pytest.fixture
async def trader(session: AsyncSession) -> User:
    user = await create_subscriber(session, Tier.vip, telegram_id=8001)
    await session.commit()
    return user


@pytest.fixture
async def device(session: AsyncSession, settings: Settings, trader: User) -> devices.Registration:
    registration = await create_device(session, settings, trader, name="Office MT5")
    await session.commit()
    return registration


async def approve(session: AsyncSession, approval: Approval) -> None:
    await signals.decide(
        session, approval.id, approval.user_id, True, ApprovalChannel.miniapp, utcnow()
    )
    await session.commit()


@pytest.fixture
async def approval(database: Database, session: AsyncSession, trader: User) -> Approval:
    """A signal offered to the trader and approved: what their devices take."""
    _, approved = await offered(database, session, trader)
    await approve(session, approved)
    return approved
