"""Admin commands. `/refund <telegram_payment_charge_id>`: Telegram refunds the Stars, then the
ledger, the entitlement and the audit log follow. `/signal ...`: publishes a signal (see
`signals.command` for the syntax). `/ban <telegram_id>` and `/unban <telegram_id>`: the same
ban as `POST /api/v1/admin/users/{id}/ban` and `.../unban`."""

from __future__ import annotations

import re

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing.stars import service as stars
from signalhub.config import Settings
from signalhub.errors import NotFound
from signalhub.kit.time import utcnow
from signalhub.models import Role, User
from signalhub.signals import command as signal_command
from signalhub.signals import messages as signal_messages
from signalhub.signals import service as signals
from signalhub.users import service as users

# Telegram ids are positive and fit in a BIGINT.
TELEGRAM_ID = re.compile(r"[0-9]{1,19}")
MAX_TELEGRAM_ID = 2**63 - 1


async def refund(
    message: Message,
    command: CommandObject,
    user: User,
    session: AsyncSession,
    bot: Bot,
    settings: Settings,
) -> None:
    if user.role != Role.admin:
        await message.answer("Only admins can refund payments.")
        return
    charge_id = (command.args or "").strip()
    if not charge_id:
        await message.answer("Usage: /refund <telegram_payment_charge_id>")
        return
    try:
        payment, payer = await stars.find_charge(session, charge_id)
    except NotFound as error:
        await message.answer(error.message)
        return
    try:
        await bot.refund_star_payment(
            user_id=payer.telegram_id, telegram_payment_charge_id=charge_id
        )
    except TelegramBadRequest as error:
        await message.answer(f"Telegram refused the refund: {error.message}")
        return
    await stars.record_refund(
        session,
        settings,
        telegram_payment_charge_id=charge_id,
        payload=str(payment.details.get("invoice_payload", "")),
        total_amount=payment.amount_minor,
        payer=payer,
        actor_user_id=user.id,
        now=utcnow(),
    )
    await message.answer(f"Refunded {payment.amount_minor} Stars to {payer.telegram_id}.")


async def publish_signal(
    message: Message, command: CommandObject, user: User, session: AsyncSession
) -> None:
    if user.role != Role.admin:
        await message.answer("Only admins can publish signals.")
        return
    try:
        data = signal_command.parse(command.args or "")
    except signal_command.CommandError as error:
        await message.answer(str(error))
        return
    signal = await signals.publish(session, data, user.id, utcnow())
    await message.answer(
        f"Signal #{signal.id} published to {signal.min_tier.value} traders and above:\n\n"
        f"{signal_messages.request_text(signal)}"
    )


async def ban(message: Message, command: CommandObject, user: User, session: AsyncSession) -> None:
    await _moderate(message, command, user, session, banning=True)


async def unban(
    message: Message, command: CommandObject, user: User, session: AsyncSession
) -> None:
    await _moderate(message, command, user, session, banning=False)


async def _moderate(
    message: Message, command: CommandObject, user: User, session: AsyncSession, *, banning: bool
) -> None:
    verb = "ban" if banning else "unban"
    if user.role != Role.admin:
        await message.answer(f"Only admins can {verb} users.")
        return
    argument = (command.args or "").strip()
    if not TELEGRAM_ID.fullmatch(argument) or not 0 < int(argument) <= MAX_TELEGRAM_ID:
        await message.answer(f"Usage: /{verb} <telegram_id>")
        return
    target = await users.get_by_telegram_id(session, int(argument))
    if target is None:
        await message.answer(f"No user has Telegram id {argument}.")
        return
    try:
        if banning:
            await users.ban(session, target.id, user, utcnow())
        else:
            await users.unban(session, target.id, user, utcnow())
    except users.CannotBanSelf as refusal:
        await message.answer(refusal.message)
        return
    outcome = "banned: signed out everywhere" if banning else "unbanned: may sign in again"
    await message.answer(f"User {argument} {outcome}.")


def create_router() -> Router:
    router = Router(name="admin")
    router.message.register(refund, Command("refund"))
    router.message.register(publish_signal, Command("signal"))
    router.message.register(ban, Command("ban"))
    router.message.register(unban, Command("unban"))
    return router
