from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from signalhub.auth.dependencies import AdminUser, OptionalUser
from signalhub.dependencies import SessionDep
from signalhub.errors import error_responses
from signalhub.kit.schemas import PathId, Text
from signalhub.kit.time import utcnow
from signalhub.knowledge import service
from signalhub.knowledge.schemas import (
    LANGUAGE_PATTERN,
    SLUG_PATTERN,
    AdminArticleOut,
    ArticleCreate,
    ArticleOut,
    ArticleUpdate,
    KnowledgePage,
    KnowledgeStats,
)
from signalhub.models import KnowledgeCategory

router = APIRouter(prefix="/api/v1", tags=["knowledge"])


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return error_responses(
        *statuses,
        described={
            401: "No or invalid access token",
            403: "Admins only",
            404: "No such article",
            409: "The article already exists in that language",
        },
    )


ReaderLanguage = Annotated[
    str,
    Query(
        max_length=35,
        pattern=r"^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*$",
        description="The reader's language code (e.g. ru, ru-RU); English when none matches.",
    ),
]
Page = Annotated[int, Query(ge=1, le=10_000)]
PageSize = Annotated[int, Query(ge=1, le=50)]
SlugPath = Annotated[str, Path(max_length=48, pattern=SLUG_PATTERN)]


@router.get("/knowledge", response_model=KnowledgePage, responses=_errors(422))
async def search_knowledge(
    session: SessionDep,
    query: Annotated[Text, Query(max_length=1000)] = "",
    category: KnowledgeCategory | None = None,
    lang: ReaderLanguage = "en",
    page: Page = 1,
    page_size: PageSize = 10,
) -> KnowledgePage:
    """Published articles. With `query`: ranked by relevance (title above keywords above body),
    every word must match and the last may be the start of a word; anything typed is safe to
    send. Without: all articles of the category, by title."""
    language = service.language_of(lang)
    if query.strip():
        return await service.search(
            session,
            query,
            language=language,
            category=category,
            page=page,
            page_size=page_size,
            now=utcnow(),
        )
    return await service.browse(
        session, language=language, category=category, page=page, page_size=page_size
    )


@router.get("/knowledge/{slug}", response_model=ArticleOut, responses=_errors(401, 404, 422))
async def read_article(
    slug: SlugPath, session: SessionDep, reader: OptionalUser, lang: ReaderLanguage = "en"
) -> ArticleOut:
    """One article in the reader's language or English. A signed-in reader counts once a day."""
    article = await service.read(
        session, slug, service.language_of(lang), reader.id if reader else None, utcnow()
    )
    return ArticleOut.model_validate(article)


admin = APIRouter(prefix="/admin/knowledge", tags=["knowledge"])


@admin.get("/stats", response_model=KnowledgeStats, responses=_errors(401, 403, 422))
async def knowledge_stats(
    _admin: AdminUser, session: SessionDep, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> KnowledgeStats:
    """The most read articles, and the searches that found nothing (what to write next).
    Searches are counted by their words only; who searched is not recorded."""
    return await service.stats(session, limit)


@admin.get("", response_model=list[AdminArticleOut], responses=_errors(401, 403, 422))
async def list_articles(
    _admin: AdminUser,
    session: SessionDep,
    language: Annotated[str | None, Query(pattern=LANGUAGE_PATTERN)] = None,
    category: KnowledgeCategory | None = None,
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[AdminArticleOut]:
    """Every article, published or not, by slug and language."""
    articles = await service.list_all(
        session, language=language, category=category, page=page, page_size=page_size
    )
    return [AdminArticleOut.model_validate(article) for article in articles]


@admin.post(
    "",
    response_model=AdminArticleOut,
    status_code=status.HTTP_201_CREATED,
    responses=_errors(401, 403, 409, 422),
)
async def create_article(
    body: ArticleCreate, admin_user: AdminUser, session: SessionDep
) -> AdminArticleOut:
    return AdminArticleOut.model_validate(await service.create(session, body, admin_user.id))


@admin.get(
    "/{article_id:int}", response_model=AdminArticleOut, responses=_errors(401, 403, 404, 422)
)
async def get_article(
    article_id: PathId, _admin: AdminUser, session: SessionDep
) -> AdminArticleOut:
    return AdminArticleOut.model_validate(await service.get(session, article_id))


@admin.patch(
    "/{article_id:int}", response_model=AdminArticleOut, responses=_errors(401, 403, 404, 422)
)
async def update_article(
    article_id: PathId, body: ArticleUpdate, admin_user: AdminUser, session: SessionDep
) -> AdminArticleOut:
    article = await service.update(session, article_id, body, admin_user.id)
    return AdminArticleOut.model_validate(article)


@admin.post(
    "/{article_id:int}/publish",
    response_model=AdminArticleOut,
    responses=_errors(401, 403, 404, 422),
)
async def publish_article(
    article_id: PathId, admin_user: AdminUser, session: SessionDep
) -> AdminArticleOut:
    article = await service.set_published(session, article_id, True, admin_user.id)
    return AdminArticleOut.model_validate(article)


@admin.post(
    "/{article_id:int}/unpublish",
    response_model=AdminArticleOut,
    responses=_errors(401, 403, 404, 422),
)
async def unpublish_article(
    article_id: PathId, admin_user: AdminUser, session: SessionDep
) -> AdminArticleOut:
    article = await service.set_published(session, article_id, False, admin_user.id)
    return AdminArticleOut.model_validate(article)


@admin.delete(
    "/{article_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_errors(401, 403, 404, 422),
)
async def delete_article(article_id: PathId, admin_user: AdminUser, session: SessionDep) -> None:
    await service.delete(session, article_id, admin_user.id)


router.include_router(admin)
