"""The knowledge API over HTTP: public search and articles, admin CRUD and stats, bad input."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.models import AuditLog, KnowledgeCategory
from tests.factories import create_article
from tests.helpers import bearer_for

ADMIN = 900
TRADER = 555_113

# Punctuation, FTS5 and tsquery syntax, quotes, SQL, markup, control and odd Unicode, sizes.
HOSTILE_QUERIES = [
    "!!!",
    "?",
    "...",
    '"',
    '"""',
    "'",
    "''",
    "*",
    "refund*",
    "^refund",
    "-",
    "-refund",
    "NOT",
    "AND",
    "OR",
    "refund OR",
    "NEAR(refund stripe)",
    "refund NEAR/2 stripe",
    "title:refund",
    "{title body}: refund",
    "(",
    "(refund",
    "refund)",
    "&",
    "|",
    "!refund",
    "refund & !stripe",
    "refund:*",
    "<->",
    "refund <-> stripe",
    "\\",
    "%",
    "_",
    "'; DROP TABLE knowledge_articles; --",
    "1' OR '1'='1",
    "<script>alert(1)</script>",
    "\u200b",
    "\ufeffrefund",
    "🙂🙂🙂",
    "ремонт\u0301",
    "x" * 1000,
    "refund " * 142,
    "a" * 300,
    " ",
    "\t\n",
]


async def test_hostile_queries_answer_200_on_this_database(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await create_article(session, slug="refunds", title="Refunds", body="Stripe and Stars.")
    await session.commit()
    assert len(HOSTILE_QUERIES) >= 30
    for query in HOSTILE_QUERIES:
        for lang in ("en", "ru"):
            response = await client.get("/api/v1/knowledge", params={"query": query, "lang": lang})
            assert response.status_code == 200, (query, response.text)
            body = response.json()
            assert isinstance(body["items"], list)
            assert all(item["slug"] == "refunds" for item in body["items"])


@pytest.mark.parametrize(
    "params",
    [
        {"query": "a\x00b"},
        {"query": "x" * 1001},
        {"category": "nonsense"},
        {"lang": "e"},
        {"lang": "en;drop"},
        {"page": "0"},
        {"page": "99999999999999999999"},
        {"page_size": "51"},
        {"page": "one"},
    ],
)
async def test_out_of_range_parameters_are_422_with_the_error_body(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get("/api/v1/knowledge", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_search_ranks_and_highlights(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await create_article(session, slug="body", title="Plans", body="Ask for a refund any time.")
    await create_article(session, slug="title", title="Refunds", body="Money back.")
    await session.commit()
    body = (await client.get("/api/v1/knowledge", params={"query": "refun"})).json()
    assert [item["slug"] for item in body["items"]] == ["title", "body"]
    assert {"text": "refund", "highlight": True} in body["items"][1]["snippet"]
    assert body["language"] == "en"


async def test_browsing_a_category_without_a_query(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await create_article(session, slug="b", title="Billing B", category=KnowledgeCategory.billing)
    await create_article(session, slug="a", title="Billing A", category=KnowledgeCategory.billing)
    await create_article(session, slug="c", title="Devices", category=KnowledgeCategory.devices)
    await session.commit()
    body = (await client.get("/api/v1/knowledge", params={"category": "billing"})).json()
    assert [item["title"] for item in body["items"]] == ["Billing A", "Billing B"]


async def test_an_article_in_the_readers_language_or_english(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await create_article(session, slug="refunds", title="Refunds", body="**Money** back.")
    await create_article(session, slug="refunds", language="ru", title="Возвраты")
    await session.commit()
    russian = (await client.get("/api/v1/knowledge/refunds", params={"lang": "ru-RU"})).json()
    assert russian["title"] == "Возвраты"
    german = (await client.get("/api/v1/knowledge/refunds", params={"lang": "de"})).json()
    assert (german["title"], german["body"]) == ("Refunds", "**Money** back.")


@pytest.mark.parametrize("slug", ["missing", "draft", "UPPER", "a" * 49, "bad%20slug"])
async def test_unknown_unpublished_or_malformed_slugs(
    client: httpx.AsyncClient, session: AsyncSession, slug: str
) -> None:
    await create_article(session, slug="draft", title="Draft", is_published=False)
    await session.commit()
    response = await client.get(f"/api/v1/knowledge/{slug}")
    assert response.status_code in (404, 422)
    assert response.json()["error"]["code"] in ("article_not_found", "validation_error")


async def test_a_signed_in_reader_counts_once_a_day_anonymous_readers_not_at_all(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await create_article(session, slug="counted", title="Counted")
    await session.commit()
    headers = await bearer_for(client, TRADER)
    for _ in range(3):
        assert (await client.get("/api/v1/knowledge/counted", headers=headers)).status_code == 200
        assert (await client.get("/api/v1/knowledge/counted")).status_code == 200
    bad = await client.get("/api/v1/knowledge/counted", headers={"Authorization": "Bearer x"})
    assert bad.status_code == 401

    admin = await bearer_for(client, ADMIN)
    response = await client.get("/api/v1/admin/knowledge/stats", headers=admin)
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["top_articles"] == [
        {"slug": "counted", "language": "en", "title": "Counted", "view_count": 1}
    ]


async def test_stats_count_searches_without_results_but_not_who_asked(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    headers = await bearer_for(client, TRADER)
    for query in ("Withdraw  Profits", "withdraw profits", "!!!"):
        await client.get("/api/v1/knowledge", params={"query": query}, headers=headers)
    await client.get("/api/v1/knowledge", params={"query": "withdraw profits", "lang": "ru"})

    admin = await bearer_for(client, ADMIN)
    stats = (await client.get("/api/v1/admin/knowledge/stats", headers=admin)).json()
    misses = [(m["query"], m["language"], m["count"]) for m in stats["searches_without_results"]]
    assert misses == [("withdraw profits", "en", 2), ("withdraw profits", "ru", 1)]
    assert str(TRADER) not in str(stats)


async def test_admin_crud_and_publishing(client: httpx.AsyncClient, session: AsyncSession) -> None:
    admin = await bearer_for(client, ADMIN)
    article = {
        "slug": "withdrawals",
        "language": "en",
        "title": "Withdrawing profits",
        "category": "trading",
        "body": "Profits stay with your broker.",
        "keywords": "withdraw payout",
    }
    created = await client.post("/api/v1/admin/knowledge", json=article, headers=admin)
    assert created.status_code == 201, created.text
    article_id = created.json()["id"]
    again = await client.post("/api/v1/admin/knowledge", json=article, headers=admin)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "article_exists")

    found = await client.get("/api/v1/knowledge", params={"query": "payout"})
    assert [item["slug"] for item in found.json()["items"]] == ["withdrawals"]

    patched = await client.patch(
        f"/api/v1/admin/knowledge/{article_id}", json={"title": "Payouts"}, headers=admin
    )
    assert patched.json()["title"] == "Payouts"
    found = await client.get("/api/v1/knowledge", params={"query": "payouts "})
    assert [item["title"] for item in found.json()["items"]] == ["Payouts"]

    unpublished = await client.post(
        f"/api/v1/admin/knowledge/{article_id}/unpublish", headers=admin
    )
    assert unpublished.json()["is_published"] is False
    assert (await client.get("/api/v1/knowledge/withdrawals")).status_code == 404
    listed = await client.get("/api/v1/admin/knowledge", headers=admin)
    assert [row["slug"] for row in listed.json()] == ["withdrawals"]
    await client.post(f"/api/v1/admin/knowledge/{article_id}/publish", headers=admin)
    assert (await client.get("/api/v1/knowledge/withdrawals")).status_code == 200

    deleted = await client.delete(f"/api/v1/admin/knowledge/{article_id}", headers=admin)
    assert deleted.status_code == 204
    gone = await client.get(f"/api/v1/admin/knowledge/{article_id}", headers=admin)
    assert gone.status_code == 404
    assert (await client.get("/api/v1/knowledge", params={"query": "payouts"})).json()[
        "items"
    ] == []
    actions = await session.scalars(
        select(AuditLog.action).where(AuditLog.subject_type == "knowledge_article")
    )
    assert list(actions) == [
        "knowledge.created",
        "knowledge.updated",
        "knowledge.unpublished",
        "knowledge.published",
        "knowledge.deleted",
    ]


async def test_admin_routes_refuse_traders_and_strangers(client: httpx.AsyncClient) -> None:
    trader = await bearer_for(client, TRADER)
    for method, path in [
        ("GET", "/api/v1/admin/knowledge"),
        ("GET", "/api/v1/admin/knowledge/stats"),
        ("POST", "/api/v1/admin/knowledge/1/publish"),
        ("DELETE", "/api/v1/admin/knowledge/1"),
    ]:
        assert (await client.request(method, path, headers=trader)).status_code == 403
        assert (await client.request(method, path)).status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        {"slug": "Bad Slug"},
        {"slug": "x" * 49},
        {"language": "english"},
        {"title": ""},
        {"title": "a\x00b"},
        {"body": "x" * 20_001},
        {"category": "memes"},
        {"keywords": 5},
        {"extra": True},
    ],
)
async def test_admin_payload_validation(
    client: httpx.AsyncClient, change: dict[str, object]
) -> None:
    admin = await bearer_for(client, ADMIN)
    article = {"slug": "ok", "language": "en", "title": "T", "category": "general", "body": "B"}
    response = await client.post(
        "/api/v1/admin/knowledge", json={**article, **change}, headers=admin
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_bad_admin_ids_are_refused(client: httpx.AsyncClient) -> None:
    """A number out of range is invalid (422); what is not a number names no article (404)."""
    admin = await bearer_for(client, ADMIN)
    for article_id, status in (("0", 422), (str(2**63), 422), ("abc", 404)):
        response = await client.get(f"/api/v1/admin/knowledge/{article_id}", headers=admin)
        assert response.status_code == status


async def test_article_count_is_unchanged_by_failed_requests(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    from signalhub.models import KnowledgeArticle

    before = await session.scalar(select(func.count(KnowledgeArticle.id)))
    await client.post("/api/v1/admin/knowledge", json={"slug": "x"})
    assert await session.scalar(select(func.count(KnowledgeArticle.id))) == before
