"""The ASGI application: `create_app()` builds it for `signalhub serve`, tests and benchmarks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from signalhub import api
from signalhub.accounts.routes import SNAPSHOT_MAX_BODY_BYTES, SNAPSHOT_PATH
from signalhub.billing.stripe.client import StripeApi
from signalhub.bot.dispatcher import create_telegram_bot
from signalhub.bot.identity import BotIdentity
from signalhub.config import Settings, get_settings
from signalhub.db import Database
from signalhub.devices.bridge import Handover
from signalhub.devices.nonces import build_nonce_store
from signalhub.devices.routes import EA_MAX_BODY_BYTES, EA_PATH_PREFIX
from signalhub.devices.traffic import DeviceTraffic, device_connections
from signalhub.errors import AppError
from signalhub.kit import logging as signalhub_logging
from signalhub.kit.logging import masker
from signalhub.kit.memory import freeze_startup_heap
from signalhub.kit.ratelimit import build_rate_limiter
from signalhub.miniapp.location import candidates, find_dist
from signalhub.ops import openapi
from signalhub.ops.middleware import RequestMiddleware
from signalhub.positions.reader import build_positions_reader
from signalhub.users.cache import build_user_cache
from signalhub.worker.runner import Worker

logger = logging.getLogger("signalhub")


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    owns_database = database is None
    database = database or Database.from_settings(settings)
    _register_secrets(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            _log_configuration(settings)
            if settings.telegram_enabled:
                telegram = create_telegram_bot(settings, database)
                stack.push_async_callback(telegram.close)
                app.state.telegram = telegram
                app.state.bot_identity = BotIdentity(settings.telegram_bot_username, telegram.bot)
                await app.state.bot_identity.username()
            if settings.stripe_api_key is not None:
                stripe = StripeApi(settings)
                stack.push_async_callback(stripe.aclose)
                app.state.stripe = stripe
            if settings.worker_in_process:
                worker = Worker(settings, database)
                await stack.enter_async_context(worker.running())
            stack.push_async_callback(app.state.rate_limiter.close)
            stack.push_async_callback(app.state.positions_reader.close)
            stack.push_async_callback(app.state.nonce_store.close)
            stack.push_async_callback(app.state.handover.close)
            if owns_database:
                stack.push_async_callback(database.dispose)
            await stack.enter_async_context(app.state.user_cache.running())
            yield

    app = FastAPI(
        title="signalhub",
        version="0.1.0",
        summary="Paid trading signals on Telegram: bot, Mini App, Stripe and Stars billing.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.rate_limiter = build_rate_limiter(settings.redis_url)
    app.state.positions_reader = build_positions_reader(settings, database)
    app.state.user_cache = build_user_cache(database, settings.user_cache_ttl_s)
    app.state.nonce_store = build_nonce_store(settings.redis_url)
    app.state.handover = Handover(database, timedelta(seconds=settings.ea_lease_s))
    app.state.device_traffic = DeviceTraffic(database, device_connections(settings))
    app.state.telegram = None
    app.state.bot_identity = BotIdentity(settings.telegram_bot_username, None)
    app.state.stripe = None
    app.include_router(api.router)
    openapi.install(app)
    _install_error_handlers(app)
    app.add_middleware(
        RequestMiddleware,
        max_bytes=settings.max_body_bytes,
        read_timeout_s=settings.body_read_timeout_s,
        path_limits={EA_PATH_PREFIX: EA_MAX_BODY_BYTES, SNAPSHOT_PATH: SNAPSHOT_MAX_BODY_BYTES},
    )
    return app


def create_served_app() -> FastAPI:
    """The factory `signalhub serve` gives uvicorn. Every worker process of `--workers N` is a
    fresh interpreter that imports and calls it, so logging (JSON lines, masking) is set up
    here, in the process that serves, not only in the one that parsed the command line."""
    settings = get_settings()
    signalhub_logging.configure(settings.log_level)
    app = create_app(settings)
    freeze_startup_heap()
    return app


def _register_secrets(settings: Settings) -> None:
    for secret in (
        settings.jwt_secret,
        settings.telegram_bot_token,
        settings.telegram_webhook_secret,
        settings.stripe_api_key,
        settings.device_secret_key,
        *settings.stripe_webhook_secret,
    ):
        if secret is not None:
            masker.add(secret.get_secret_value())


def _log_configuration(settings: Settings) -> None:
    backend = "SQLite" if settings.is_sqlite else "PostgreSQL"
    logger.info(
        "starting",
        extra={
            "env": settings.env.value,
            "database": backend,
            "cache": "redis" if settings.redis_url else "memory",
            "worker": "in-process" if settings.worker_in_process else "separate process",
        },
    )
    if not settings.telegram_enabled:
        logger.info("telegram disabled: set SIGNALHUB_TELEGRAM_BOT_TOKEN to enable the bot")
    if not settings.stripe_enabled:
        logger.info("stripe disabled: set SIGNALHUB_STRIPE_API_KEY to enable Stripe payments")
    if find_dist(settings) is None:
        logger.warning(
            "mini app not built: /miniapp/ answers a page saying how to build it",
            extra={"looked_in": [str(directory) for directory in candidates(settings)]},
        )


def error_body(
    code: str, message: str, details: dict[str, str | int] | None = None
) -> dict[str, dict[str, str | int]]:
    return {"error": {**(details or {}), "code": code, "message": message}}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(_request: Request, error: AppError) -> JSONResponse:
        return JSONResponse(
            error_body(error.code, error.message, error.details),
            status_code=error.status_code,
            headers=error.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()
        ]
        body = error_body("validation_error", "; ".join(problems) or "Invalid request.")
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        phrase = HTTPStatus(error.status_code).phrase
        code = phrase.lower().replace(" ", "_").replace("-", "_")
        message = error.detail if isinstance(error.detail, str) else phrase
        headers = dict(error.headers or {})
        if error.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
            headers["Allow"] = ", ".join(openapi.allowed_methods(app, request.url.path))
        return JSONResponse(
            error_body(code, message), status_code=error.status_code, headers=headers
        )

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": request.url.path})
        return JSONResponse(
            error_body("internal_error", "Something went wrong on our side; it was logged."),
            status_code=500,
        )
