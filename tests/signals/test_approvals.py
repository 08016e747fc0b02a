"""Deciding over HTTP: the caller's own approvals only, idempotent, 409 once it is too late;
the bot message follows the decision."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.app import create_app
from signalhub.audit.repository import AuditRepository
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.models import (
    Approval,
    ApprovalChannel,
    ApprovalStatus,
    OutboxMessage,
    OutboxStatus,
    Signal,
    SignalStatus,
)
from signalhub.signals import service
from tests.factories import create_subscriber
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import bearer_for, drain_outbox
from tests.signals.conftest import fan_out, offered, publish


async def offer(
    database: Database, session: AsyncSession, telegram_id: int, **signal: object
) -> tuple[Signal, Approval]:
    user = await create_subscriber(session, telegram_id=telegram_id)
    return await offered(database, session, user, **signal)


async def test_pending_lists_full_signals_newest_first_with_seconds_left(
    client: httpx.AsyncClient, database: Database, session: AsyncSession
) -> None:
    first, _ = await offer(database, session, 7001)
    second = await publish(
        session,
        symbol="XAUUSD",
        entry_price="2400",
        stop_loss="2390",
        take_profits=["2410"],
        expires_in_s=600,
    )
    await session.commit()
    await fan_out(database)

    response = await client.get("/api/v1/approvals/pending", headers=await bearer_for(client, 7001))
    assert response.status_code == 200
    items = response.json()
    assert [item["signal"]["id"] for item in items] == [second.id, first.id]
    assert items[0]["signal"] | {"id": 0, "expires_at": "", "created_at": ""} == {
        "id": 0,
        "symbol": "XAUUSD",
        "side": "buy",
        "order_type": "market",
        "entry_price": "2400",
        "stop_loss": "2390",
        "take_profits": ["2410"],
        "note": None,
        "min_tier": "premium",
        "status": "active",
        "expires_at": "",
        "created_at": "",
    }
    assert 590 <= items[0]["seconds_left"] <= 600
    assert items[1]["status"] == "pending"


async def test_pending_answers_304_while_nothing_changed(
    client: httpx.AsyncClient, database: Database, session: AsyncSession
) -> None:
    _, approval = await offer(database, session, 7002)
    headers = await bearer_for(client, 7002)
    first = await client.get("/api/v1/approvals/pending", headers=headers)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')

    again = await client.get(
        "/api/v1/approvals/pending", headers={**headers, "If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.content == b""

    await client.post(f"/api/v1/approvals/{approval.id}/approve", headers=headers)
    changed = await client.get(
        "/api/v1/approvals/pending", headers={**headers, "If-None-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.json() == []
    assert changed.headers["ETag"] != etag


async def test_approve_is_idempotent_and_the_opposite_is_a_409(
    client: httpx.AsyncClient, database: Database, session: AsyncSession
) -> None:
    _, approval = await offer(database, session, 7003)
    headers = await bearer_for(client, 7003)

    first = await client.post(f"/api/v1/approvals/{approval.id}/approve", headers=headers)
    assert first.status_code == 200
    assert first.json()["status"] == "approved"
    assert first.json()["decided_via"] == "miniapp"
    again = await client.post(f"/api/v1/approvals/{approval.id}/approve", headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json() | {"seconds_left": again.json()["seconds_left"]}

    opposite = await client.post(f"/api/v1/approvals/{approval.id}/reject", headers=headers)
    assert opposite.status_code == 409
    assert opposite.json()["error"]["code"] == "already_decided"

    audit = await AuditRepository(session).for_subject("approval", str(approval.id))
    assert [entry.action for entry in audit] == ["approval.approved"]


async def test_another_users_or_unknown_approval_is_a_404(
    client: httpx.AsyncClient, database: Database, session: AsyncSession
) -> None:
    _, approval = await offer(database, session, 7004)
    stranger = await bearer_for(client, 7005)
    for path in (f"{approval.id}/approve", f"{approval.id}/reject", "999999999/approve"):
        response = await client.post(f"/api/v1/approvals/{path}", headers=stranger)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "approval_not_found"
    await session.refresh(approval)
    assert approval.status is ApprovalStatus.pending


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("0/approve", 422, "validation_error"),
        (f"{2**63}/approve", 422, "validation_error"),
        ("-1/reject", 404, "not_found"),
        ("abc/approve", 404, "not_found"),
    ],
)
async def test_bad_ids_are_refused(
    client: httpx.AsyncClient, path: str, status: int, code: str
) -> None:
    """A number out of range is invalid (422); what is not a number names no approval (404)."""
    headers = await bearer_for(client, 7006)
    response = await client.post(f"/api/v1/approvals/{path}", headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


async def test_deciding_after_expiry_is_signal_expired_and_after_cancel_signal_cancelled(
    client: httpx.AsyncClient, database: Database, session: AsyncSession
) -> None:
    signal, approval = await offer(database, session, 7007)
    headers = await bearer_for(client, 7007)
    signal.expires_at = utcnow() - timedelta(seconds=1)  # expired, the expiry job not run yet
    await session.commit()
    response = await client.post(f"/api/v1/approvals/{approval.id}/approve", headers=headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "signal_expired"
    assert (await client.get("/api/v1/approvals/pending", headers=headers)).json() == []

    other, other_approval = await offer(database, session, 7007)
    admin = await bearer_for(client, 900)
    cancelled = await client.post(f"/api/v1/admin/signals/{other.id}/cancel", headers=admin)
    assert cancelled.status_code == 200
    assert cancelled.json()["counts"]["cancelled"] == 1
    response = await client.post(f"/api/v1/approvals/{other_approval.id}/reject", headers=headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "signal_cancelled"


async def test_expiry_drops_the_unsent_requests_and_closes_the_offers(
    database: Database, session: AsyncSession, settings: Settings, telegram_api: FakeTelegramAPI
) -> None:
    signal, approval = await offer(database, session, 7008)
    request = await session.get(OutboxMessage, approval.outbox_message_id)
    assert request is not None
    signal.expires_at = request.expires_at = utcnow() - timedelta(seconds=1)  # time passed
    await session.commit()

    await drain_outbox(settings, database)  # the sender never sends it late, job or no job
    assert telegram_api.of("sendMessage") == []
    assert await service.expire_due(session, utcnow()) == 1
    await session.commit()

    await session.refresh(approval)
    await session.refresh(signal)
    message = await session.get(OutboxMessage, approval.outbox_message_id)
    assert message is not None
    await session.refresh(message)
    assert (signal.status, approval.status, message.status) == (
        SignalStatus.expired,
        ApprovalStatus.expired,
        OutboxStatus.dropped,
    )
    assert await service.expire_due(session, utcnow()) == 0


async def test_a_decision_in_the_mini_app_edits_the_bot_message(
    client: httpx.AsyncClient,
    database: Database,
    session: AsyncSession,
    settings: Settings,
    telegram_api: FakeTelegramAPI,
) -> None:
    _, approval = await offer(database, session, 7009)
    await drain_outbox(settings, database)
    [request] = telegram_api.of("sendMessage")
    assert request.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "✅ Approve"

    headers = await bearer_for(client, 7009)
    await client.post(f"/api/v1/approvals/{approval.id}/reject", headers=headers)
    await drain_outbox(settings, database)

    [edit] = telegram_api.of("editMessageText")
    assert int(edit.params["chat_id"]) == 7009
    assert "❌ Rejected in the Mini App" in edit.params["text"]
    assert "reply_markup" not in edit.params
    message = await session.get(OutboxMessage, approval.outbox_message_id)
    assert message is not None
    assert int(edit.params["message_id"]) == message.telegram_message_id


async def test_a_decision_before_the_request_went_out_rewrites_it_instead(
    client: httpx.AsyncClient,
    database: Database,
    session: AsyncSession,
    settings: Settings,
    telegram_api: FakeTelegramAPI,
) -> None:
    _, approval = await offer(database, session, 7010)
    headers = await bearer_for(client, 7010)
    await client.post(f"/api/v1/approvals/{approval.id}/approve", headers=headers)
    await drain_outbox(settings, database)

    [sent] = telegram_api.of("sendMessage")
    assert "✅ Approved in the Mini App" in sent.params["text"]
    assert "reply_markup" not in sent.params
    assert telegram_api.of("editMessageText") == []


async def test_history_pages_newest_first_and_filters_by_status(
    client: httpx.AsyncClient, database: Database, session: AsyncSession
) -> None:
    headers = await bearer_for(client, 7011)
    ids = []
    for _ in range(3):
        _, approval = await offer(database, session, 7011)
        ids.append(approval.id)
    await client.post(f"/api/v1/approvals/{ids[0]}/approve", headers=headers)

    page = (await client.get("/api/v1/approvals?limit=2", headers=headers)).json()
    assert [item["id"] for item in page["items"]] == [ids[2], ids[1]]
    rest = (
        await client.get(f"/api/v1/approvals?limit=2&before={page['next_before']}", headers=headers)
    ).json()
    assert [item["id"] for item in rest["items"]] == [ids[0]]
    assert rest["next_before"] is None

    approved = (await client.get("/api/v1/approvals?status=approved", headers=headers)).json()
    assert [item["id"] for item in approved["items"]] == [ids[0]]
    bad = await client.get("/api/v1/approvals?status=maybe", headers=headers)
    assert bad.status_code == 422


async def test_admin_list_counts_each_signals_outcomes(
    client: httpx.AsyncClient, database: Database, session: AsyncSession
) -> None:
    traders = [await create_subscriber(session) for _ in range(4)]
    signal = await publish(session)
    await session.commit()
    await fan_out(database)
    rows = (await session.scalars(select(Approval).where(Approval.signal_id == signal.id))).all()
    by_user = {approval.user_id: approval for approval in rows}
    for trader, approve in zip(traders[:3], (True, True, False), strict=True):
        await service.decide(
            session, by_user[trader.id].id, trader.id, approve, ApprovalChannel.bot, utcnow()
        )
    await session.commit()

    admin = await bearer_for(client, 900)
    listed = (await client.get("/api/v1/admin/signals?limit=1", headers=admin)).json()
    assert listed["items"][0]["id"] == signal.id
    assert listed["items"][0]["counts"] == {
        "targeted": 4,
        "pending": 1,
        "approved": 2,
        "rejected": 1,
        "expired": 0,
        "cancelled": 0,
    }
    assert listed["items"][0]["fanout_finished_at"] is not None

    signal.expires_at = utcnow() - timedelta(seconds=1)
    await session.commit()
    listed = (await client.get("/api/v1/admin/signals", headers=admin)).json()
    assert listed["items"][0]["counts"]["expired"] == 1
    assert listed["items"][0]["counts"]["pending"] == 0

    missing = await client.post("/api/v1/admin/signals/999999/cancel", headers=admin)
    assert missing.status_code == 404
    expired = await client.post(f"/api/v1/admin/signals/{signal.id}/cancel", headers=admin)
    assert expired.json()["error"]["code"] == "signal_expired"


@pytest.mark.postgres
async def test_twenty_concurrent_decisions_on_one_approval_give_one(
    committing_database: Database, settings: Settings
) -> None:
    async with committing_database.transaction() as session:
        trader = await create_subscriber(session, telegram_id=7100)
        signal = await publish(session)
    await fan_out(committing_database)
    async with committing_database.transaction() as session:
        approval = await session.scalar(select(Approval).where(Approval.signal_id == signal.id))
        assert approval is not None

    app = create_app(settings, committing_database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        headers = await bearer_for(client, trader.telegram_id)
        responses = await asyncio.gather(
            *(
                client.post(
                    f"/api/v1/approvals/{approval.id}/{'approve' if n % 2 else 'reject'}",
                    headers=headers,
                )
                for n in range(20)
            )
        )

    async with committing_database.transaction() as session:
        stored = await session.get(Approval, approval.id)
        assert stored is not None
        winner = "approve" if stored.status is ApprovalStatus.approved else "reject"
        decisions = await AuditRepository(session).for_subject("approval", str(approval.id))
        edits = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.edit_of_id.is_not(None))
            )
        ).all()
    assert len(decisions) == 1
    for n, response in enumerate(responses):
        mine = "approve" if n % 2 else "reject"
        if mine == winner:
            assert response.status_code == 200, response.text
        else:
            assert response.status_code == 409
            assert response.json()["error"]["code"] == "already_decided"
    # The request was still queued: the one decision rewrote it, nothing else was queued.
    assert edits == []
