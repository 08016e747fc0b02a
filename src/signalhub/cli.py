"""`signalhub <command>`: one entry point that plays every role of the platform."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn
from pydantic import ValidationError

from signalhub import migrations
from signalhub.config import Settings, describe_configuration_error, get_settings
from signalhub.db import Database
from signalhub.kit import logging as signalhub_logging

Handler = Callable[[argparse.Namespace, Settings], int]


def _run(coroutine: Coroutine[Any, Any, int]) -> int:
    return asyncio.run(coroutine)


def serve(args: argparse.Namespace, settings: Settings) -> int:
    uvicorn.run(
        "signalhub.app:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        log_config=None,
        proxy_headers=True,
    )
    return 0


def worker(_args: argparse.Namespace, settings: Settings) -> int:
    from signalhub.worker.runner import Worker

    async def main() -> int:
        database = Database.from_url(settings.database_url)
        try:
            await Worker(settings, database).run_forever()
        finally:
            await database.dispose()
        return 0

    return _run(main())


def bot(_args: argparse.Namespace, settings: Settings) -> int:
    """Long polling for local development without a public URL; the webhook is removed first
    because Telegram delivers to one or the other."""
    if not settings.telegram_enabled:
        print("signalhub bot: set SIGNALHUB_TELEGRAM_BOT_TOKEN", file=sys.stderr)
        return 2
    from contextlib import AsyncExitStack

    from signalhub.bot.dispatcher import create_telegram_bot
    from signalhub.worker.runner import Worker

    async def main() -> int:
        database = Database.from_url(settings.database_url)
        telegram = create_telegram_bot(settings, database)
        async with AsyncExitStack() as stack:
            stack.push_async_callback(database.dispose)
            stack.push_async_callback(telegram.close)
            if settings.worker_in_process:
                await stack.enter_async_context(Worker(settings, database).running())
            await telegram.bot.delete_webhook()
            await telegram.dispatcher.start_polling(
                telegram.bot,
                allowed_updates=telegram.allowed_updates(),
                close_bot_session=False,
            )
        return 0

    return _run(main())


def telegram(args: argparse.Namespace, settings: Settings) -> int:
    """`telegram set-webhook`: registers {PUBLIC_URL}/telegram/webhook with the secret."""
    if settings.telegram_bot_token is None or settings.telegram_webhook_secret is None:
        print(
            "signalhub telegram: set SIGNALHUB_TELEGRAM_BOT_TOKEN and "
            "SIGNALHUB_TELEGRAM_WEBHOOK_SECRET",
            file=sys.stderr,
        )
        return 2
    from signalhub.bot.dispatcher import create_telegram_bot

    secret = settings.telegram_webhook_secret.get_secret_value()
    url = f"{settings.public_url.rstrip('/')}/telegram/webhook"

    async def main() -> int:
        database = Database.from_url(settings.database_url)
        telegram_bot = create_telegram_bot(settings, database)
        try:
            allowed = telegram_bot.allowed_updates()
            await telegram_bot.bot.set_webhook(
                url=url, secret_token=secret, allowed_updates=allowed
            )
            info = await telegram_bot.bot.get_webhook_info()
        finally:
            await telegram_bot.close()
            await database.dispose()
        print(f"webhook set: {info.url} (updates: {', '.join(info.allowed_updates or allowed)})")
        if info.last_error_message:
            print(f"last delivery error: {info.last_error_message}")
        return 0

    return _run(main())


def migrate(args: argparse.Namespace, settings: Settings) -> int:
    async def main() -> int:
        database = Database.from_url(settings.database_url)
        try:
            if args.downgrade:
                await migrations.downgrade(database, args.downgrade)
            else:
                await migrations.upgrade(database, args.revision)
        finally:
            await database.dispose()
        return 0

    return _run(main())


def seed(_args: argparse.Namespace, settings: Settings) -> int:
    from signalhub.seed import seed as seed_demo_data

    async def main() -> int:
        database = Database.from_url(settings.database_url)
        try:
            async with database.transaction() as session:
                report = await seed_demo_data(session)
        finally:
            await database.dispose()
        print(
            f"seeded: {report.products_created} products, {report.users_created} users, "
            f"{report.payments_created} payments created"
        )
        return 0

    return _run(main())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="signalhub", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser(
        "serve", help="HTTP API and bot webhook (+ worker on SQLite)"
    )
    serve_parser.add_argument("--host")
    serve_parser.add_argument("--port", type=int)
    serve_parser.add_argument("--workers", type=int, default=1, help="API processes")
    serve_parser.set_defaults(handler=serve)

    commands.add_parser("worker", help="outbox sender and scheduled jobs").set_defaults(
        handler=worker
    )

    bot_parser = commands.add_parser("bot", help="run the Telegram bot by long polling (local)")
    # Required: production receives updates by webhook (`serve`), never by polling.
    bot_parser.add_argument("--polling", action="store_true", required=True)
    bot_parser.set_defaults(handler=bot)

    telegram_parser = commands.add_parser("telegram", help="Telegram set-up")
    telegram_parser.add_argument("action", choices=["set-webhook"])
    telegram_parser.set_defaults(handler=telegram)

    migrate_parser = commands.add_parser("migrate", help="apply database migrations")
    migrate_parser.add_argument("--revision", default="head")
    migrate_parser.add_argument("--downgrade", metavar="REVISION")
    migrate_parser.set_defaults(handler=migrate)

    commands.add_parser("seed", help="catalog and demo users (idempotent)").set_defaults(
        handler=seed
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as error:
        print(
            f"signalhub: configuration error:\n{describe_configuration_error(error)}",
            file=sys.stderr,
        )
        return 2
    signalhub_logging.configure(settings.log_level)
    handler: Handler = args.handler
    return handler(args, settings)


if __name__ == "__main__":
    sys.exit(main())
