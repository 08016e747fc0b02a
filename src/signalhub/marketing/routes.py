from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.responses import RedirectResponse

from signalhub.auth.dependencies import AdminUser, CurrentUser
from signalhub.dependencies import SessionDep, SettingsDep
from signalhub.errors import error_responses as errors
from signalhub.kit.schemas import PathId
from signalhub.kit.time import utcnow
from signalhub.marketing import service
from signalhub.marketing.schemas import (
    AnalyticsOut,
    BroadcastCreate,
    BroadcastOut,
    BroadcastPage,
    CancelOut,
    CtaReport,
    MarketingPreference,
    SegmentQuery,
    SegmentSize,
    TemplateCreate,
    TemplateOut,
    TemplateUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["marketing"])
redirect_router = APIRouter(tags=["marketing"])

ADMIN = errors(401, 403, 422)


# -- templates ------------------------------------------------------------------------------------
@router.post(
    "/admin/broadcast-templates",
    response_model=TemplateOut,
    status_code=status.HTTP_201_CREATED,
    responses=ADMIN,
)
async def create_template(
    body: TemplateCreate, admin: AdminUser, session: SessionDep, settings: SettingsDep
) -> TemplateOut:
    """Refused with 422 if Telegram would reject it: bad HTML, too long, unknown placeholder."""
    template = await service.create_template(session, settings, body, admin.id)
    return TemplateOut.model_validate(template)


@router.get("/admin/broadcast-templates", response_model=list[TemplateOut], responses=ADMIN)
async def list_templates(admin: AdminUser, session: SessionDep) -> list[TemplateOut]:
    return [TemplateOut.model_validate(row) for row in await service.list_templates(session)]


@router.get(
    "/admin/broadcast-templates/{template_id:int}",
    response_model=TemplateOut,
    responses={**ADMIN, **errors(404)},
)
async def get_template(template_id: PathId, admin: AdminUser, session: SessionDep) -> TemplateOut:
    return TemplateOut.model_validate(await service.get_template(session, template_id))


@router.patch(
    "/admin/broadcast-templates/{template_id:int}",
    response_model=TemplateOut,
    responses={**ADMIN, **errors(404)},
)
async def update_template(
    template_id: PathId,
    body: TemplateUpdate,
    admin: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
) -> TemplateOut:
    """`is_active: false` retires a template; broadcasts that used it keep their history."""
    template = await service.update_template(session, settings, template_id, body, admin.id)
    return TemplateOut.model_validate(template)


# -- segments and broadcasts ----------------------------------------------------------------------
@router.post("/admin/segments/preview", response_model=SegmentSize, responses=ADMIN)
async def preview_segment(body: SegmentQuery, admin: AdminUser, session: SessionDep) -> SegmentSize:
    """How many users the segment holds right now (it is resolved again when sending starts)."""
    size = await service.segment_size(session, body.segment, body.language, utcnow())
    return SegmentSize(segment=body.segment, language=body.language, size=size)


@router.post(
    "/admin/broadcasts",
    response_model=BroadcastOut,
    status_code=status.HTTP_201_CREATED,
    responses={**ADMIN, **errors(404, 409)},
)
async def create_broadcast(
    body: BroadcastCreate, admin: AdminUser, session: SessionDep
) -> BroadcastOut:
    broadcast = await service.create_broadcast(session, body, admin.id, utcnow())
    return BroadcastOut.model_validate(broadcast)


@router.get("/admin/broadcasts", response_model=BroadcastPage, responses=ADMIN)
async def list_broadcasts(
    admin: AdminUser,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> BroadcastPage:
    rows, total = await service.page(session, page, per_page)
    return BroadcastPage(
        items=[BroadcastOut.model_validate(row) for row in rows],
        page=page,
        per_page=per_page,
        total=total,
    )


@router.get(
    "/admin/broadcasts/{broadcast_id:int}",
    response_model=BroadcastOut,
    responses={**ADMIN, **errors(404)},
)
async def get_broadcast(
    broadcast_id: PathId, admin: AdminUser, session: SessionDep
) -> BroadcastOut:
    return BroadcastOut.model_validate(await service.get(session, broadcast_id))


@router.post(
    "/admin/broadcasts/{broadcast_id:int}/test",
    status_code=status.HTTP_202_ACCEPTED,
    responses={**ADMIN, **errors(404)},
)
async def send_test(
    broadcast_id: PathId, admin: AdminUser, session: SessionDep, settings: SettingsDep
) -> Response:
    """Sends the broadcast, rendered for you, to you only."""
    await service.send_test(session, settings, broadcast_id, admin)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/admin/broadcasts/{broadcast_id:int}/cancel",
    response_model=CancelOut,
    responses={**ADMIN, **errors(404, 409)},
)
async def cancel_broadcast(
    broadcast_id: PathId, admin: AdminUser, session: SessionDep
) -> CancelOut:
    broadcast, dropped = await service.cancel(session, broadcast_id, admin.id, utcnow())
    return CancelOut(broadcast=BroadcastOut.model_validate(broadcast), dropped=dropped)


@router.get(
    "/admin/broadcasts/{broadcast_id:int}/analytics",
    response_model=AnalyticsOut,
    responses={**ADMIN, **errors(404)},
)
async def broadcast_analytics(
    broadcast_id: PathId, admin: AdminUser, session: SessionDep
) -> AnalyticsOut:
    return await service.analytics(session, broadcast_id)


# -- recipients -----------------------------------------------------------------------------------
@router.get("/me/marketing", response_model=MarketingPreference, responses=errors(401))
async def marketing_preference(user: CurrentUser) -> MarketingPreference:
    return MarketingPreference(subscribed=not user.marketing_opt_out)


@router.put("/me/marketing", response_model=MarketingPreference, responses=errors(401, 422))
async def set_marketing_preference(
    body: MarketingPreference, user: CurrentUser, session: SessionDep
) -> MarketingPreference:
    """The same switch as /stop_marketing and /start_marketing in the bot."""
    await service.set_subscribed(session, user, body.subscribed)
    return MarketingPreference(subscribed=body.subscribed)


@router.post(
    "/marketing/cta",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(401, 404, 422),
)
async def report_cta(body: CtaReport, user: CurrentUser, session: SessionDep) -> Response:
    """The Mini App reports its `startapp` parameter on launch: a broadcast's Mini App button
    was clicked (counted once per recipient and button)."""
    await service.report_mini_app_launch(session, user, body.start_param, utcnow())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@redirect_router.get(
    "/r/{token}",
    response_class=RedirectResponse,
    status_code=status.HTTP_302_FOUND,
    responses={302: {"description": "to the button's target"}, **errors(404)},
)
async def follow_cta(
    token: Annotated[str, Path(max_length=128)],
    session: SessionDep,
    settings: SettingsDep,
) -> RedirectResponse:
    """A broadcast's URL button: records the recipient's first click, then redirects to the
    target stored with the template. A token that does not verify is a 404, never a redirect."""
    target = await service.follow_link(session, settings, token, utcnow())
    return RedirectResponse(target, status_code=status.HTTP_302_FOUND)
