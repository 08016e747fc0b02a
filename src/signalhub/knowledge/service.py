"""Knowledge base rules, shared by the bot's /help, the public API and the admin API."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.audit import service as audit
from signalhub.errors import Conflict, NotFound
from signalhub.knowledge import faq
from signalhub.knowledge.markdown import plain_text, strip_markup
from signalhub.knowledge.repository import (
    END_MARK,
    FALLBACK_LANGUAGE,
    START_MARK,
    KnowledgeRepository,
    SearchHit,
    parse_query,
)
from signalhub.knowledge.schemas import (
    ArticleCreate,
    ArticleUpdate,
    KnowledgePage,
    KnowledgeStats,
    MissedSearch,
    SearchResult,
    SnippetPart,
    TopArticle,
)
from signalhub.models import KnowledgeArticle, KnowledgeCategory

MISS_QUERY_LENGTH = 200
_LANGUAGE = re.compile(r"^([a-z]{2})(?:[-_].*)?$")


def language_of(code: str | None) -> str:
    """`ru`, `ru-RU` → `ru`; missing or malformed → English."""
    match = _LANGUAGE.match((code or "").lower())
    return match[1] if match else FALLBACK_LANGUAGE


def snippet_parts(snippet: str) -> list[SnippetPart]:
    """The engine's marked snippet as plain text parts; markup is dropped, nothing is HTML."""
    pieces = re.split(f"[{START_MARK}{END_MARK}]", strip_markup(snippet))
    return [
        SnippetPart(text=piece, highlight=index % 2 == 1)
        for index, piece in enumerate(pieces)
        if piece
    ]


def _result(hit: SearchHit) -> SearchResult:
    return SearchResult(
        slug=hit.article.slug,
        language=hit.article.language,
        title=hit.article.title,
        category=hit.article.category,
        snippet=snippet_parts(hit.snippet),
    )


def normalised_query(raw: str) -> str:
    return " ".join(raw.replace("\x00", " ").lower().split())[:MISS_QUERY_LENGTH]


async def search(
    session: AsyncSession,
    raw_query: str,
    *,
    language: str,
    category: KnowledgeCategory | None,
    page: int,
    page_size: int,
    now: datetime,
) -> KnowledgePage:
    """Ranked results in the reader's language, or in English when that language has none.
    A query that finds nothing in either is counted (the words, never who asked)."""
    repository = KnowledgeRepository(session)
    query = parse_query(raw_query)
    offset = (page - 1) * page_size
    found_in = language
    hits: list[SearchHit] = []
    for candidate in dict.fromkeys((language, FALLBACK_LANGUAGE)):
        hits = await repository.search(
            query, language=candidate, category=category, limit=page_size + 1, offset=offset
        )
        # A page past the last one stays in the language whose first page had results.
        if hits or (
            page > 1
            and await repository.search(
                query, language=candidate, category=category, limit=1, offset=0
            )
        ):
            found_in = candidate
            break
    if not hits and page == 1 and not query.is_empty:
        await repository.record_miss(normalised_query(raw_query), language, now)
    return KnowledgePage(
        items=[_result(hit) for hit in hits[:page_size]],
        page=page,
        page_size=page_size,
        has_more=len(hits) > page_size,
        language=found_in,
    )


async def browse(
    session: AsyncSession,
    *,
    language: str,
    category: KnowledgeCategory | None,
    page: int,
    page_size: int,
) -> KnowledgePage:
    """Published articles without a query: the reader's language, English where untranslated."""
    articles = await KnowledgeRepository(session).list_published(
        language=language, category=category, limit=page_size + 1, offset=(page - 1) * page_size
    )
    items = [
        SearchResult(
            slug=article.slug,
            language=article.language,
            title=article.title,
            category=article.category,
            snippet=[SnippetPart(text=plain_text(article.body)[:160], highlight=False)],
        )
        for article in articles[:page_size]
    ]
    return KnowledgePage(
        items=items,
        page=page,
        page_size=page_size,
        has_more=len(articles) > page_size,
        language=language,
    )


async def topic(
    session: AsyncSession, category: KnowledgeCategory, language: str
) -> Sequence[KnowledgeArticle]:
    return await KnowledgeRepository(session).list_published(
        language=language, category=category, limit=100, offset=0
    )


async def read(
    session: AsyncSession, slug: str, language: str, reader_id: int | None, now: datetime
) -> KnowledgeArticle:
    """A published article in the reader's language or English; a known reader counts once a
    day toward view_count."""
    repository = KnowledgeRepository(session)
    article = await repository.find_published(slug, [language, FALLBACK_LANGUAGE])
    if article is None:
        raise NotFound(f"No article '{slug}'.", code="article_not_found")
    if reader_id is not None:
        await repository.record_view(article.id, reader_id, now.date())
    return article


async def purge_old_views(session: AsyncSession, now: datetime) -> int:
    """Yesterday's rows still guard readers in time zones behind UTC's day; older ones go."""
    return await KnowledgeRepository(session).purge_views_before((now - timedelta(days=1)).date())


async def stats(session: AsyncSession, limit: int) -> KnowledgeStats:
    repository = KnowledgeRepository(session)
    return KnowledgeStats(
        top_articles=[TopArticle.model_validate(a) for a in await repository.top_viewed(limit)],
        searches_without_results=[
            MissedSearch.model_validate(miss) for miss in await repository.top_misses(limit)
        ],
    )


# Administration


async def list_all(
    session: AsyncSession,
    *,
    language: str | None,
    category: KnowledgeCategory | None,
    page: int,
    page_size: int,
) -> Sequence[KnowledgeArticle]:
    return await KnowledgeRepository(session).list_all(
        language=language, category=category, limit=page_size, offset=(page - 1) * page_size
    )


async def get(session: AsyncSession, article_id: int) -> KnowledgeArticle:
    article = await KnowledgeRepository(session).get(article_id)
    if article is None:
        raise NotFound(f"No article with id {article_id}.", code="article_not_found")
    return article


async def create(
    session: AsyncSession, data: ArticleCreate, actor_user_id: int | None
) -> KnowledgeArticle:
    repository = KnowledgeRepository(session)
    if await repository.get_by_slug(data.slug, data.language) is not None:
        raise Conflict(
            f"Article '{data.slug}' already exists in '{data.language}'.", code="article_exists"
        )
    article = await repository.add(KnowledgeArticle(**data.model_dump()))
    await _audit(session, "knowledge.created", article, actor_user_id, {"title": data.title})
    return article


async def update(
    session: AsyncSession, article_id: int, changes: ArticleUpdate, actor_user_id: int | None
) -> KnowledgeArticle:
    article = await get(session, article_id)
    values = changes.model_dump(exclude_unset=True, exclude_none=True)
    for field, value in values.items():
        setattr(article, field, value)
    await session.flush()
    await _audit(session, "knowledge.updated", article, actor_user_id, {"fields": sorted(values)})
    return article


async def set_published(
    session: AsyncSession, article_id: int, is_published: bool, actor_user_id: int | None
) -> KnowledgeArticle:
    article = await get(session, article_id)
    if article.is_published != is_published:
        article.is_published = is_published
        await session.flush()
        action = "knowledge.published" if is_published else "knowledge.unpublished"
        await _audit(session, action, article, actor_user_id, {})
    return article


async def delete(session: AsyncSession, article_id: int, actor_user_id: int | None) -> None:
    article = await get(session, article_id)
    await _audit(session, "knowledge.deleted", article, actor_user_id, {"title": article.title})
    await KnowledgeRepository(session).delete(article)


async def _audit(
    session: AsyncSession,
    action: str,
    article: KnowledgeArticle,
    actor_user_id: int | None,
    data: dict[str, object],
) -> None:
    await audit.record(
        session,
        action,
        subject_type="knowledge_article",
        subject_id=f"{article.slug}/{article.language}",
        actor_user_id=actor_user_id,
        data=data,
    )


# The FAQ seed


@dataclass(frozen=True)
class FaqSeedReport:
    created: int
    updated: int
    unchanged: int


async def seed_faq(session: AsyncSession, directory: Path = faq.FAQ_DIR) -> FaqSeedReport:
    """Idempotent: articles are matched by slug and language; a changed file updates its
    article, an unchanged one writes nothing. Publication and view counts stay as operators
    and readers left them."""
    repository = KnowledgeRepository(session)
    created = updated = unchanged = 0
    for entry in faq.load(directory):
        article = await repository.get_by_slug(entry.slug, entry.language)
        content = {
            "title": entry.title,
            "category": entry.category,
            "keywords": entry.keywords,
            "body": entry.body,
        }
        if article is None:
            await repository.add(
                KnowledgeArticle(slug=entry.slug, language=entry.language, **content)
            )
            created += 1
        elif any(getattr(article, field) != value for field, value in content.items()):
            for field, value in content.items():
                setattr(article, field, value)
            updated += 1
        else:
            unchanged += 1
    await session.flush()
    return FaqSeedReport(created, updated, unchanged)
