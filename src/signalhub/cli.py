"""`signalhub <command>`: one entry point that plays every role of the platform."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn
from pydantic import ValidationError

from signalhub import migrations
from signalhub.config import Environment, Settings, describe_configuration_error, get_settings
from signalhub.db import Database
from signalhub.errors import AppError
from signalhub.kit import logging as signalhub_logging
from signalhub.kit.memory import freeze_startup_heap
from signalhub.ops import multiprocess as metrics_multiprocess
from signalhub.ops.protocol import NoDelayHttpToolsProtocol

if TYPE_CHECKING:
    from signalhub.knowledge.service import FaqSeedReport

Handler = Callable[[argparse.Namespace, Settings], int]
WORKER_HEALTHCHECK_TIMEOUT_S = 60


def _with_database(
    settings: Settings,
    work: Callable[[Database], Awaitable[int]],
    *,
    report_app_errors: bool = False,
) -> int:
    """Runs `work`; with `report_app_errors`, a domain error is printed and exits 1."""

    async def main() -> int:
        database = Database.from_settings(settings)
        try:
            return await work(database)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except AppError as error:
        if not report_app_errors:
            raise
        print(f"signalhub: {error.message}", file=sys.stderr)
        return 1


def serve(args: argparse.Namespace, settings: Settings) -> int:
    own_metrics_dir = metrics_multiprocess.enable(settings.metrics_dir, processes=args.workers)
    try:
        uvicorn.run(
            "signalhub.app:create_served_app",
            factory=True,
            host=args.host or settings.host,
            port=args.port or settings.port,
            workers=args.workers,
            # Logging is ours (`create_served_app` sets it up in every worker), and so is the
            # access line: uvicorn's would log the path with its query string, unmasked.
            log_config=None,
            access_log=False,
            proxy_headers=True,
            # The standard library's loop, not uvloop: a saturated uvloop server left some
            # connections unread for hundreds of milliseconds while it served the others
            # (GET /me at 64 connections: p99 130-270 ms, max 700 ms; the same app on asyncio's
            # loop: p99 24 ms, max 31 ms, at the same throughput; see bench/results/me.json).
            loop="asyncio",
            http=NoDelayHttpToolsProtocol,
            # A worker answers health checks only once it has re-imported this module, which
            # takes over uvicorn's 5 s default on a loaded host: it was killed in a loop.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_TIMEOUT_S,
            # Long polls (EA) and event streams would otherwise hold a restart for their full
            # wait; their clients reconnect.
            timeout_graceful_shutdown=5,
        )
    finally:
        if own_metrics_dir is not None:
            shutil.rmtree(own_metrics_dir, ignore_errors=True)
    return 0


def worker(_args: argparse.Namespace, settings: Settings) -> int:
    metrics_multiprocess.enable(settings.metrics_dir, processes=1)
    from signalhub.worker.runner import Worker

    async def run_forever(database: Database) -> int:
        worker = Worker(settings, database)
        freeze_startup_heap()
        await worker.run_forever()
        return 0

    return _with_database(settings, run_forever)


def bot(_args: argparse.Namespace, settings: Settings) -> int:
    """Long polling for local development without a public URL; the webhook is removed first
    because Telegram delivers to one or the other."""
    if not settings.telegram_enabled:
        print("signalhub bot: set SIGNALHUB_TELEGRAM_BOT_TOKEN", file=sys.stderr)
        return 2
    from contextlib import AsyncExitStack

    from signalhub.bot.dispatcher import create_telegram_bot
    from signalhub.worker.runner import Worker

    async def poll(database: Database) -> int:
        telegram = create_telegram_bot(settings, database)
        async with AsyncExitStack() as stack:
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

    return _with_database(settings, poll)


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

    async def set_webhook(database: Database) -> int:
        telegram_bot = create_telegram_bot(settings, database)
        try:
            allowed = telegram_bot.allowed_updates()
            await telegram_bot.bot.set_webhook(
                url=url, secret_token=secret, allowed_updates=allowed
            )
            info = await telegram_bot.bot.get_webhook_info()
        finally:
            await telegram_bot.close()
        print(f"webhook set: {info.url} (updates: {', '.join(info.allowed_updates or allowed)})")
        if info.last_error_message:
            print(f"last delivery error: {info.last_error_message}")
        return 0

    return _with_database(settings, set_webhook)


def migrate(args: argparse.Namespace, settings: Settings) -> int:
    async def apply(database: Database) -> int:
        if args.downgrade:
            await migrations.downgrade(database, args.downgrade)
        else:
            await migrations.upgrade(database, args.revision)
        return 0

    return _with_database(settings, apply)


def seed(_args: argparse.Namespace, settings: Settings) -> int:
    from signalhub.knowledge.service import seed_faq
    from signalhub.seed import SeedRefused, refuse_in_production
    from signalhub.seed import seed as seed_demo_data

    try:
        refuse_in_production(settings)
    except SeedRefused as refusal:
        print(f"signalhub: {refusal}", file=sys.stderr)
        return 2

    async def run_seed(database: Database) -> int:
        async with database.transaction() as session:
            report = await seed_demo_data(
                session, demo_signals=settings.env is Environment.development
            )
            faq_report = await seed_faq(session)
        print(
            f"seeded: {report.products_created} products, {report.users_created} users, "
            f"{report.payments_created} payments, {report.signals_published} signals created"
        )
        print(_faq_summary(faq_report))
        return 0

    return _with_database(settings, run_seed)


def seed_faq_command(_args: argparse.Namespace, settings: Settings) -> int:
    from signalhub.knowledge.service import seed_faq

    async def run_seed_faq(database: Database) -> int:
        async with database.transaction() as session:
            report = await seed_faq(session)
        print(_faq_summary(report))
        return 0

    return _with_database(settings, run_seed_faq)


def _faq_summary(report: FaqSeedReport) -> str:
    return (
        f"FAQ: {report.created} articles created, {report.updated} updated, "
        f"{report.unchanged} unchanged"
    )


def demo_link(_args: argparse.Namespace, settings: Settings) -> int:
    from signalhub.auth.demo import DemoLinkRefused, launch_url
    from signalhub.kit.time import utcnow
    from signalhub.seed import DEMO_TRADER_TELEGRAM_ID

    try:
        print(launch_url(settings, DEMO_TRADER_TELEGRAM_ID, "Demo Trader", utcnow()))
    except DemoLinkRefused as refusal:
        print(f"signalhub: {refusal}", file=sys.stderr)
        return 2
    return 0


def stripe_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from signalhub.billing.stripe.client import StripeApi
    from signalhub.billing.stripe.service import reconcile
    from signalhub.kit.time import utcnow

    async def run_reconcile(database: Database) -> int:
        api = StripeApi(settings)
        try:
            report = await reconcile(database, settings, api, utcnow() - args.since)
        finally:
            await api.aclose()
        print(report.summary())
        return 0

    return _with_database(settings, run_reconcile, report_app_errors=True)


def catalog_apply(args: argparse.Namespace, settings: Settings) -> int:
    from signalhub.catalog import service as catalog
    from signalhub.catalog.file import CatalogFileError, read_catalog_file

    try:
        desired = read_catalog_file(args.file)
    except CatalogFileError as error:
        print(f"signalhub: {args.file}: {error}", file=sys.stderr)
        return 2

    async def apply(database: Database) -> int:
        async with database.transaction() as session:
            changes = await catalog.apply(session, desired.products)
        for change in changes:
            print(change)
        print(f"catalog: {len(changes) or 'no'} changes, {len(desired.products)} products in file")
        return 0

    return _with_database(settings, apply, report_app_errors=True)


def admin_promote(args: argparse.Namespace, settings: Settings) -> int:
    from signalhub.users import service as users

    async def promote(database: Database) -> int:
        async with database.transaction() as session:
            promoted = await users.promote_to_admin(session, args.telegram_id)
        print(f"{args.telegram_id} is {'now' if promoted else 'already'} an admin")
        return 0

    return _with_database(settings, promote)


def telegram_id(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 2**63 - 1:
        raise argparse.ArgumentTypeError(f"not a Telegram user id: {text!r}")
    return int(text)


def openapi(args: argparse.Namespace, settings: Settings) -> int:
    """The HTTP contract as JSON, for the Mini App's generated types (`make api-types`)."""
    import json

    from signalhub.app import create_app

    schema = create_app(settings).openapi()
    text = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def device_run(args: argparse.Namespace, _settings: Settings) -> int:
    """A simulated device: polls the signed EA API and fills what it receives; with an account,
    also reports that account's snapshot (a seeded random walk) every few seconds."""
    from decimal import Decimal

    from signalhub.devices.client import (
        DeviceClient,
        DeviceRefused,
        SimulatedBroker,
        push_snapshots,
        run,
    )
    from signalhub.positions.gateway import SimulatedGateway

    last_status: list[str | None] = [None]

    def report_link(answer: dict[str, Any]) -> None:
        if answer["status"] != last_status[0]:
            last_status[0] = answer["status"]
            print(answer["message"], flush=True)

    async def run_device() -> int:
        client = DeviceClient(args.url, args.id, args.secret)
        broker = SimulatedBroker(Decimal(args.volume))
        work = [run(client, broker, on_fill=lambda fill: print(fill.describe(), flush=True))]
        if args.account_login is not None:
            work.append(
                push_snapshots(
                    client,
                    SimulatedGateway(args.seed),
                    args.account_login,
                    args.account_server,
                    every_s=args.snapshot_every,
                    on_answer=report_link,
                )
            )
        try:
            await asyncio.gather(*work)
        except DeviceRefused as refusal:
            print(f"signalhub device: refused: {refusal}", file=sys.stderr)
            return 1
        finally:
            await client.aclose()
        return 0

    print(f"device {args.id} polling {args.url}", flush=True)
    try:
        return asyncio.run(run_device())
    except KeyboardInterrupt:
        return 0


_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def duration(text: str) -> timedelta:
    """`90s`, `30m`, `72h`, `7d`."""
    unit = _DURATION_UNITS.get(text[-1:])
    if unit is None or not text[:-1].isdigit():
        raise argparse.ArgumentTypeError(f"not a duration like 72h or 7d: {text!r}")
    return timedelta(**{unit: int(text[:-1])})


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

    commands.add_parser("seed", help="catalog, demo users and the FAQ (idempotent)").set_defaults(
        handler=seed
    )
    commands.add_parser(
        "seed-faq", help="the FAQ articles in every language (idempotent, updates by slug)"
    ).set_defaults(handler=seed_faq_command)
    commands.add_parser(
        "demo-link", help="development only: a URL opening the Mini App as the demo trader"
    ).set_defaults(handler=demo_link)

    catalog_parser = commands.add_parser("catalog", help="the products on sale")
    catalog_commands = catalog_parser.add_subparsers(dest="catalog_command", required=True)
    apply_parser = catalog_commands.add_parser(
        "apply", help="make the catalog match a YAML file (see catalog.example.yaml); idempotent"
    )
    apply_parser.add_argument("file", type=Path)
    apply_parser.set_defaults(handler=catalog_apply)

    admin_parser = commands.add_parser("admin", help="administrators")
    admin_commands = admin_parser.add_subparsers(dest="admin_command", required=True)
    promote_parser = admin_commands.add_parser("promote", help="make a Telegram user an admin")
    promote_parser.add_argument("telegram_id", type=telegram_id)
    promote_parser.set_defaults(handler=admin_promote)

    openapi_parser = commands.add_parser("openapi", help="print the OpenAPI document (JSON)")
    openapi_parser.add_argument("--output", type=Path, help="write to this file instead")
    openapi_parser.set_defaults(handler=openapi)

    stripe_parser = commands.add_parser("stripe", help="Stripe payments")
    stripe_commands = stripe_parser.add_subparsers(dest="stripe_command", required=True)
    reconcile_parser = stripe_commands.add_parser(
        "reconcile", help="process the events Stripe has that never reached the webhook"
    )
    reconcile_parser.add_argument(
        "--since", type=duration, default=timedelta(hours=72), help="e.g. 72h (default), 7d"
    )
    reconcile_parser.set_defaults(handler=stripe_reconcile)

    device_parser = commands.add_parser("device", help="EA devices")
    device_commands = device_parser.add_subparsers(dest="device_command", required=True)
    run_parser = device_commands.add_parser(
        "run", help="a simulated EA: poll for approved signals, fill them, acknowledge"
    )
    run_parser.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8000")
    run_parser.add_argument("--id", type=int, required=True, help="the device id")
    run_parser.add_argument("--secret", required=True, help="the secret shown at registration")
    run_parser.add_argument(
        "--fill-price-from",
        choices=["simulated"],
        default="simulated",
        help="where fill prices come from (simulated: the signal's entry price)",
    )
    run_parser.add_argument("--volume", default="0.10", help="lots per order (default 0.10)")
    run_parser.add_argument(
        "--account-login", type=int, help="report this MT5 account's snapshots (simulated)"
    )
    run_parser.add_argument(
        "--account-server", default="Simulated-Demo", help="its trade server's name"
    )
    run_parser.add_argument(
        "--snapshot-every", type=float, default=5.0, help="seconds between snapshots (min 1)"
    )
    run_parser.add_argument("--seed", type=int, default=7, help="seed of the simulated account")
    run_parser.set_defaults(handler=device_run)
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
