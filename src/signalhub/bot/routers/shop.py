"""`/shop`: active products with what each tier gives, priced in USD and Stars; choosing one
sends a Stars invoice, or a subscription link for monthly products."""

from __future__ import annotations

from enum import StrEnum

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing.stars import bot_api as stars_bot_api
from signalhub.billing.stars import service as stars
from signalhub.catalog import service as catalog
from signalhub.errors import AppError
from signalhub.kit.money import format_price
from signalhub.models import Product, User


class MenuAction(StrEnum):
    shop = "shop"
    status = "status"


class MenuCallback(CallbackData, prefix="menu"):
    action: MenuAction


class BuyCallback(CallbackData, prefix="buy"):
    code: str
    subscription: bool = False


def _product_text(product: Product) -> str:
    features = "".join(f"\n  • {feature}" for feature in product.features)
    return (
        f"{product.name} ({product.tier}, {product.duration_days} days): "
        f"{format_price(product.price_amount_minor, product.price_currency)} or "
        f"{product.price_stars} Stars{features}"
    )


def _product_buttons(product: Product) -> list[InlineKeyboardButton]:
    buttons = [
        InlineKeyboardButton(
            text=f"{product.name}: {product.price_stars} ⭐",
            callback_data=BuyCallback(code=product.code).pack(),
        )
    ]
    if stars.can_subscribe(product):
        buttons.append(
            InlineKeyboardButton(
                text=f"{product.name} monthly ⭐",
                callback_data=BuyCallback(code=product.code, subscription=True).pack(),
            )
        )
    return buttons


async def send_shop(message: Message, session: AsyncSession) -> None:
    products = await catalog.list_active(session)
    if not products:
        await message.answer("Nothing is on sale right now.")
        return
    await message.answer(
        "Plans:\n\n" + "\n\n".join(_product_text(product) for product in products),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[_product_buttons(product) for product in products]
        ),
    )


async def shop(message: Message, session: AsyncSession) -> None:
    await send_shop(message, session)


async def shop_button(query: CallbackQuery, session: AsyncSession) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await send_shop(query.message, session)


async def buy(
    query: CallbackQuery, callback_data: BuyCallback, user: User, session: AsyncSession, bot: Bot
) -> None:
    try:
        invoice = await stars.open_invoice(
            session, user, callback_data.code, subscription=callback_data.subscription
        )
    except AppError as error:
        await query.answer(error.message, show_alert=True)
        return
    await query.answer()
    if not invoice.subscription:
        await stars_bot_api.send(bot, user.telegram_id, invoice)
        return
    link = await stars_bot_api.create_link(bot, invoice)
    product = invoice.product
    await bot.send_message(
        user.telegram_id,
        f"{product.name}: {product.price_stars} Stars every 30 days, cancel any time.",
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Subscribe ⭐", url=link)]]
        ),
    )


def create_router() -> Router:
    router = Router(name="shop")
    router.message.register(shop, Command("shop"))
    router.callback_query.register(shop_button, MenuCallback.filter(F.action == MenuAction.shop))
    router.callback_query.register(buy, BuyCallback.filter())
    return router
