"""Broadcast rules: templates checked at creation, segments resolved when sending starts, a
resumable fan-out into the outbox at marketing priority, CTA clicks and honest analytics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.audit import service as audit
from signalhub.config import Settings
from signalhub.errors import Conflict, NotFound, Unprocessable
from signalhub.marketing import links, segments, telegram_html
from signalhub.marketing.repository import OUTBOX_OUTCOME, MarketingRepository
from signalhub.marketing.schemas import (
    AnalyticsOut,
    BroadcastCreate,
    MinuteCount,
    TemplateCreate,
    TemplateUpdate,
)
from signalhub.models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    BroadcastTemplate,
    DeliveryStatus,
    OutboxStatus,
    Priority,
    User,
)
from signalhub.outbox import service as outbox
from signalhub.users import service as users
from signalhub.users.signed_in import SignedInUser

MIN_FANOUT_LEAD = 1000
# Recipients queued in the outbox ahead of the sender: this many seconds of sending at the
# configured rate (at least MIN_FANOUT_LEAD). The outbox and each settle pass then hold the
# broadcast's front, not all 100,000 recipients at once.
FANOUT_LEAD_S = 10
SETTLE_BATCH = 5000
FINAL_BROADCAST = (BroadcastStatus.sent, BroadcastStatus.cancelled, BroadcastStatus.failed)


# -- templates ------------------------------------------------------------------------------------
def _check_template(
    settings: Settings, text: str, photo_url: str | None, buttons: list[Any]
) -> None:
    try:
        telegram_html.check(text, with_photo=photo_url is not None)
    except telegram_html.InvalidTemplate as error:
        raise Unprocessable(str(error), code="invalid_template") from error
    if (
        any(button["kind"] == "mini_app" for button in buttons)
        and not settings.telegram_bot_username
    ):
        raise Unprocessable(
            "Mini App buttons need SIGNALHUB_TELEGRAM_BOT_USERNAME to build their t.me link.",
            code="invalid_template",
        )


async def create_template(
    session: AsyncSession, settings: Settings, data: TemplateCreate, actor_user_id: int | None
) -> BroadcastTemplate:
    buttons = [button.model_dump() for button in data.buttons]
    _check_template(settings, data.text, data.photo_url, buttons)
    template = BroadcastTemplate(
        title=data.title,
        text=data.text,
        photo_url=data.photo_url,
        buttons=buttons,
        is_active=data.is_active,
        created_by=actor_user_id,
    )
    await MarketingRepository(session).add(template)
    await audit.record(
        session,
        "broadcast_template.created",
        subject_type="broadcast_template",
        subject_id=template.id,
        actor_user_id=actor_user_id,
        data={"title": template.title},
    )
    return template


async def get_template(session: AsyncSession, template_id: int) -> BroadcastTemplate:
    template = await MarketingRepository(session).get_template(template_id)
    if template is None:
        raise NotFound(f"No broadcast template {template_id}.", code="template_not_found")
    return template


async def list_templates(
    session: AsyncSession, *, active_only: bool = False
) -> Sequence[BroadcastTemplate]:
    return await MarketingRepository(session).list_templates(active_only=active_only)


async def update_template(
    session: AsyncSession,
    settings: Settings,
    template_id: int,
    changes: TemplateUpdate,
    actor_user_id: int | None,
) -> BroadcastTemplate:
    """Broadcasts already sent keep what they sent; later ones render the new version."""
    template = await get_template(session, template_id)
    given = changes.model_dump(exclude_unset=True)
    # Only the photo can be removed (null); the other fields are required.
    values = {key: value for key, value in given.items() if value is not None or key == "photo_url"}
    merged = {
        "text": values.get("text", template.text),
        "photo_url": values.get("photo_url", template.photo_url),
        "buttons": values.get("buttons", template.buttons),
    }
    _check_template(settings, merged["text"], merged["photo_url"], merged["buttons"])
    for field, value in values.items():
        setattr(template, field, value)
    await session.flush()
    await audit.record(
        session,
        "broadcast_template.updated",
        subject_type="broadcast_template",
        subject_id=template.id,
        actor_user_id=actor_user_id,
        data={"fields": sorted(values)},
    )
    return template


# -- segments -------------------------------------------------------------------------------------
async def segment_size(
    session: AsyncSession, segment: str, language: str | None, now: datetime
) -> int:
    repository = MarketingRepository(session)
    return await repository.count(repository.recipients(segments.parse(segment), language, now))


# -- broadcasts -----------------------------------------------------------------------------------
async def create_broadcast(
    session: AsyncSession, data: BroadcastCreate, actor_user_id: int | None, now: datetime
) -> Broadcast:
    segment = segments.parse(data.segment)
    template = await get_template(session, data.template_id)
    if not template.is_active:
        raise Conflict(f"Template {template.id} is not active.", code="template_inactive")
    if data.scheduled_at is not None and data.scheduled_at.tzinfo is None:
        raise Unprocessable("scheduled_at needs a time zone (UTC: end it with Z).")
    scheduled_at = data.scheduled_at or now
    if scheduled_at < now:
        raise Unprocessable(
            f"scheduled_at {scheduled_at.isoformat()} is in the past.", code="scheduled_in_past"
        )
    broadcast = Broadcast(
        template_id=template.id,
        segment=str(segment),
        language=data.language,
        status=BroadcastStatus.scheduled,
        scheduled_at=scheduled_at,
        created_by=actor_user_id,
        targeted_count=0,
        delivered_count=0,
        failed_count=0,
        cancelled_count=0,
        progress_tenths=0,
        created_at=now,
    )
    await MarketingRepository(session).add(broadcast)
    await audit.record(
        session,
        "broadcast.scheduled",
        subject_type="broadcast",
        subject_id=broadcast.id,
        actor_user_id=actor_user_id,
        data={
            "template_id": template.id,
            "segment": broadcast.segment,
            "at": scheduled_at.isoformat(),
        },
    )
    return broadcast


async def get(session: AsyncSession, broadcast_id: int) -> Broadcast:
    broadcast = await MarketingRepository(session).get(broadcast_id)
    if broadcast is None:
        raise NotFound(f"No broadcast {broadcast_id}.", code="broadcast_not_found")
    return broadcast


async def page(
    session: AsyncSession, page_number: int, per_page: int
) -> tuple[Sequence[Broadcast], int]:
    return await MarketingRepository(session).page((page_number - 1) * per_page, per_page)


async def report_progress_to(session: AsyncSession, broadcast: Broadcast, chat_id: int) -> None:
    """A "Broadcast #N: 0 %" message to the admin, edited at every tenth of the way."""
    message = await outbox.enqueue(
        session,
        chat_id,
        _progress_text(broadcast, finished=False),
        kind="broadcast_progress",
    )
    broadcast.progress_outbox_id = message.id
    await session.flush()


async def send_test(
    session: AsyncSession, settings: Settings, broadcast_id: int, admin: SignedInUser
) -> None:
    """The real rendering, to the calling admin only; not a delivery, not in the analytics."""
    broadcast = await get(session, broadcast_id)
    template = await get_template(session, broadcast.template_id)
    message = _Renderer(settings, broadcast, template).outgoing(
        admin.id, admin.telegram_id, admin.first_name
    )
    await outbox.enqueue_many(
        session, [message], priority=Priority.transactional, kind="broadcast_test"
    )


async def cancel(
    session: AsyncSession, broadcast_id: int, actor_user_id: int | None, now: datetime
) -> tuple[Broadcast, int]:
    """Unsent messages are dropped; a message the sender already took is left to finish."""
    repository = MarketingRepository(session)
    broadcast = await repository.lock(broadcast_id)
    if broadcast is None:
        raise NotFound(f"No broadcast {broadcast_id}.", code="broadcast_not_found")
    if broadcast.status in FINAL_BROADCAST:
        raise Conflict(
            f"Broadcast {broadcast_id} is already {broadcast.status.value}.",
            code="broadcast_finished",
        )
    reason = f"broadcast {broadcast_id} cancelled"
    await repository.drop_queued(broadcast_id, reason)
    dropped = await repository.cancel_unsent(broadcast_id, reason)
    broadcast.status = BroadcastStatus.cancelled
    broadcast.cancelled_count += dropped
    broadcast.finished_at = now
    await session.flush()
    await audit.record(
        session,
        "broadcast.cancelled",
        subject_type="broadcast",
        subject_id=broadcast_id,
        actor_user_id=actor_user_id,
        data={"dropped": dropped},
    )
    return broadcast, dropped


# -- sending --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Renderer:
    """The template rendered once per broadcast; per recipient only the placeholders and the
    signed CTA links change."""

    settings: Settings
    broadcast: Broadcast
    template: BroadcastTemplate

    def outgoing(self, user_id: int, chat_id: int, first_name: str | None) -> outbox.NewMessage:
        text = telegram_html.render(self.template.text, {"first_name": first_name or "trader"})
        return outbox.NewMessage(
            chat_id,
            text,
            self._buttons(user_id) or None,
            user_id,
            parse_mode="HTML",
            photo_url=self.template.photo_url,
        )

    def _buttons(self, user_id: int) -> outbox.Buttons:
        rows = []
        for index, button in enumerate(self.template.buttons):
            if button["kind"] == "url":
                target = links.CtaTarget(self.broadcast.id, user_id, index)
                url = links.redirect_url(self.settings, target)
            else:
                assert self.settings.telegram_bot_username is not None
                url = links.mini_app_url(
                    self.settings.telegram_bot_username, self.broadcast.id, index
                )
            rows.append([{"text": button["text"], "url": url}])
        return rows


def preview(
    settings: Settings, template: BroadcastTemplate, first_name: str | None
) -> outbox.NewMessage:
    """What a recipient would see, for the admin writing it: the buttons go straight to their
    targets, untracked."""
    buttons = [
        [
            {
                "text": button["text"],
                "url": button["url"]
                if button["kind"] == "url"
                else f"https://t.me/{settings.telegram_bot_username}",
            }
        ]
        for button in template.buttons
    ]
    return outbox.NewMessage(
        0,
        telegram_html.render(template.text, {"first_name": first_name or "trader"}),
        buttons or None,
        None,
        parse_mode="HTML",
        photo_url=template.photo_url,
    )


async def start_due(session: AsyncSession, now: datetime, limit: int = 10) -> list[int]:
    """Starts due broadcasts: exactly one worker wins each (a conditional update), and the
    segment is resolved into one delivery row per recipient in the same transaction."""
    repository = MarketingRepository(session)
    started = []
    for broadcast_id in await repository.due(now, limit):
        if not await repository.claim_start(broadcast_id, now):
            continue
        broadcast = await repository.lock(broadcast_id)
        assert broadcast is not None
        template = await get_template(session, broadcast.template_id)
        if not template.is_active:
            broadcast.status = BroadcastStatus.failed
            broadcast.failure_reason = f"template {template.id} was deactivated before sending"
            broadcast.finished_at = now
            continue
        broadcast.targeted_count = await repository.resolve_segment(
            broadcast.id, segments.parse(broadcast.segment), broadcast.language, now
        )
        started.append(broadcast_id)
    await session.flush()
    return started


async def sending_ids(session: AsyncSession) -> Sequence[int]:
    return await MarketingRepository(session).ids_with_status(BroadcastStatus.sending)


def fanout_lead(settings: Settings) -> int:
    return max(MIN_FANOUT_LEAD, math.ceil(settings.telegram_rate_per_second * FANOUT_LEAD_S))


async def fan_out(
    session: AsyncSession,
    settings: Settings,
    broadcast_id: int,
    limit: int | None = None,
    *,
    lead: int | None = None,
) -> int:
    """Queues the next batch of recipients in the outbox, in this transaction: after a crash
    the batch is either wholly queued or wholly still pending, so nobody gets it twice. Stops
    while `lead` (by default `fanout_lead`) recipients are queued and not yet settled."""
    repository = MarketingRepository(session)
    broadcast = await repository.lock(broadcast_id)
    if broadcast is None or broadcast.status != BroadcastStatus.sending:
        return 0
    ahead = await repository.count_with_status(broadcast_id, DeliveryStatus.queued)
    room = (fanout_lead(settings) if lead is None else lead) - ahead
    if limit is not None:
        room = min(room, limit)
    if room <= 0:
        return 0
    rows = await repository.claim_pending(broadcast_id, room)
    if not rows:
        return 0
    renderer = _Renderer(settings, broadcast, await get_template(session, broadcast.template_id))
    changes: list[dict[str, Any]] = []
    messages = []
    for row in rows:
        if row.bot_blocked or row.marketing_opt_out or row.banned_at is not None:
            # Opted out, blocked the bot or was banned after the segment was resolved.
            changes.append(
                {
                    "id": row.id,
                    "status": DeliveryStatus.skipped,
                    "failed_reason": "opted out, blocked or banned",
                }
            )
            continue
        messages.append((row.id, renderer.outgoing(row.user_id, row.telegram_id, row.first_name)))
    queued = await outbox.enqueue_many(
        session, [message for _, message in messages], priority=Priority.marketing, kind="broadcast"
    )
    changes.extend(
        {"id": delivery_id, "status": DeliveryStatus.queued, "outbox_id": outbox_id}
        for (delivery_id, _), outbox_id in zip(messages, queued, strict=True)
    )
    await repository.update_deliveries(changes)
    return len(rows)


async def settle(session: AsyncSession, broadcast_id: int, now: datetime) -> bool:
    """Copies the sender's outcomes back onto the deliveries, edits the admin's progress
    message at each tenth, and marks the broadcast sent once every delivery is final."""
    repository = MarketingRepository(session)
    broadcast = await repository.lock(broadcast_id)
    if broadcast is None or broadcast.status != BroadcastStatus.sending:
        return False
    changes = []
    for delivery_id, outbox_status, sent_at, last_error in await repository.finished_in_outbox(
        broadcast_id, SETTLE_BATCH
    ):
        outcome = OUTBOX_OUTCOME[OutboxStatus(outbox_status)]
        changes.append(
            {
                "id": delivery_id,
                "status": outcome,
                "delivered_at": sent_at if outcome is DeliveryStatus.delivered else None,
                "failed_reason": None if outcome is DeliveryStatus.delivered else last_error,
            }
        )
        if outcome is DeliveryStatus.delivered:
            broadcast.delivered_count += 1
        else:
            broadcast.failed_count += 1
    await repository.update_deliveries(changes)
    finished = not await repository.has_pending(broadcast_id)
    if finished:
        broadcast.status = BroadcastStatus.sent
        broadcast.finished_at = now
    await _report_progress(session, broadcast, finished)
    await session.flush()
    return finished


async def _report_progress(session: AsyncSession, broadcast: Broadcast, finished: bool) -> None:
    if broadcast.progress_outbox_id is None:
        return
    done = broadcast.delivered_count + broadcast.failed_count
    tenths = 10 if finished else math.floor(10 * done / max(1, broadcast.targeted_count))
    if tenths <= broadcast.progress_tenths:
        return
    broadcast.progress_tenths = tenths
    await outbox.replace(
        session,
        broadcast.progress_outbox_id,
        _progress_text(broadcast, finished),
        priority=Priority.transactional,
        kind="broadcast_progress",
    )


def _progress_text(broadcast: Broadcast, finished: bool) -> str:
    done = broadcast.delivered_count + broadcast.failed_count
    state = "sent" if finished else "sending"
    return (
        f"Broadcast #{broadcast.id} {state}: {broadcast.progress_tenths * 10} % "
        f"({done} of {broadcast.targeted_count}; {broadcast.delivered_count} delivered, "
        f"{broadcast.failed_count} not delivered)."
    )


# -- CTA ------------------------------------------------------------------------------------------
async def follow_link(session: AsyncSession, settings: Settings, token: str, now: datetime) -> str:
    """The target of a signed CTA link, recording the recipient's first click on it. Anything
    that does not verify is a 404, never a redirect somewhere it names."""
    target = links.verify(settings, token)
    if target is None or await _button_kind(session, target.broadcast_id, target.button) != "url":
        raise NotFound("This link is not valid.", code="link_not_found")
    await _record_click(session, target.broadcast_id, target.user_id, target.button, now)
    broadcast = await get(session, target.broadcast_id)
    template = await get_template(session, broadcast.template_id)
    return str(template.buttons[target.button]["url"])


async def report_mini_app_launch(
    session: AsyncSession, user: SignedInUser, start_param: str, now: datetime
) -> bool:
    """The Mini App was opened from a broadcast's Mini App button; True if counted now."""
    parsed = links.parse_start_param(start_param)
    not_found = NotFound("Not a broadcast's Mini App link.", code="link_not_found")
    if parsed is None:
        raise not_found
    broadcast_id, button = parsed
    if await _button_kind(session, broadcast_id, button) != "mini_app":
        raise not_found
    return await _record_click(session, broadcast_id, user.id, button, now)


async def _button_kind(session: AsyncSession, broadcast_id: int, button: int) -> str | None:
    broadcast = await MarketingRepository(session).get(broadcast_id)
    if broadcast is None:
        return None
    template = await get_template(session, broadcast.template_id)
    if button >= len(template.buttons):
        return None
    return str(template.buttons[button]["kind"])


async def _record_click(
    session: AsyncSession, broadcast_id: int, user_id: int, button: int, now: datetime
) -> bool:
    """Once per recipient and button; a click by someone who was not a recipient (an admin's
    test message) is not counted."""
    repository = MarketingRepository(session)
    delivery: BroadcastDelivery | None = await repository.delivery_for(broadcast_id, user_id)
    if delivery is None:
        return False
    if not await repository.insert_click(delivery.id, button, now):
        return False
    await repository.mark_clicked(delivery.id, now)
    return True


# -- analytics ------------------------------------------------------------------------------------
async def analytics(session: AsyncSession, broadcast_id: int) -> AnalyticsOut:
    broadcast = await get(session, broadcast_id)
    repository = MarketingRepository(session)
    counts = await repository.status_counts(broadcast_id)
    delivered = counts.get(DeliveryStatus.delivered, 0)
    clicked = await repository.clicked_count(broadcast_id)
    delivered_per_minute = await repository.per_minute(broadcast_id, BroadcastDelivery.delivered_at)
    clicked_per_minute = await repository.per_minute(broadcast_id, BroadcastDelivery.clicked_at)
    return AnalyticsOut(
        broadcast_id=broadcast_id,
        status=broadcast.status,
        targeted=sum(counts.values()),
        pending=counts.get(DeliveryStatus.pending, 0),
        queued=counts.get(DeliveryStatus.queued, 0),
        delivered=delivered,
        failed=counts.get(DeliveryStatus.failed, 0),
        blocked=counts.get(DeliveryStatus.blocked, 0),
        skipped=counts.get(DeliveryStatus.skipped, 0),
        cancelled=counts.get(DeliveryStatus.cancelled, 0),
        clicked=clicked,
        clicks_per_button=await repository.clicks_per_button(broadcast_id),
        click_through_rate=round(clicked / delivered, 4) if delivered else 0.0,
        timeline=[
            MinuteCount(
                minute=minute,
                delivered=delivered_per_minute.get(minute, 0),
                clicked=clicked_per_minute.get(minute, 0),
            )
            for minute in sorted(delivered_per_minute.keys() | clicked_per_minute.keys())
        ],
    )


# -- preferences ----------------------------------------------------------------------------------
async def set_subscribed(
    session: AsyncSession, user: User | SignedInUser, subscribed: bool
) -> None:
    await users.set_marketing_opt_out(session, user.id, not subscribed)
