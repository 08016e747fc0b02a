"""A VIP trader (room for three devices), one registered device with its secret, and a signal
the trader approved; helpers to offer and approve more."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.config import Settings
from signalhub.db import Database
from signalhub.devices import service as devices
from signalhub.kit.time import utcnow
from signalhub.models import Approval, ApprovalChannel, Signal, Tier, User
from signalhub.signals import service as signals
from tests.factories import create_device, create_subscriber
from tests.signals.conftest import fan_out, publish


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


async def offered(
    database: Database, session: AsyncSession, user: User, **signal: Any
) -> tuple[Signal, Approval]:
    published = await publish(session, **signal)
    await session.commit()
    await fan_out(database)
    approval = await session.scalar(
        select(Approval).where(Approval.signal_id == published.id, Approval.user_id == user.id)
    )
    assert approval is not None
    return published, approval


@pytest.fixture
async def approval(database: Database, session: AsyncSession, trader: User) -> Approval:
    """A signal offered to the trader and approved: what their devices take."""
    _, approved = await offered(database, session, trader)
    await approve(session, approved)
    return approved
