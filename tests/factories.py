"""Plain `create_*` factories writing through the real services and session."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.accounts import service as accounts
from signalhub.accounts.schemas import LinkRequest
from signalhub.auth import init_data
from signalhub.billing.repository import PaymentRepository
from signalhub.catalog import service as catalog
from signalhub.catalog.schemas import ProductCreate
from signalhub.config import Settings
from signalhub.devices import service as devices
from signalhub.entitlements import service as entitlements
from signalhub.kit.time import utcnow
from signalhub.knowledge import service as knowledge
from signalhub.knowledge.schemas import ArticleCreate
from signalhub.models import (
    AccountLink,
    KnowledgeArticle,
    KnowledgeCategory,
    Payment,
    PaymentProvider,
    PaymentStatus,
    PositionType,
    Product,
    Role,
    SnapshotSource,
    Tier,
    TradeMode,
    User,
)
from signalhub.positions.records import AccountRecord, BrokerSnapshot, PositionRecord
from signalhub.users import service as users
from tests.conftest import TEST_BOT_TOKEN

_sequence = itertools.count(1)


def next_id() -> int:
    return next(_sequence)


async def create_user(
    session: AsyncSession, *, telegram_id: int | None = None, role: Role = Role.user
) -> User:
    telegram_id = telegram_id or 10_000_000 + next_id()
    user = await users.upsert_from_telegram(
        session,
        users.TelegramProfile(telegram_id, f"user{telegram_id}", "Trader", "en"),
        admin_telegram_ids=[telegram_id] if role == Role.admin else [],
    )
    return user


async def create_product(
    session: AsyncSession,
    *,
    tier: Tier = Tier.premium,
    code: str | None = None,
    duration_days: int = 30,
    price_amount_minor: int = 1900,
    price_stars: int = 1500,
    is_active: bool = True,
) -> Product:
    return await catalog.create(
        session,
        ProductCreate(
            code=code or f"{tier.value}_{next_id()}",
            name=tier.value.title(),
            tier=tier,
            duration_days=duration_days,
            price_amount_minor=price_amount_minor,
            price_stars=price_stars,
            features=[f"{tier.value} feature"],
            is_active=is_active,
        ),
        actor_user_id=None,
    )


async def create_payment(
    session: AsyncSession,
    user: User,
    product: Product,
    *,
    provider: PaymentProvider = PaymentProvider.stripe,
    provider_payment_id: str | None = None,
    status: PaymentStatus = PaymentStatus.succeeded,
    now: datetime | None = None,
) -> Payment:
    """A ledger row alone, nothing granted: for tests of what happens to it next."""
    now = now or utcnow()
    payment = await PaymentRepository(session).add_if_new(
        Payment(
            provider=provider,
            provider_payment_id=provider_payment_id or f"pi_test_{next_id()}",
            user_id=user.id,
            product_id=product.id,
            amount_minor=product.price_amount_minor,
            currency=product.price_currency,
            status=status,
            created_at=now,
            updated_at=now,
        )
    )
    assert payment is not None
    return payment


async def grant_tier(
    session: AsyncSession,
    user: User,
    tier: Tier,
    *,
    now: datetime | None = None,
    duration_days: int = 30,
) -> None:
    """The user holds `tier` from `now` (default: now) for `duration_days`, bought like any
    other purchase."""
    product = await create_product(session, tier=tier, duration_days=duration_days)
    payment = await create_payment(session, user, product, now=now)
    await entitlements.grant(session, product, payment, now or utcnow())


async def create_subscriber(
    session: AsyncSession,
    tier: Tier = Tier.premium,
    *,
    telegram_id: int | None = None,
    now: datetime | None = None,
    duration_days: int = 30,
) -> User:
    """A trader holding `tier` (see grant_tier)."""
    user = await create_user(session, telegram_id=telegram_id)
    await grant_tier(session, user, tier, now=now, duration_days=duration_days)
    return user


async def create_device(
    session: AsyncSession, settings: Settings, user: User, *, name: str = "Office MT5"
) -> devices.Registration:
    """A registered device and its secret; the user needs a tier that allows one more."""
    return await devices.register(session, settings, user.id, name, utcnow())


def signed_init_data(
    telegram_id: int = 424242,
    *,
    auth_date: int | None = None,
    bot_token: str = TEST_BOT_TOKEN,
    username: str = "trader",
    extra: dict[str, str] | None = None,
) -> str:
    """initData as Telegram builds it: user JSON, auth_date, query_id, signed with the bot token."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(
            {
                "id": telegram_id,
                "first_name": "Test",
                "username": username,
                "language_code": "en",
                "is_premium": True,
            },
            separators=(",", ":"),
        ),
        "auth_date": str(auth_date if auth_date is not None else int(time.time())),
        **(extra or {}),
    }
    return init_data.sign(fields, bot_token)


async def create_article(
    session: AsyncSession,
    *,
    title: str,
    body: str = "Some words.",
    slug: str | None = None,
    language: str = "en",
    category: KnowledgeCategory = KnowledgeCategory.general,
    keywords: str = "",
    is_published: bool = True,
) -> KnowledgeArticle:
    return await knowledge.create(
        session,
        ArticleCreate(
            slug=slug or f"article-{next_id()}",
            language=language,
            title=title,
            category=category,
            body=body,
            keywords=keywords,
            is_published=is_published,
        ),
        actor_user_id=None,
    )


def broker_snapshot(
    login: int = 5_123_456,
    server: str = "Simulated-Demo",
    *,
    positions: tuple[PositionRecord, ...] | None = None,
    balance: Decimal = Decimal("10000.00"),
    equity: Decimal = Decimal("9850.50"),
    as_of: datetime | None = None,
    source: SnapshotSource = SnapshotSource.ea_bridge,
) -> BrokerSnapshot:
    """What a device reports: MetaTrader's account_info() and positions_get() fields."""
    if positions is None:
        positions = (
            broker_position(ticket=1001, profit=Decimal("-120.30"), swap=Decimal("-1.20")),
            broker_position(
                ticket=1002, symbol="XAUUSD", type=PositionType.sell, profit=Decimal("-28.00")
            ),
        )
    return BrokerSnapshot(
        account=AccountRecord(
            login=login,
            server=server,
            company="Simulated Markets Ltd",
            currency="USD",
            leverage=100,
            trade_mode=TradeMode.demo,
            balance=balance,
            equity=equity,
            margin=Decimal("250.00"),
            margin_free=equity - Decimal("250.00"),
            margin_level=Decimal("3940.20"),
            profit=equity - balance,
        ),
        positions=positions,
        as_of=as_of or utcnow(),
        source=source,
    )


def broker_position(
    *,
    ticket: int = 1001,
    symbol: str = "EURUSD",
    type: PositionType = PositionType.buy,
    profit: Decimal = Decimal(0),
    swap: Decimal = Decimal(0),
    commission: Decimal | None = None,
) -> PositionRecord:
    return PositionRecord(
        ticket=ticket,
        symbol=symbol,
        type=type,
        volume=Decimal("0.10"),
        price_open=Decimal("1.08512"),
        price_current=Decimal("1.08391"),
        sl=Decimal("1.08000"),
        tp=Decimal("1.09500"),
        profit=profit,
        swap=swap,
        time=datetime(2026, 11, 30, 9, 15, tzinfo=UTC),
        magic=20_240_001,
        comment="signalhub",
        commission=commission,
    )


async def create_trader_device(session: AsyncSession, settings: Settings, user: User) -> int:
    """A registered device of `user`, on an Enterprise plan (room for 20)."""
    await grant_tier(session, user, Tier.enterprise)
    return (await create_device(session, settings, user)).device.id


async def create_account_link(
    session: AsyncSession,
    user: User,
    *,
    login: int | None = None,
    server: str = "Simulated-Demo",
    device_id: int | None = None,
    now: datetime | None = None,
) -> AccountLink:
    """Linked through the service; with `device_id` that device verifies it with a snapshot."""
    now = now or utcnow()
    login = login or 5_000_000 + next_id()
    link = await accounts.link(session, user.id, LinkRequest(mt5_login=login, server=server), now)
    if device_id is not None:
        await accounts.record_snapshot(
            session, user.id, device_id, broker_snapshot(login, server, as_of=now), now
        )
    return link
