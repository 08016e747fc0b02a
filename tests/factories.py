"""Plain `create_*` factories writing through the real services and session."""

from __future__ import annotations

import itertools
import json
import time
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.auth import init_data
from signalhub.billing import service as billing
from signalhub.catalog import service as catalog
from signalhub.catalog.schemas import ProductCreate
from signalhub.config import Settings
from signalhub.devices import service as devices
from signalhub.entitlements import service as entitlements
from signalhub.kit.time import utcnow
from signalhub.models import Payment, PaymentProvider, PaymentStatus, Product, Role, Tier, User
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
    price_usd_cents: int = 1900,
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
            price_usd_cents=price_usd_cents,
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
    payment, _ = await billing.record_payment(
        session,
        provider=provider,
        provider_payment_id=provider_payment_id or f"pi_test_{next_id()}",
        user_id=user.id,
        product_id=product.id,
        amount_minor=product.price_usd_cents,
        currency="USD",
        status=status,
        now=now or utcnow(),
    )
    return payment


async def create_subscriber(
    session: AsyncSession,
    tier: Tier = Tier.premium,
    *,
    telegram_id: int | None = None,
    now: datetime | None = None,
    duration_days: int = 30,
) -> User:
    """A trader holding `tier` from `now` for `duration_days`, paid and granted for real."""
    user = await create_user(session, telegram_id=telegram_id)
    product = await create_product(session, tier=tier, duration_days=duration_days)
    payment = await create_payment(session, user, product, now=now)
    await entitlements.grant(session, product, payment, now or utcnow())
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
