from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.models.base import (
    Base,
    BigIntId,
    IdMixin,
    TimestampMixin,
    UTCDateTime,
    str_enum,
)


class KnowledgeCategory(StrEnum):
    trading = "trading"
    billing = "billing"
    devices = "devices"
    general = "general"


# The full-text index lives beside the table, built by the migration rather than the models:
# an FTS5 virtual table with its triggers on SQLite, a generated tsvector column with a GIN
# index on PostgreSQL. Schema comparisons skip these names.
SEARCH_INDEX_TABLE = "knowledge_articles_fts"
SEARCH_VECTOR_COLUMN = "search_vector"
SEARCH_VECTOR_INDEX = "ix_knowledge_articles_search_vector"


class KnowledgeArticle(IdMixin, TimestampMixin, Base):
    """One help article in one language; the same slug in another language is its translation."""

    __tablename__ = "knowledge_articles"
    __table_args__ = (
        UniqueConstraint("slug", "language"),
        Index("ix_knowledge_articles_language_category", "language", "category"),
    )

    slug: Mapped[str] = mapped_column(String(48), nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    category: Mapped[KnowledgeCategory] = mapped_column(str_enum(KnowledgeCategory), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    keywords: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    is_published: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    view_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class KnowledgeArticleView(Base):
    """Who read an article on which day, so a reader counts once a day; rows older than
    yesterday carry no more meaning and are purged."""

    __tablename__ = "knowledge_article_views"

    article_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("knowledge_articles.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    viewed_on: Mapped[date] = mapped_column(Date, primary_key=True, index=True)


class KnowledgeSearchMiss(IdMixin, Base):
    """A search that found nothing, counted per normalised query and language: what operators
    should write next. Who asked is deliberately not recorded."""

    __tablename__ = "knowledge_search_misses"
    __table_args__ = (UniqueConstraint("query", "language"),)

    query: Mapped[str] = mapped_column(String(200), nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    count: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    last_searched_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
