"""A VIP trader (room for three devices) and one registered device with its secret."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.config import Settings
from signalhub.devices import service as devices
from signalhub.models import Tier, User
from tests.factories import create_device, create_subscriber


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
