"""The shipped FAQ: well-formed, complete in both languages, idempotent to seed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub import cli
from signalhub.kit.time import utcnow
from signalhub.knowledge import faq
from signalhub.knowledge.markdown import plain_text, to_telegram_messages
from signalhub.knowledge.service import seed_faq
from signalhub.models import KnowledgeArticle, KnowledgeCategory


def test_at_least_24_articles_in_every_category_and_the_same_set_in_russian() -> None:
    articles = faq.load()
    by_language = {
        language: {a.slug: a for a in articles if a.language == language}
        for language in ("en", "ru")
    }
    assert set(by_language) == {a.language for a in articles}
    assert len(by_language["en"]) >= 24
    assert by_language["ru"].keys() == by_language["en"].keys()
    for slug, english in by_language["en"].items():
        assert by_language["ru"][slug].category == english.category, slug
    assert set(Counter(a.category for a in by_language["en"].values())) == set(KnowledgeCategory)
    for article in articles:
        assert len(plain_text(article.body).split()) >= 60, f"{article.slug} is too thin"
        assert len(article.slug) <= 48
        assert article.keywords


def test_every_article_renders_to_telegram_html_in_one_message() -> None:
    for article in faq.load():
        (message,) = to_telegram_messages(article.title, article.body)
        assert "**" not in message, article.slug


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no front matter", "front matter"),
        ("---\ntitle: T\ncategory: general\n---\nBody", "needs"),
        ("---\ntitle: T\ncategory: memes\nkeywords: k\n---\nBody", "unknown category"),
        ("---\ntitle: T\ncategory: general\nkeywords: k\nauthor: me\n---\nBody", "unexpected"),
        ("---\ntitle: T\ncategory: general\nkeywords: k\n---\n", "needs"),
    ],
)
def test_a_malformed_file_is_refused_with_its_name(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "broken.md"
    path.write_text(text)
    with pytest.raises(faq.FaqFileError, match=problem):
        faq.parse(path, "en")


async def test_seeding_twice_changes_nothing_and_a_changed_file_updates_its_article(
    session: AsyncSession, tmp_path: Path
) -> None:
    first = await seed_faq(session)
    assert (first.created, first.updated) == (len(faq.load()), 0)
    snapshot = {
        (a.slug, a.language): (a.title, a.body, a.keywords, a.updated_at)
        for a in await session.scalars(select(KnowledgeArticle))
    }
    second = await seed_faq(session)
    assert (second.created, second.updated, second.unchanged) == (0, 0, len(snapshot))
    after = {
        (a.slug, a.language): (a.title, a.body, a.keywords, a.updated_at)
        for a in await session.scalars(
            select(KnowledgeArticle).execution_options(populate_existing=True)
        )
    }
    assert after == snapshot

    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "refunds.md").write_text(
        "---\ntitle: Refunds, revised\ncategory: billing\nkeywords: refund\n---\nNew body."
    )
    third = await seed_faq(session, tmp_path)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 0)
    refunds = await session.scalar(
        select(KnowledgeArticle).where(
            KnowledgeArticle.slug == "refunds", KnowledgeArticle.language == "en"
        )
    )
    assert refunds is not None
    assert (refunds.title, refunds.body) == ("Refunds, revised", "New body.")


def test_seed_faq_command_reports_and_is_idempotent(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("runs against its own SQLite file")
    monkeypatch.setenv("SIGNALHUB_DATABASE_URL", database_url.replace(".db", "-cli-faq.db"))
    cli.get_settings.cache_clear()
    try:
        assert cli.main(["migrate"]) == 0
        assert cli.main(["seed-faq"]) == 0
        assert cli.main(["seed-faq"]) == 0
    finally:
        cli.get_settings.cache_clear()
    lines = capsys.readouterr().out.splitlines()
    count = len(faq.load())
    assert lines[-2:] == [
        f"FAQ: {count} articles created, 0 updated, 0 unchanged",
        f"FAQ: 0 articles created, 0 updated, {count} unchanged",
    ]


async def test_views_older_than_yesterday_are_purged_by_the_worker_job(
    session: AsyncSession,
) -> None:
    from datetime import timedelta

    from signalhub.knowledge import service
    from signalhub.models import KnowledgeArticleView
    from signalhub.worker.jobs import DEFAULT_JOBS
    from tests.factories import create_article, create_user

    article = await create_article(session, title="Old news")
    reader = await create_user(session)
    now = utcnow()
    for days_ago in (0, 1, 2, 30):
        await service.read(session, article.slug, "en", reader.id, now - timedelta(days=days_ago))
    job = next(job for job in DEFAULT_JOBS if job.name == "purge_old_article_views")
    assert await job.run(session, now) == 2
    kept = await session.scalars(select(KnowledgeArticleView.viewed_on))
    assert sorted(kept) == [(now - timedelta(days=1)).date(), now.date()]


@pytest.mark.parametrize(
    ("query", "language", "expected_first"),
    [
        # The examples the help articles themselves give.
        ("refu", "en", "refunds"),
        ("device limit", "en", "device-limits"),
        ("возвр", "ru", "refunds"),
        ("лимит устройств", "ru", "device-limits"),
        # Questions traders ask, per the issue.
        ("how do I connect MetaTrader", "en", "ea-settings"),
        ("how do I pay with stars", "en", "pay-with-stars"),
        ("can I get a refund", "en", "refunds"),
        ("approve signal", "en", "approve-signal"),
        ("как одобрить сигнал", "ru", "approve-signal"),
    ],
)
async def test_the_faq_answers_the_questions_it_promises_to(
    session: AsyncSession, query: str, language: str, expected_first: str
) -> None:
    from signalhub.knowledge import service

    await seed_faq(session)
    found = await service.search(
        session, query, language=language, category=None, page=1, page_size=5, now=utcnow()
    )
    assert found.language == language
    assert [item.slug for item in found.items][:1] == [expected_first], [
        item.slug for item in found.items
    ]
