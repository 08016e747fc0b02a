from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from signalhub.dependencies import BotUsernameDep, DatabaseDep, SessionDep, SettingsDep
from signalhub.kit.ratelimit import RateLimiter, SharedState
from signalhub.kit.time import utcnow
from signalhub.models import PaymentMethod
from signalhub.ops.metrics import PriorityBacklog, exposition
from signalhub.outbox import service as outbox

router = APIRouter(tags=["operations"])


class AppConfigOut(BaseModel):
    bot_username: str | None
    # What `POST /api/v1/payments` can open here, Stars first.
    payment_methods: list[PaymentMethod]


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={
        200: {"description": "Ready; `status: degraded` names a component that is degraded"},
        503: {"description": "Database unreachable"},
    },
)
async def readyz(request: Request, database: DatabaseDep) -> Response:
    """Ready to serve: the database answers. Redis, when configured, is reported but does not
    make the instance unready: without it rate limits are counted per process."""
    if not await database.ping():
        return JSONResponse(
            {
                "error": {
                    "code": "database_unavailable",
                    "message": "The database does not answer.",
                }
            },
            status_code=503,
        )
    body = {"status": "ready", "database": "ok"}
    limiter: RateLimiter = request.app.state.rate_limiter
    redis = await limiter.shared_state()
    if redis is not None:
        body["redis"] = redis.value
        if redis is SharedState.degraded:
            body["status"] = "degraded"
    return JSONResponse(body)


@router.get("/metrics", response_class=Response)
async def metrics(session: SessionDep) -> Response:
    """Prometheus text exposition: summed over every process sharing the metrics directory, and
    the outbox backlog as the database has it now."""
    backlog = [
        PriorityBacklog(row.priority.name, row.pending, row.oldest_age.total_seconds())
        for row in await outbox.backlog(session, utcnow())
    ]
    return Response(exposition(backlog), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/app-config", response_model=AppConfigOut)
async def app_config(settings: SettingsDep, bot_username: BotUsernameDep) -> AppConfigOut:
    """Public settings the Mini App needs before sign-in."""
    methods = [PaymentMethod.stars] if settings.telegram_enabled else []
    if settings.stripe_api_key is not None:
        methods.append(PaymentMethod.stripe)
    return AppConfigOut(bot_username=bot_username, payment_methods=methods)
