"""All knowledge SQL. Search has one interface and two engines: SQLite FTS5 (bm25 with the title
weighted above keywords above body) and PostgreSQL (websearch_to_tsquery over the weighted
tsvector, ts_rank). Both match every word of the query, the last one as a prefix, and both
highlight the body with START_MARK / END_MARK around matched words."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from signalhub.kit.repository import Repository
from signalhub.models import KnowledgeArticle, KnowledgeArticleView, KnowledgeSearchMiss
from signalhub.models.knowledge_article import SEARCH_INDEX_TABLE, KnowledgeCategory

START_MARK = "\x02"
END_MARK = "\x03"
FALLBACK_LANGUAGE = "en"

# A bound on the work one query can ask for: words past this are ignored.
MAX_QUERY_WORDS = 16
_WORD = re.compile(r"\w+")

# PostgreSQL's english and russian dictionaries drop these; FTS5 has no stop words, so they are
# dropped here to give both engines the same "every word must match" behaviour.
_STOP_WORDS = frozenset(
    # A word list reads best as text.
    """
    a about an and any are as at be but by can could do does for from get got had has
    have how i if in into is it its me my no not of on or our so than that the their
    them then there these they this to us was we what when where which who why will with
    would you your
    а без бы был была были было в вам вас весь во вот все всё вы где да для до его ее её
    если есть еще ещё же за и из или им их к как ко когда кто ли мне мной мы на над не
    нет ни но ну о об от по под при с со так там то тоже только у уже чем что чтобы эта
    эти это этот я
    """.split()  # noqa: SIM905
)

_HEADLINE_OPTIONS = f"StartSel={START_MARK}, StopSel={END_MARK}, MaxWords=30, MinWords=12"


@dataclass(frozen=True)
class SearchHit:
    article: KnowledgeArticle
    rank: float
    snippet: str


@dataclass(frozen=True)
class ParsedQuery:
    """The words to match; `prefix` is the last word when the user may still be typing it."""

    words: tuple[str, ...]
    prefix: str | None

    @property
    def is_empty(self) -> bool:
        return not self.words and self.prefix is None


def parse_query(raw: str) -> ParsedQuery:
    """Words only: FTS operators, quotes and punctuation are never passed to an engine as
    syntax. The last word is a prefix unless something (a space, a quote) closes it."""
    matches = list(_WORD.finditer(raw.replace("\x00", " ")))[:MAX_QUERY_WORDS]
    words = [match.group().lower() for match in matches]
    prefix = None
    if matches and matches[-1].end() == len(raw):
        prefix = words.pop()
    kept = tuple(dict.fromkeys(word for word in words if word not in _STOP_WORDS))
    if prefix in _STOP_WORDS:
        prefix = None
    return ParsedQuery(kept, prefix)


# FTS5's porter tokenizer stems English only. A Russian word is matched by its stem as a prefix
# instead: the longest of these endings is cut while at least four letters remain, so
# "возвратом" finds "возвраты" the way PostgreSQL's russian dictionary would.
_RUSSIAN_ENDINGS = sorted(
    """
    иями ями ами ого его ому ему ыми ими ией ать ять ить еть ешь ете ует ют ут ов ев ей ой ом
    ем ам ям ах ях ую юю ая яя ое ее ые ие ый ий а я о е ы и у ю ь
    """.split(),  # noqa: SIM905
    key=len,
    reverse=True,
)
_CYRILLIC = re.compile(r"^[а-яё]+$")


def _russian_stem(word: str) -> str | None:
    if not _CYRILLIC.match(word):
        return None
    for ending in _RUSSIAN_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word


def _fts5_term(word: str, *, prefix: bool) -> str:
    """A quoted string is always a literal in FTS5, whatever the user typed."""
    stem = _russian_stem(word)
    if stem is not None:
        return f'"{stem}"*'
    return f'"{word}"*' if prefix else f'"{word}"'


def _fts5_match(query: ParsedQuery) -> str:
    terms = [_fts5_term(word, prefix=False) for word in query.words]
    if query.prefix is not None:
        terms.append(_fts5_term(query.prefix, prefix=True))
    return " AND ".join(terms)


def _postgres_prefix(word: str) -> str:
    """Input for to_tsquery: a \\w+ word cannot carry tsquery syntax, so quoting it is enough."""
    return f"'{word}':*"


def search_config(language: str) -> str:
    """Must agree with the generated column in migration 0008."""
    return "russian" if language == "ru" else "english"


class KnowledgeRepository(Repository):
    async def search(
        self,
        query: ParsedQuery,
        *,
        language: str,
        category: KnowledgeCategory | None,
        limit: int,
        offset: int,
    ) -> list[SearchHit]:
        """Published articles in `language` matching every word, best first."""
        if query.is_empty:
            return []
        params: dict[str, Any] = {
            "language": language,
            "category": category.value if category else None,
            "limit": limit,
            "offset": offset,
        }
        if self.dialect == "postgresql":
            statement = self._postgres_search(query, params)
        else:
            statement = self._sqlite_search(query, params)
        rows = (await self.session.execute(statement, params)).all()
        articles = await self._by_ids([row.id for row in rows])
        return [SearchHit(articles[row.id], float(row.rank), row.snippet or "") for row in rows]

    @staticmethod
    def _sqlite_search(query: ParsedQuery, params: dict[str, Any]) -> Any:
        params["match"] = _fts5_match(query)
        params["start"], params["end"] = START_MARK, END_MARK
        weights = "10.0, 4.0, 1.0"
        return text(
            f"""
            SELECT a.id AS id, -bm25({SEARCH_INDEX_TABLE}, {weights}) AS rank,
                   snippet({SEARCH_INDEX_TABLE}, 2, :start, :end, '…', 24) AS snippet
            FROM {SEARCH_INDEX_TABLE}
            JOIN knowledge_articles AS a ON a.id = {SEARCH_INDEX_TABLE}.rowid
            WHERE {SEARCH_INDEX_TABLE} MATCH :match
              AND a.language = :language AND a.is_published
              AND (:category IS NULL OR a.category = :category)
            ORDER BY bm25({SEARCH_INDEX_TABLE}, {weights}), a.id
            LIMIT :limit OFFSET :offset
            """  # noqa: S608 - constants only; user input travels in bound parameters
        )

    @staticmethod
    def _postgres_search(query: ParsedQuery, params: dict[str, Any]) -> Any:
        params["config"] = search_config(params["language"])
        params["words"] = " ".join(query.words)
        params["prefix"] = _postgres_prefix(query.prefix) if query.prefix else ""
        params["headline"] = _HEADLINE_OPTIONS
        # Ranked in a subquery so that ts_headline, the costly part, runs for one page only.
        return text(
            """
            WITH q AS (
                SELECT websearch_to_tsquery(CAST(:config AS regconfig), :words)
                       && to_tsquery(CAST(:config AS regconfig), :prefix) AS query
            ),
            ranked AS (
                SELECT a.id, a.body, ts_rank(a.search_vector, q.query) AS rank, q.query
                FROM knowledge_articles AS a, q
                WHERE a.search_vector @@ q.query
                  AND a.language = :language AND a.is_published
                  AND (CAST(:category AS varchar) IS NULL OR a.category = :category)
                ORDER BY rank DESC, a.id
                LIMIT :limit OFFSET :offset
            )
            SELECT id, rank,
                   ts_headline(CAST(:config AS regconfig), body, query, :headline) AS snippet
            FROM ranked ORDER BY rank DESC, id
            """
        )

    async def _by_ids(self, ids: Sequence[int]) -> dict[int, KnowledgeArticle]:
        if not ids:
            return {}
        result = await self.session.scalars(
            select(KnowledgeArticle).where(KnowledgeArticle.id.in_(ids))
        )
        return {article.id: article for article in result}

    async def list_published(
        self, *, language: str, category: KnowledgeCategory | None, limit: int, offset: int
    ) -> Sequence[KnowledgeArticle]:
        """Articles in `language`, and the English ones that have no translation into it."""
        translated = select(KnowledgeArticle.slug).where(
            KnowledgeArticle.language == language, KnowledgeArticle.is_published.is_(True)
        )
        statement = select(KnowledgeArticle).where(
            KnowledgeArticle.is_published.is_(True),
            or_(
                KnowledgeArticle.language == language,
                (KnowledgeArticle.language == FALLBACK_LANGUAGE)
                & KnowledgeArticle.slug.not_in(translated),
            ),
        )
        if category is not None:
            statement = statement.where(KnowledgeArticle.category == category)
        statement = statement.order_by(KnowledgeArticle.title, KnowledgeArticle.id)
        result = await self.session.scalars(statement.limit(limit).offset(offset))
        return result.all()

    async def list_all(
        self,
        *,
        language: str | None,
        category: KnowledgeCategory | None,
        limit: int,
        offset: int,
    ) -> Sequence[KnowledgeArticle]:
        statement = select(KnowledgeArticle)
        if language is not None:
            statement = statement.where(KnowledgeArticle.language == language)
        if category is not None:
            statement = statement.where(KnowledgeArticle.category == category)
        statement = statement.order_by(KnowledgeArticle.slug, KnowledgeArticle.language).limit(
            limit
        )
        result = await self.session.scalars(statement.offset(offset))
        return result.all()

    async def get(self, article_id: int) -> KnowledgeArticle | None:
        return await self.session.get(KnowledgeArticle, article_id)

    async def get_by_slug(self, slug: str, language: str) -> KnowledgeArticle | None:
        return await self.session.scalar(
            select(KnowledgeArticle).where(
                KnowledgeArticle.slug == slug, KnowledgeArticle.language == language
            )
        )

    async def find_published(self, slug: str, languages: Sequence[str]) -> KnowledgeArticle | None:
        """The first language in `languages` that has this article published."""
        result = await self.session.scalars(
            select(KnowledgeArticle).where(
                KnowledgeArticle.slug == slug,
                KnowledgeArticle.language.in_(languages),
                KnowledgeArticle.is_published.is_(True),
            )
        )
        found = {article.language: article for article in result}
        return next((found[language] for language in languages if language in found), None)

    async def add(self, article: KnowledgeArticle) -> KnowledgeArticle:
        self.session.add(article)
        await self.session.flush()
        return article

    async def delete(self, article: KnowledgeArticle) -> None:
        await self.session.delete(article)
        await self.session.flush()

    async def record_view(self, article_id: int, user_id: int, day: date) -> bool:
        """Counts the reader once a day: True when this was their first view today."""
        inserted = await self.session.execute(
            self.insert_ignoring_conflicts(
                KnowledgeArticleView, ["article_id", "user_id", "viewed_on"]
            ).values(article_id=article_id, user_id=user_id, viewed_on=day)
        )
        if not getattr(inserted, "rowcount", 0):
            return False
        await self.session.execute(
            update(KnowledgeArticle)
            .where(KnowledgeArticle.id == article_id)
            .values(view_count=KnowledgeArticle.view_count + 1)
            .execution_options(synchronize_session=False)
        )
        return True

    async def purge_views_before(self, day: date) -> int:
        result = await self.session.execute(
            delete(KnowledgeArticleView).where(KnowledgeArticleView.viewed_on < day)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def record_miss(self, query: str, language: str, now: datetime) -> None:
        """One row per normalised query and language; concurrent misses add up."""
        values = {"query": query, "language": language, "count": 1, "last_searched_at": now}
        insert = (
            postgresql.insert(KnowledgeSearchMiss)
            if self.dialect == "postgresql"
            else sqlite.insert(KnowledgeSearchMiss)
        ).values(**values)
        await self.session.execute(
            insert.on_conflict_do_update(
                index_elements=["query", "language"],
                set_={"count": KnowledgeSearchMiss.count + 1, "last_searched_at": now},
            )
        )

    async def top_viewed(self, limit: int) -> Sequence[KnowledgeArticle]:
        result = await self.session.scalars(
            select(KnowledgeArticle)
            .where(KnowledgeArticle.view_count > 0)
            .order_by(KnowledgeArticle.view_count.desc(), KnowledgeArticle.id)
            .limit(limit)
        )
        return result.all()

    async def top_misses(self, limit: int) -> Sequence[KnowledgeSearchMiss]:
        result = await self.session.scalars(
            select(KnowledgeSearchMiss)
            .order_by(KnowledgeSearchMiss.count.desc(), KnowledgeSearchMiss.last_searched_at.desc())
            .limit(limit)
        )
        return result.all()
