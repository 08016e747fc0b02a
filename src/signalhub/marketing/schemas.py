from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from signalhub.kit.schemas import Flag, Id, Text
from signalhub.models import BroadcastStatus

LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$"
SEGMENT_PATTERN = r"^[a-z]{3,10}(:[0-9]{1,4})?$"
PHOTO_URL_PATTERN = r"^https://[^\s/]+[^\s]*$"


class UrlButton(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["url"]
    text: Text = Field(min_length=1, max_length=64)
    url: Text = Field(min_length=1, max_length=1024, pattern=r"^https?://[^\s/]+[^\s]*$")


class MiniAppButton(BaseModel):
    """Opens the Mini App with a `startapp` parameter it reports on launch."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["mini_app"]
    text: Text = Field(min_length=1, max_length=64)


Button = Annotated[UrlButton | MiniAppButton, Field(discriminator="kind")]


class TemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text = Field(min_length=1, max_length=128)
    text: Text = Field(min_length=1, max_length=8192, description="Telegram HTML")
    photo_url: Text | None = Field(default=None, max_length=1024, pattern=PHOTO_URL_PATTERN)
    buttons: list[Button] = Field(default_factory=list, max_length=3)
    is_active: Flag = True


class TemplateUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text | None = Field(default=None, min_length=1, max_length=128)
    text: Text | None = Field(default=None, min_length=1, max_length=8192)
    photo_url: Text | None = Field(default=None, max_length=1024, pattern=PHOTO_URL_PATTERN)
    buttons: list[Button] | None = Field(default=None, max_length=3)
    is_active: Flag | None = None


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    text: str
    photo_url: str | None
    buttons: list[Button]
    is_active: bool
    created_by: int | None
    created_at: datetime


class SegmentQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segment: Text = Field(
        max_length=16,
        pattern=SEGMENT_PATTERN,
        description="all, free, premium, vip, enterprise, paid, expiring:<days>, lapsed:<days>",
    )
    language: Text | None = Field(default=None, max_length=16, pattern=LANGUAGE_PATTERN)


class SegmentSize(BaseModel):
    segment: str
    language: str | None
    size: int


class BroadcastCreate(SegmentQuery):
    template_id: Id
    scheduled_at: datetime | None = Field(default=None, description="now when absent")


class BroadcastOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    template_id: int
    segment: str
    language: str | None
    status: BroadcastStatus
    scheduled_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    targeted_count: int
    delivered_count: int
    failed_count: int
    cancelled_count: int
    failure_reason: str | None
    created_at: datetime


class BroadcastPage(BaseModel):
    items: list[BroadcastOut]
    page: int
    per_page: int
    total: int


class CancelOut(BaseModel):
    broadcast: BroadcastOut
    dropped: int = Field(description="messages that will not be sent")


class MinuteCount(BaseModel):
    minute: str
    delivered: int
    clicked: int


class AnalyticsOut(BaseModel):
    """No "viewed": Telegram has no read receipts. Delivered means the Bot API accepted the
    message; clicked counts recipients who opened a CTA at least once."""

    broadcast_id: int
    status: BroadcastStatus
    targeted: int
    pending: int
    queued: int
    delivered: int
    failed: int
    blocked: int
    skipped: int
    cancelled: int
    clicked: int
    clicks_per_button: dict[int, int]
    click_through_rate: float = Field(description="clicked / delivered")
    timeline: list[MinuteCount]


class MarketingPreference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subscribed: Flag


class CtaReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_param: Text = Field(min_length=1, max_length=64)
