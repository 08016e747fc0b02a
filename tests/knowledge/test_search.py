"""Search through the real engine of whichever database runs the tests (FTS5 or tsvector)."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.kit.time import utcnow
from signalhub.knowledge import service
from signalhub.knowledge.repository import parse_query
from signalhub.knowledge.schemas import KnowledgePage
from signalhub.models import KnowledgeCategory
from tests.factories import create_article


async def search(
    session: AsyncSession,
    query: str,
    language: str = "en",
    category: KnowledgeCategory | None = None,
    page: int = 1,
    page_size: int = 10,
) -> KnowledgePage:
    return await service.search(
        session,
        query,
        language=language,
        category=category,
        page=page,
        page_size=page_size,
        now=utcnow(),
    )


def slugs(page: KnowledgePage) -> list[str]:
    return [item.slug for item in page.items]


async def test_a_title_match_ranks_above_a_body_match(session: AsyncSession) -> None:
    await create_article(
        session,
        slug="body-only",
        title="Paying for a plan",
        body="You can also ask for a refund of a payment in the first days.",
    )
    await create_article(
        session,
        slug="in-title",
        title="Refunds",
        body="What happens to your plan when money goes back.",
    )
    assert slugs(await search(session, "refund ")) == ["in-title", "body-only"]


async def test_keywords_rank_between_title_and_body(session: AsyncSession) -> None:
    await create_article(session, slug="body", title="Other", body="The terminal needs a magic.")
    await create_article(session, slug="keywords", title="Another", keywords="magic number")
    await create_article(session, slug="title", title="Magic number", body="Set it once.")
    assert slugs(await search(session, "magic ")) == ["title", "keywords", "body"]


async def test_the_last_word_matches_as_a_prefix_while_typing(session: AsyncSession) -> None:
    await create_article(session, slug="stripe", title="Paying by card with Stripe")
    await create_article(session, slug="stars", title="Paying with Telegram Stars")
    assert slugs(await search(session, "strip")) == ["stripe"]
    assert slugs(await search(session, "paying st")) == ["stars", "stripe"] or set(
        slugs(await search(session, "paying st"))
    ) == {"stars", "stripe"}
    assert slugs(await search(session, "strip ")) == [], "a finished word is not a prefix"


async def test_every_word_must_match_and_stop_words_do_not_count(session: AsyncSession) -> None:
    await create_article(session, slug="stars", title="Paying with Telegram Stars")
    await create_article(session, slug="card", title="Paying by card")
    assert slugs(await search(session, "how do I pay with stars")) == ["stars"]
    assert slugs(await search(session, "paying bitcoin")) == []


async def test_stemming_matches_other_forms_of_a_word(session: AsyncSession) -> None:
    await create_article(session, slug="devices", title="Adding devices", body="Register it.")
    assert slugs(await search(session, "device registered ")) == ["devices"]


async def test_snippet_highlights_the_matched_words_as_plain_text(session: AsyncSession) -> None:
    await create_article(
        session,
        title="Refunds",
        body="A **refund** takes the plan back at once. See [billing](https://example.com).",
    )
    (item,) = (await search(session, "plan ")).items
    highlighted = [part.text for part in item.snippet if part.highlight]
    assert highlighted == ["plan"]
    text = "".join(part.text for part in item.snippet)
    assert "**" not in text
    assert "https://" not in text
    assert "A refund takes the plan back at once." in text


async def test_unpublished_articles_and_other_categories_are_not_found(
    session: AsyncSession,
) -> None:
    await create_article(session, slug="draft", title="Stripe draft", is_published=False)
    await create_article(
        session, slug="billing", title="Stripe", category=KnowledgeCategory.billing
    )
    assert slugs(await search(session, "stripe ")) == ["billing"]
    assert slugs(await search(session, "stripe ", category=KnowledgeCategory.devices)) == []


async def test_russian_is_searched_in_russian_with_english_as_fallback(
    session: AsyncSession,
) -> None:
    await create_article(session, slug="refunds", title="Refunds", body="Money back.")
    await create_article(
        session, slug="refunds", language="ru", title="Возвраты", body="Деньги возвращаются."
    )
    await create_article(session, slug="stripe", title="Stripe card payments")

    russian = await search(session, "возвратом ", language="ru")
    assert (slugs(russian), russian.language) == (["refunds"], "ru")
    assert russian.items[0].title == "Возвраты"

    fallback = await search(session, "stripe ", language="ru")
    assert (slugs(fallback), fallback.language) == (["stripe"], "en")


async def test_pages_do_not_overlap(session: AsyncSession) -> None:
    for number in range(5):
        await create_article(session, slug=f"signal-{number}", title=f"Signal {number}")
    first = await search(session, "signal ", page_size=3)
    second = await search(session, "signal ", page=2, page_size=3)
    assert (first.has_more, second.has_more) == (True, False)
    assert len(set(slugs(first)) | set(slugs(second))) == 5


@pytest.mark.parametrize(
    ("raw", "words", "prefix"),
    [
        ("refund", (), "refund"),
        ("refund ", ("refund",), None),
        ("How do I pay with STARS", ("pay",), "stars"),
        ('"refund" OR -stripe*', ("refund", "stripe"), None),
        ("the", (), None),
        ("", (), None),
        ("refund refund ", ("refund",), None),
        ("a\x00b", (), "b"),
    ],
)
def test_parse_query_keeps_words_only(raw: str, words: tuple[str, ...], prefix: str | None) -> None:
    parsed = parse_query(raw)
    assert (parsed.words, parsed.prefix) == (words, prefix)


async def test_random_hostile_text_never_breaks_the_engine(session: AsyncSession) -> None:
    """A few hundred strings from an alphabet of every character either engine gives meaning."""
    await create_article(session, slug="refunds", title="Refunds", body="Stripe and Stars: ок.")
    alphabet = [*"\"'*^:()-+&|!<>{}[],.;\\%_ ~@#$`\t\n", "NEAR", "AND", "OR", "NOT", "ок"]
    alphabet += ["refund", "stars"]
    rng = random.Random(2026)
    for _ in range(300):
        query = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        for language in ("en", "ru"):
            page = await search(session, query, language=language)
            assert {item.slug for item in page.items} <= {"refunds"}, query


@given(st.text(max_size=200))
def test_parsed_queries_carry_words_only(raw: str) -> None:
    parsed = parse_query(raw)
    for word in (*parsed.words, *([parsed.prefix] if parsed.prefix else [])):
        assert re.fullmatch(r"\w+", word), word
    assert len(parsed.words) <= 16


async def test_later_pages_of_a_fallback_search_stay_in_english(session: AsyncSession) -> None:
    for number in range(3):
        await create_article(session, slug=f"stripe-{number}", title=f"Stripe {number}")
    await create_article(session, slug="ru-only", language="ru", title="Звёзды")
    second = await search(session, "stripe ", language="ru", page=2, page_size=2)
    assert (len(second.items), second.language) == (1, "en")
    past_the_end = await search(session, "звёзды ", language="ru", page=2, page_size=2)
    assert (past_the_end.items, past_the_end.language) == ([], "ru")
