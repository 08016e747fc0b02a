from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from signalhub.dependencies import DatabaseDep, SettingsDep
from signalhub.models import PaymentMethod

router = APIRouter(tags=["operations"])


class AppConfigOut(BaseModel):
    bot_username: str | None
    # What `POST /api/v1/payments` can open here, Stars first.
    payment_methods: list[PaymentMethod]


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Database unreachable"}})
async def readyz(database: DatabaseDep) -> Response:
    """Ready to serve: the database answers."""
    if await database.ping():
        return JSONResponse({"status": "ready", "database": "ok"})
    return JSONResponse(
        {"error": {"code": "database_unavailable", "message": "The database does not answer."}},
        status_code=503,
    )


@router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    """Prometheus text exposition."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/app-config", response_model=AppConfigOut)
async def app_config(settings: SettingsDep) -> AppConfigOut:
    """Public settings the Mini App needs before sign-in."""
    methods = [PaymentMethod.stars] if settings.telegram_enabled else []
    if settings.stripe_api_key is not None:
        methods.append(PaymentMethod.stripe)
    return AppConfigOut(bot_username=settings.telegram_bot_username, payment_methods=methods)
