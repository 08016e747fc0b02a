"""A trader's Approve / Reject buttons under a signal. The same service as the Mini App's
buttons decides; the bot message is then rewritten through the outbox."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.errors import Conflict, NotFound
from signalhub.kit.time import utcnow
from signalhub.models import ApprovalChannel, ApprovalStatus, User
from signalhub.signals import service as signals
from signalhub.signals.callbacks import ApprovalCallback


async def decide(
    query: CallbackQuery, callback_data: ApprovalCallback, user: User, session: AsyncSession
) -> None:
    try:
        approval = await signals.decide(
            session,
            callback_data.approval_id,
            user.id,
            callback_data.approve,
            ApprovalChannel.bot,
            utcnow(),
        )
    except (NotFound, Conflict) as refusal:
        await query.answer(refusal.message, show_alert=True)
        return
    approved = approval.status is ApprovalStatus.approved
    await query.answer("Approved ✅" if approved else "Rejected ❌")


def create_router() -> Router:
    router = Router(name="approvals")
    router.callback_query.register(decide, ApprovalCallback.filter())
    return router
