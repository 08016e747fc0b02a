"""`/start login_<code>`: a browser asks to sign in. The bot shows where the request comes from
and its match code; the user confirms (the browser then shows who confirmed and its user accepts)
or denies (which rules out only this Telegram user: the browser keeps waiting)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.auth import device_flow
from signalhub.bot.deep_links import StartPayload, StartPayloadIs
from signalhub.errors import Conflict, NotFound
from signalhub.kit.time import utcnow
from signalhub.models import LoginRequest, User


class LoginDecision(CallbackData, prefix="login"):
    auth_code: str
    approve: bool


def _describe(request: LoginRequest) -> str:
    return "\n".join(
        [
            "Sign in to signalhub in a browser?",
            "",
            f"Browser: {request.user_agent or 'unknown'}",
            f"IP address: {request.ip_address or 'unknown'}",
            f"Requested: {request.created_at:%Y-%m-%d %H:%M:%S} UTC",
            f"Match code: {request.match_code}",
            "",
            "Confirm only if you started this and your browser shows the same code. "
            "Your browser will then show your name and ask to accept it.",
        ]
    )


def _buttons(auth_code: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text="Confirm",
                    callback_data=LoginDecision(auth_code=auth_code, approve=True).pack(),
                ),
                InlineKeyboardButton(
                    text="Deny",
                    callback_data=LoginDecision(auth_code=auth_code, approve=False).pack(),
                ),
            ]
        ]
    )


async def show_request(
    message: Message, start_payload: StartPayload, user: User, session: AsyncSession
) -> None:
    try:
        request = await device_flow.pending_request(
            session, start_payload.value or "", user, utcnow()
        )
    except NotFound as missing:
        await message.answer(f"{missing.message} Start again from your browser.")
        return
    except Conflict as refusal:
        await message.answer(refusal.message)
        return
    await message.answer(_describe(request), reply_markup=_buttons(request.auth_code))


async def decide(
    query: CallbackQuery, callback_data: LoginDecision, user: User, session: AsyncSession
) -> None:
    try:
        if callback_data.approve:
            await device_flow.confirm(session, callback_data.auth_code, user, utcnow())
        else:
            await device_flow.decline(session, callback_data.auth_code, user, utcnow())
    except (NotFound, Conflict) as refusal:
        await query.answer(refusal.message, show_alert=True)
        return
    outcome = (
        "Confirmed: go back to your browser and accept signing in as you."
        if callback_data.approve
        else "Denied: this browser will not be signed in as you."
    )
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(outcome)


def create_router() -> Router:
    router = Router(name="login")
    router.message.register(show_request, CommandStart(deep_link=True), StartPayloadIs("login"))
    router.callback_query.register(decide, LoginDecision.filter(F.auth_code != ""))
    return router
