"""The Bot API calls that put a Stars invoice in front of a payer, shared by the bot's /shop and
the Mini App's payment page so that both show the same price and payload."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import LabeledPrice

from signalhub.billing.stars.service import CURRENCY, SUBSCRIPTION_PERIOD_S, Invoice


def _prices(invoice: Invoice) -> list[LabeledPrice]:
    return [LabeledPrice(label=invoice.product.name, amount=invoice.request.amount_minor)]


async def create_link(bot: Bot, invoice: Invoice) -> str:
    """An invoice link (`openInvoice` in the Mini App, a button in a chat)."""
    return await bot.create_invoice_link(
        title=invoice.title,
        description=invoice.description,
        payload=invoice.payload,
        provider_token="",
        currency=CURRENCY,
        prices=_prices(invoice),
        subscription_period=SUBSCRIPTION_PERIOD_S if invoice.subscription else None,
    )


async def send(bot: Bot, chat_id: int, invoice: Invoice) -> None:
    """The invoice as a message in the payer's chat with the bot."""
    await bot.send_invoice(
        chat_id=chat_id,
        title=invoice.title,
        description=invoice.description,
        payload=invoice.payload,
        provider_token="",
        currency=CURRENCY,
        prices=_prices(invoice),
    )
