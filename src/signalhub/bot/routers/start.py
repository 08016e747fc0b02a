"""`/start` (with deep links), the main menu, `/status`, and whether the user blocked the bot."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    WebAppInfo,
)
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.bot.deep_links import StartPayload, StartPayloadIs
from signalhub.bot.routers.shop import MenuAction, MenuCallback, send_shop
from signalhub.config import Settings
from signalhub.entitlements import service as entitlements
from signalhub.kit.time import utcnow
from signalhub.models import User
from signalhub.users import service as users


def main_menu(settings: Settings) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                text="Shop", callback_data=MenuCallback(action=MenuAction.shop).pack()
            ),
            InlineKeyboardButton(
                text="Status", callback_data=MenuCallback(action=MenuAction.status).pack()
            ),
        ]
    ]
    # Telegram opens Mini Apps from https URLs only.
    if settings.public_url.startswith("https://"):
        url = f"{settings.public_url.rstrip('/')}/miniapp/"
        rows.append([InlineKeyboardButton(text="Open Mini App", web_app=WebAppInfo(url=url))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def start(
    message: Message,
    start_payload: StartPayload,
    user: User,
    session: AsyncSession,
    settings: Settings,
) -> None:
    if start_payload.kind == "shop":
        await send_shop(message, session)
        return
    name = user.first_name or "trader"
    await message.answer(
        f"Welcome to signalhub, {name}! Trading signals, straight to this chat.",
        reply_markup=main_menu(settings),
    )


async def status_text(session: AsyncSession, user: User) -> str:
    current = await entitlements.current(session, user.id, utcnow())
    if current.expires_at is None:
        return "Your plan: free. Open /shop to upgrade."
    return f"Your plan: {current.tier}, until {current.expires_at:%Y-%m-%d %H:%M} UTC."


async def status(message: Message, user: User, session: AsyncSession) -> None:
    await message.answer(await status_text(session, user))


async def status_button(query: CallbackQuery, user: User, session: AsyncSession) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(await status_text(session, user))


async def member_status(event: ChatMemberUpdated, session: AsyncSession) -> None:
    """Kicked means the user blocked the bot; the sender stops writing to them."""
    status = event.new_chat_member.status
    if status in (ChatMemberStatus.KICKED, ChatMemberStatus.MEMBER):
        await users.set_bot_blocked(session, event.from_user.id, status == ChatMemberStatus.KICKED)


def create_router() -> Router:
    router = Router(name="start")
    router.message.register(start, CommandStart(), StartPayloadIs())
    router.message.register(status, Command("status"))
    router.callback_query.register(
        status_button, MenuCallback.filter(F.action == MenuAction.status)
    )
    router.my_chat_member.register(member_status, F.chat.type == ChatType.PRIVATE)
    return router
