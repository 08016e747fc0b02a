from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from signalhub.kit.schemas import Flag, Text
from signalhub.models import KnowledgeCategory

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
LANGUAGE_PATTERN = r"^[a-z]{2}$"

Slug = Annotated[str, Field(min_length=1, max_length=48, pattern=SLUG_PATTERN)]
Language = Annotated[str, Field(pattern=LANGUAGE_PATTERN, description="ISO 639-1, e.g. en, ru")]
Title = Annotated[Text, Field(min_length=1, max_length=200)]
Body = Annotated[Text, Field(min_length=1, max_length=20_000, description="Markdown")]
Keywords = Annotated[Text, Field(max_length=500)]


class SnippetPart(BaseModel):
    text: str
    highlight: bool


class ArticleSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    language: str
    title: str
    category: KnowledgeCategory


class SearchResult(ArticleSummary):
    snippet: list[SnippetPart] = Field(
        description="A passage of the body; parts with highlight=true matched the query."
    )


class KnowledgePage(BaseModel):
    items: list[SearchResult]
    page: int
    page_size: int
    has_more: bool
    language: str = Field(description="The language the results are in (English fallback).")


class ArticleOut(ArticleSummary):
    body: str = Field(description="Markdown; render it, never insert it as HTML.")
    updated_at: datetime


class AdminArticleOut(ArticleOut):
    id: int
    keywords: str
    is_published: bool
    view_count: int
    created_at: datetime


class ArticleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Slug
    language: Language
    title: Title
    category: KnowledgeCategory
    body: Body
    keywords: Keywords = ""
    is_published: Flag = True


class ArticleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    category: KnowledgeCategory | None = None
    body: Body | None = None
    keywords: Keywords | None = None


class TopArticle(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    language: str
    title: str
    view_count: int


class MissedSearch(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    query: str
    language: str
    count: int
    last_searched_at: datetime


class KnowledgeStats(BaseModel):
    top_articles: list[TopArticle]
    searches_without_results: list[MissedSearch]
