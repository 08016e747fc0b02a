"""`/help`: topics → articles → article, all in one message edited by the buttons; `/help <words>`
or text sent after tapping Search → the five best matches. The reader's Telegram language picks
the articles' language, English where there is no translation."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aiogram import Bot, F, Router
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.config import Settings
from signalhub.errors import NotFound
from signalhub.kit.time import utcnow
from signalhub.knowledge import service as knowledge
from signalhub.knowledge.markdown import to_telegram_messages
from signalhub.knowledge.schemas import SnippetPart
from signalhub.models import KnowledgeCategory, User

SEARCH_RESULTS = 5


@dataclass(frozen=True)
class Texts:
    menu: str
    topics: dict[KnowledgeCategory, str]
    search: str
    back: str
    search_prompt: str
    results: str
    nothing_found: str
    empty_topic: str
    support: str
    gone: str


TEXTS = {
    "en": Texts(
        menu="How can we help? Pick a topic, or tap Search.",
        topics={
            KnowledgeCategory.trading: "📈 Trading",
            KnowledgeCategory.billing: "💳 Billing",
            KnowledgeCategory.devices: "🖥 Devices",
            KnowledgeCategory.general: "ℹ️ General",
        },
        search="🔎 Search",
        back="« Back",
        search_prompt="What are you looking for? Send a few words.",
        results="Results for “{query}”:",
        nothing_found=(
            "Nothing found for “{query}”. Try other words, such as “refund” or “device”, "
            "or browse the topics."
        ),
        empty_topic="No articles here yet.",
        support="Support: {contact}",
        gone="This article is no longer available.",
    ),
    "ru": Texts(
        menu="Чем помочь? Выберите тему или нажмите «Поиск».",
        topics={
            KnowledgeCategory.trading: "📈 Торговля",
            KnowledgeCategory.billing: "💳 Оплата",
            KnowledgeCategory.devices: "🖥 Устройства",
            KnowledgeCategory.general: "ℹ️ Общее",
        },
        search="🔎 Поиск",
        back="« Назад",
        search_prompt="Что вы ищете? Напишите несколько слов.",
        results="Результаты по запросу «{query}»:",
        nothing_found=(
            "По запросу «{query}» ничего не найдено. Попробуйте другие слова, например "
            "«возврат» или «устройство», или выберите тему."
        ),
        empty_topic="Здесь пока нет статей.",
        support="Поддержка: {contact}",
        gone="Эта статья больше недоступна.",
    ),
}
SEARCH_PROMPTS = frozenset(texts.search_prompt for texts in TEXTS.values())


class HelpAction(StrEnum):
    menu = "m"
    topic = "t"
    article = "a"
    search = "s"


class HelpCallback(CallbackData, prefix="help"):
    action: HelpAction
    value: str = ""


@dataclass(frozen=True)
class Reader:
    language: str
    texts: Texts

    @classmethod
    def of(cls, user: User) -> Reader:
        language = knowledge.language_of(user.language_code)
        return cls(language, TEXTS.get(language, TEXTS["en"]))


def _button(text: str, action: HelpAction, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=HelpCallback(action=action, value=value).pack()
    )


def _menu(reader: Reader, settings: Settings) -> tuple[str, InlineKeyboardMarkup]:
    topics = [_button(name, HelpAction.topic, c.value) for c, name in reader.texts.topics.items()]
    rows = [topics[:2], topics[2:], [_button(reader.texts.search, HelpAction.search)]]
    support = reader.texts.support.format(contact=html.escape(settings.support_contact))
    return f"{reader.texts.menu}\n\n{support}", InlineKeyboardMarkup(inline_keyboard=rows)


def _back(reader: Reader, action: HelpAction, value: str = "") -> list[InlineKeyboardButton]:
    return [_button(reader.texts.back, action, value)]


HTML = ParseMode.HTML


async def _show(query: CallbackQuery, bot: Bot, text: str, markup: InlineKeyboardMarkup) -> None:
    """Edits the message the button is on; a message too old to edit gets a new one."""
    await query.answer()
    if isinstance(query.message, Message):
        try:
            await query.message.edit_text(text, parse_mode=HTML, reply_markup=markup)
        except TelegramBadRequest as error:
            # Tapping the same button twice asks for the text the message already has.
            if "message is not modified" not in error.message:
                raise
    elif query.message is not None:
        await bot.send_message(query.message.chat.id, text, parse_mode=HTML, reply_markup=markup)


def _snippet_html(parts: list[SnippetPart]) -> str:
    return "".join(
        f"<b>{html.escape(part.text)}</b>" if part.highlight else html.escape(part.text)
        for part in parts
    )


async def _send_results(
    message: Message,
    words: str,
    reader: Reader,
    session: AsyncSession,
    settings: Settings,
    now: datetime,
) -> None:
    found = await knowledge.search(
        session,
        words,
        language=reader.language,
        category=None,
        page=1,
        page_size=SEARCH_RESULTS,
        now=now,
    )
    shown_query = html.escape(" ".join(words.split())[:100])
    if not found.items:
        text, markup = _menu(reader, settings)
        await message.answer(
            f"{reader.texts.nothing_found.format(query=shown_query)}\n\n{text}",
            parse_mode=HTML,
            reply_markup=markup,
        )
        return
    lines = [reader.texts.results.format(query=shown_query)]
    for number, item in enumerate(found.items, start=1):
        lines.append(f"\n{number}. <b>{html.escape(item.title)}</b>\n{_snippet_html(item.snippet)}")
    rows = [
        [_button(f"{number}. {item.title}"[:64], HelpAction.article, item.slug)]
        for number, item in enumerate(found.items, start=1)
    ]
    rows.append(_back(reader, HelpAction.menu))
    await message.answer(
        "\n".join(lines), parse_mode=HTML, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


async def help_command(
    message: Message,
    command: CommandObject,
    user: User,
    session: AsyncSession,
    settings: Settings,
) -> None:
    reader = Reader.of(user)
    if command.args and command.args.strip():
        await _send_results(message, command.args, reader, session, settings, utcnow())
        return
    text, markup = _menu(reader, settings)
    await message.answer(text, parse_mode=HTML, reply_markup=markup)


async def search_reply(
    message: Message, user: User, session: AsyncSession, settings: Settings
) -> None:
    await _send_results(message, message.text or "", Reader.of(user), session, settings, utcnow())


async def show_menu(query: CallbackQuery, bot: Bot, user: User, settings: Settings) -> None:
    text, markup = _menu(Reader.of(user), settings)
    await _show(query, bot, text, markup)


async def ask_for_words(query: CallbackQuery, bot: Bot, user: User) -> None:
    """ForceReply makes the next message a reply to this prompt, which routes it to the search
    without keeping any state between updates."""
    await query.answer()
    if query.message is not None:
        await bot.send_message(
            query.message.chat.id,
            Reader.of(user).texts.search_prompt,
            reply_markup=ForceReply(input_field_placeholder="refund, device limit…"),
        )


async def show_topic(
    query: CallbackQuery,
    callback_data: HelpCallback,
    bot: Bot,
    user: User,
    session: AsyncSession,
) -> None:
    reader = Reader.of(user)
    try:
        category = KnowledgeCategory(callback_data.value)
    except ValueError:
        await query.answer()
        return
    articles = await knowledge.topic(session, category, reader.language)
    rows = [[_button(article.title[:64], HelpAction.article, article.slug)] for article in articles]
    rows.append(_back(reader, HelpAction.menu))
    heading = f"<b>{html.escape(reader.texts.topics[category])}</b>"
    text = heading if articles else f"{heading}\n\n{reader.texts.empty_topic}"
    await _show(query, bot, text, InlineKeyboardMarkup(inline_keyboard=rows))


async def show_article(
    query: CallbackQuery,
    callback_data: HelpCallback,
    bot: Bot,
    user: User,
    session: AsyncSession,
) -> None:
    reader = Reader.of(user)
    try:
        article = await knowledge.read(
            session, callback_data.value, reader.language, user.id, utcnow()
        )
    except NotFound:
        await query.answer(reader.texts.gone, show_alert=True)
        return
    first, *rest = to_telegram_messages(article.title, article.body)
    back = InlineKeyboardMarkup(
        inline_keyboard=[_back(reader, HelpAction.topic, article.category.value)]
    )
    if not rest:
        await _show(query, bot, first, back)
        return
    # A long article: its first part replaces the menu, the rest follow it, and the Back button
    # sits under the last part, where the reader finishes.
    await _show(query, bot, first, InlineKeyboardMarkup(inline_keyboard=[]))
    if query.message is not None:
        for number, part in enumerate(rest, start=1):
            await bot.send_message(
                query.message.chat.id,
                part,
                parse_mode=HTML,
                reply_markup=back if number == len(rest) else None,
            )


def create_router() -> Router:
    router = Router(name="help")
    router.message.register(help_command, Command("help"))
    router.message.register(
        search_reply,
        F.reply_to_message.text.in_(SEARCH_PROMPTS),
        F.text,
        ~F.text.startswith("/"),
    )
    router.callback_query.register(show_menu, HelpCallback.filter(F.action == HelpAction.menu))
    router.callback_query.register(
        ask_for_words, HelpCallback.filter(F.action == HelpAction.search)
    )
    router.callback_query.register(show_topic, HelpCallback.filter(F.action == HelpAction.topic))
    router.callback_query.register(
        show_article, HelpCallback.filter(F.action == HelpAction.article)
    )
    return router
