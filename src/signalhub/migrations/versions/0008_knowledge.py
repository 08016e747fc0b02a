"""knowledge base: articles with full-text search, daily readers, searches that found nothing

SQLite gets an FTS5 external-content table kept in step by triggers; PostgreSQL a generated,
weighted tsvector column (title A, keywords B, body C) under a GIN index. Russian articles are
stemmed as Russian, every other language as English.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

SQLITE_SEARCH_INDEX = (
    """
    CREATE VIRTUAL TABLE knowledge_articles_fts USING fts5(
        title, keywords, body,
        content='knowledge_articles', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER knowledge_articles_fts_insert AFTER INSERT ON knowledge_articles BEGIN
        INSERT INTO knowledge_articles_fts (rowid, title, keywords, body)
        VALUES (new.id, new.title, new.keywords, new.body);
    END
    """,
    """
    CREATE TRIGGER knowledge_articles_fts_delete AFTER DELETE ON knowledge_articles BEGIN
        INSERT INTO knowledge_articles_fts (knowledge_articles_fts, rowid, title, keywords, body)
        VALUES ('delete', old.id, old.title, old.keywords, old.body);
    END
    """,
    """
    CREATE TRIGGER knowledge_articles_fts_update
    AFTER UPDATE OF title, keywords, body ON knowledge_articles BEGIN
        INSERT INTO knowledge_articles_fts (knowledge_articles_fts, rowid, title, keywords, body)
        VALUES ('delete', old.id, old.title, old.keywords, old.body);
        INSERT INTO knowledge_articles_fts (rowid, title, keywords, body)
        VALUES (new.id, new.title, new.keywords, new.body);
    END
    """,
)

_CONFIG = "(CASE language WHEN 'ru' THEN 'russian'::regconfig ELSE 'english'::regconfig END)"
POSTGRES_SEARCH_INDEX = (
    f"""
    ALTER TABLE knowledge_articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector({_CONFIG}, title), 'A')
        || setweight(to_tsvector({_CONFIG}, keywords), 'B')
        || setweight(to_tsvector({_CONFIG}, body), 'C')
    ) STORED
    """,
    "CREATE INDEX ix_knowledge_articles_search_vector ON knowledge_articles "
    "USING gin (search_vector)",
)


def upgrade() -> None:
    op.create_table(
        "knowledge_articles",
        sa.Column("slug", sa.String(length=48), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "trading",
                "billing",
                "devices",
                "general",
                name="knowledgecategory",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("keywords", sa.String(length=500), nullable=False),
        sa.Column("is_published", sa.Boolean(), nullable=False),
        sa.Column("view_count", sa.Integer(), nullable=False),
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_articles")),
        sa.UniqueConstraint("slug", "language", name=op.f("uq_knowledge_articles_slug_language")),
    )
    op.create_index(
        "ix_knowledge_articles_language_category",
        "knowledge_articles",
        ["language", "category"],
        unique=False,
    )
    op.create_table(
        "knowledge_article_views",
        sa.Column("article_id", BIGINT_ID, nullable=False),
        sa.Column("user_id", BIGINT_ID, nullable=False),
        sa.Column("viewed_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["knowledge_articles.id"],
            name=op.f("fk_knowledge_article_views_article_id_knowledge_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_knowledge_article_views_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "article_id", "user_id", "viewed_on", name=op.f("pk_knowledge_article_views")
        ),
    )
    op.create_index(
        op.f("ix_knowledge_article_views_viewed_on"),
        "knowledge_article_views",
        ["viewed_on"],
        unique=False,
    )
    op.create_table(
        "knowledge_search_misses",
        sa.Column("query", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_searched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_search_misses")),
        sa.UniqueConstraint(
            "query", "language", name=op.f("uq_knowledge_search_misses_query_language")
        ),
    )
    statements = SQLITE_SEARCH_INDEX if _is_sqlite() else POSTGRES_SEARCH_INDEX
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if _is_sqlite():
        # Dropping the table drops its triggers; the FTS5 table goes separately.
        op.execute("DROP TABLE knowledge_articles_fts")
    op.drop_table("knowledge_search_misses")
    op.drop_index(
        op.f("ix_knowledge_article_views_viewed_on"), table_name="knowledge_article_views"
    )
    op.drop_table("knowledge_article_views")
    op.drop_index("ix_knowledge_articles_language_category", table_name="knowledge_articles")
    op.drop_table("knowledge_articles")


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"
