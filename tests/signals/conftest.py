from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.models import Approval, Signal, User
from signalhub.signals import service
from signalhub.signals.schemas import SignalCreate
from signalhub.signals.tasks import fan_out_until_idle
from tests.helpers import bearer_for

ADMIN_TELEGRAM_ID = 900  # listed in the test settings' admin_telegram_ids


def signal_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "symbol": "EURUSD",
        "side": "buy",
        "entry_price": "1.0850",
        "stop_loss": "1.0820",
        "take_profits": ["1.0900", "1.0950"],
    }
    body.update(overrides)
    return body


async def publish(session: AsyncSession, now: datetime | None = None, **overrides: Any) -> Signal:
    return await service.publish(
        session, SignalCreate.model_validate(signal_body(**overrides)), None, now or utcnow()
    )


async def fan_out(database: Database, batch_size: int = 500) -> int:
    return await fan_out_until_idle(database, batch_size)


@pytest.fixture
async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return await bearer_for(client, ADMIN_TELEGRAM_ID)


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
