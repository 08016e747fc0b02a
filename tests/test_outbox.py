from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.models import OutboxMessage, OutboxStatus, Priority
from signalhub.outbox import service as outbox
from tests.factories import create_user


async def test_enqueue_writes_a_pending_row_in_the_callers_transaction(
    session: AsyncSession,
) -> None:
    user = await create_user(session)
    message = await outbox.enqueue(
        session,
        user.telegram_id,
        "Your payment went through.",
        [[{"text": "Open", "url": "https://t.me/signalhub_test_bot"}]],
        priority=Priority.transactional,
        kind="receipt",
        user_id=user.id,
    )
    stored = await session.scalar(select(OutboxMessage).where(OutboxMessage.id == message.id))
    assert stored is not None
    assert stored.status == OutboxStatus.pending
    assert stored.priority == Priority.transactional
    assert stored.buttons == [[{"text": "Open", "url": "https://t.me/signalhub_test_bot"}]]

    await session.rollback()
    assert await session.scalar(select(OutboxMessage).where(OutboxMessage.id == message.id)) is None


async def test_alert_admins_queues_one_message_per_admin(session: AsyncSession) -> None:
    messages = await outbox.alert_admins(session, [901, 902], "Dispute opened", kind="admin_alert")
    assert sorted(message.chat_id for message in messages) == [901, 902]
    assert {message.kind for message in messages} == {"admin_alert"}
