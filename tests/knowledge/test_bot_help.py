"""/help through the real dispatcher and webhook, against the fake Bot API."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.bot.routers.help import TEXTS
from signalhub.knowledge.service import seed_faq
from signalhub.models import KnowledgeArticle, KnowledgeCategory
from tests.bot import updates
from tests.factories import create_article
from tests.fakes.telegram_api import Call, FakeTelegramAPI

TRADER = 555_013
MESSAGE_ID = 4242


def buttons(call: Call) -> list[dict[str, Any]]:
    return [button for row in call.params["reply_markup"]["inline_keyboard"] for button in row]


def button(call: Call, text: str) -> dict[str, Any]:
    return next(found for found in buttons(call) if text in found["text"])


async def press(
    client: httpx.AsyncClient, pressed: dict[str, Any], language_code: str | None = "en"
) -> None:
    update = updates.callback(
        TRADER, pressed["callback_data"], language_code=language_code, message_id=MESSAGE_ID
    )
    assert (await updates.post(client, update)).status_code == 200


async def view_count(session: AsyncSession, slug: str, language: str = "en") -> int:
    article = await session.scalar(
        select(KnowledgeArticle)
        .where(KnowledgeArticle.slug == slug, KnowledgeArticle.language == language)
        .execution_options(populate_existing=True)
    )
    assert article is not None
    return article.view_count


async def test_topics_then_article_then_back_all_in_one_message(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    await seed_faq(session)
    await session.commit()

    await updates.post(client, updates.command(TRADER, "/help"))
    menu = telegram_api.of("sendMessage")[-1]
    assert menu.params["text"].startswith("How can we help?")
    assert "Support: @signalhub_support" in menu.params["text"]
    assert [b["text"] for b in buttons(menu)] == [
        "📈 Trading",
        "💳 Billing",
        "🖥 Devices",
        "ℹ️ General",
        "🔎 Search",
    ]

    await press(client, button(menu, "Billing"))
    topic = telegram_api.of("editMessageText")[-1]
    assert topic.params["message_id"] == str(MESSAGE_ID)
    titles = [b["text"] for b in buttons(topic)]
    assert "Can I get a refund? What happens if I do?" in titles
    assert "How do I add a device and get its secret?" not in titles
    assert titles[-1] == "« Back"

    await press(client, button(topic, "refund"))
    article = telegram_api.of("editMessageText")[-1]
    assert article.params["message_id"] == str(MESSAGE_ID)
    assert article.params["parse_mode"] == "HTML"
    assert article.params["text"].startswith("<b>Can I get a refund? What happens if I do?</b>")
    assert "<b>ends what that payment bought at once</b>" in article.params["text"]
    assert "• <b>Stars</b>" in article.params["text"]
    assert await view_count(session, "refunds") == 1

    await press(client, button(article, "Back"))
    assert telegram_api.of("editMessageText")[-1].params["text"] == "<b>💳 Billing</b>"
    await press(client, button(topic, "Back"))
    assert telegram_api.of("editMessageText")[-1].params["text"].startswith("How can we help?")
    assert telegram_api.of("sendMessage") == [menu], "navigation never sends a new message"


async def test_a_reader_counts_once_a_day(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    await create_article(session, slug="counted", title="Counted")
    await session.commit()
    open_article = {"callback_data": "help:a:counted"}
    await press(client, open_article)
    await press(client, open_article)
    assert await view_count(session, "counted") == 1


async def test_help_with_words_answers_the_top_five_with_snippets(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    await seed_faq(session)
    await session.commit()

    await updates.post(client, updates.command(TRADER, "/help device"))
    results = telegram_api.of("sendMessage")[-1]
    text = results.params["text"]
    assert text.startswith("Results for “device”:")
    assert "\n1. <b>" in text
    assert "<b>device" in text.lower()
    result_buttons = buttons(results)
    assert 1 <= len(result_buttons) - 1 <= 5
    assert result_buttons[-1]["text"] == "« Back"
    assert all(b["callback_data"].startswith("help:a:") for b in result_buttons[:-1])


async def test_nothing_found_suggests_words_and_the_support_contact(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    await seed_faq(session)
    await session.commit()
    await updates.post(client, updates.command(TRADER, "/help <b>xyzzy</b>"))
    text = telegram_api.of("sendMessage")[-1].params["text"]
    assert text.startswith("Nothing found for “&lt;b&gt;xyzzy&lt;/b&gt;”.")
    assert "Support: @signalhub_support" in text


async def test_search_button_then_plain_text_searches(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    await seed_faq(session)
    await session.commit()
    await press(client, {"callback_data": "help:s:"})
    prompt = telegram_api.of("sendMessage")[-1]
    assert prompt.params["text"] == TEXTS["en"].search_prompt
    assert prompt.params["reply_markup"]["force_reply"] is True

    await updates.post(client, updates.reply(TRADER, "refund", prompt.params["text"]))
    results = telegram_api.of("sendMessage")[-1]
    assert results.params["text"].startswith("Results for “refund”:")
    assert "Can I get a refund?" in results.params["text"]


async def test_plain_text_that_answers_nothing_of_ours_is_not_a_search(
    client: httpx.AsyncClient, telegram_api: FakeTelegramAPI
) -> None:
    await updates.post(client, updates.reply(TRADER, "refund", "Some other message"))
    assert telegram_api.of("sendMessage") == []


async def test_russian_readers_get_russian_with_english_where_untranslated(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    await seed_faq(session)
    await create_article(
        session, slug="english-only", title="Only in English", category=KnowledgeCategory.billing
    )
    await session.commit()

    await updates.post(client, updates.command(TRADER, "/help", language_code="ru-RU"))
    menu = telegram_api.of("sendMessage")[-1]
    assert menu.params["text"].startswith("Чем помочь?")

    await press(client, button(menu, "Оплата"), language_code="ru-RU")
    titles = [b["text"] for b in buttons(telegram_api.of("editMessageText")[-1])]
    assert "Можно ли вернуть деньги? Что будет после возврата?" in titles
    assert "Only in English" in titles
    assert "Can I get a refund? What happens if I do?" not in titles

    await press(client, {"callback_data": "help:a:refunds"}, language_code="ru")
    assert "Решение о возврате" in telegram_api.of("editMessageText")[-1].params["text"]
    assert await view_count(session, "refunds", "ru") == 1

    await updates.post(client, updates.command(TRADER, "/help возвр", language_code="ru"))
    assert "Можно ли вернуть деньги?" in telegram_api.of("sendMessage")[-1].params["text"]


async def test_no_language_or_an_unknown_one_reads_english(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    await seed_faq(session)
    await session.commit()
    for language_code in (None, "de"):
        await updates.post(client, updates.command(TRADER, "/help", language_code=language_code))
        assert telegram_api.of("sendMessage")[-1].params["text"].startswith("How can we help?")


async def test_a_long_article_is_split_at_paragraphs_with_back_under_the_last_part(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    paragraphs = [f"Paragraph {number}. " + "word " * 150 for number in range(12)]
    await create_article(session, slug="long", title="Long", body="\n\n".join(paragraphs))
    await session.commit()

    await press(client, {"callback_data": "help:a:long"})
    first = telegram_api.of("editMessageText")[-1]
    rest = telegram_api.of("sendMessage")
    parts = [first.params["text"]] + [call.params["text"] for call in rest]
    assert len(parts) >= 2
    assert all(len(part) <= 4096 for part in parts)
    assert "\n\n".join(parts).count("Paragraph") == 12
    assert all(part.rstrip().endswith("word") for part in parts), "cut between paragraphs"
    assert buttons(first) == []
    assert [b["text"] for b in buttons(rest[-1])] == ["« Back"]


async def test_an_unknown_or_unpublished_article_is_an_alert_not_an_error(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    await create_article(session, slug="draft", title="Draft", is_published=False)
    await session.commit()
    for slug in ("draft", "missing"):
        await press(client, {"callback_data": f"help:a:{slug}"})
        answer = telegram_api.of("answerCallbackQuery")[-1]
        assert answer.params["text"] == TEXTS["en"].gone
    assert telegram_api.of("editMessageText") == []
