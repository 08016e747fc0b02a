"""Demo data for `make run`: the catalog, a demo admin and a demo trader with a paid month.
Safe to run again: everything is looked up by its natural key first."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing import settlement
from signalhub.billing.repository import PaymentRepository
from signalhub.billing.settlement import FACTS_KEY
from signalhub.billing.state import PaymentFacts
from signalhub.catalog import service as catalog
from signalhub.catalog.schemas import ProductCreate
from signalhub.entitlements import service as entitlements
from signalhub.kit.time import utcnow
from signalhub.models import Payment, PaymentProvider, PaymentStatus, Role, Tier, User
from signalhub.signals import service as signals
from signalhub.signals.schemas import MAX_TTL_S, SignalCreate
from signalhub.users import service as users

logger = logging.getLogger("signalhub.seed")

DEMO_ADMIN_TELEGRAM_ID = 100000001
DEMO_TRADER_TELEGRAM_ID = 100000002
DEMO_PAYMENT_ID = "pi_demo_seed_premium"

PRODUCTS = (
    ProductCreate(
        code="premium_monthly",
        name="Premium",
        description="Every signal, approved from Telegram, executed by one MT5 terminal.",
        tier=Tier.premium,
        duration_days=30,
        price_amount_minor=1900,
        price_stars=1500,
        features=["All signals in real time", "One MT5 device", "Approve or reject in one tap"],
    ),
    ProductCreate(
        code="vip_monthly",
        name="VIP",
        description="Premium plus more terminals and priority delivery.",
        tier=Tier.vip,
        duration_days=30,
        price_amount_minor=4900,
        price_stars=3800,
        features=["Everything in Premium", "Up to 3 MT5 devices", "Priority signal delivery"],
    ),
    ProductCreate(
        code="enterprise_monthly",
        name="Enterprise",
        description="For desks: many terminals and direct support.",
        tier=Tier.enterprise,
        duration_days=30,
        price_amount_minor=19900,
        price_stars=15000,
        features=["Everything in VIP", "Up to 20 MT5 devices", "Direct support line"],
    ),
)


DEMO_SIGNALS = (
    SignalCreate(
        symbol="EURUSD",
        side="buy",
        entry_price="1.0850",
        stop_loss="1.0820",
        take_profits=["1.0900", "1.0950"],
        note="Demo: breakout above the Asian range.",
        expires_in_s=MAX_TTL_S,
    ),
    SignalCreate(
        symbol="XAUUSD",
        side="sell",
        order_type="limit",
        entry_price="2415.50",
        stop_loss="2428.00",
        take_profits=["2398.00"],
        note="Demo: fade into resistance.",
        expires_in_s=MAX_TTL_S,
    ),
)


@dataclass(frozen=True)
class SeedReport:
    products_created: int
    users_created: int
    payments_created: int
    signals_published: int = 0


async def seed(session: AsyncSession, *, demo_signals: bool = False) -> SeedReport:
    """`demo_signals` (development): two signals from the demo admin, offered at once, unless
    some of theirs are still active."""
    now = utcnow()
    products_created = 0
    for product in PRODUCTS:
        if await catalog.find_by_code(session, product.code) is None:
            await catalog.create(session, product, actor_user_id=None)
            products_created += 1

    users_created = 0
    demo_users = (
        (DEMO_ADMIN_TELEGRAM_ID, "demo_admin", "Demo Admin"),
        (DEMO_TRADER_TELEGRAM_ID, "demo_trader", "Demo Trader"),
    )
    for telegram_id, username, first_name in demo_users:
        if await users.get_by_telegram_id(session, telegram_id) is None:
            users_created += 1
        await users.upsert_from_telegram(
            session,
            users.TelegramProfile(telegram_id, username, first_name, "en"),
            admin_telegram_ids=[DEMO_ADMIN_TELEGRAM_ID],
        )

    trader = await users.get_by_telegram_id(session, DEMO_TRADER_TELEGRAM_ID)
    premium = await catalog.get_by_code(session, "premium_monthly")
    assert trader is not None
    assert trader.role == Role.user
    # Demo data, not a sale: the ledger row and its month are written directly, without the
    # receipt settlement would queue for a Telegram account that does not exist.
    await settlement.lock_money(session, trader.id)
    repository = PaymentRepository(session)
    payment = await repository.add_if_new(
        Payment(
            provider=PaymentProvider.stripe,
            provider_payment_id=DEMO_PAYMENT_ID,
            user_id=trader.id,
            product_id=premium.id,
            amount_minor=premium.price_amount_minor,
            currency=premium.price_currency,
            status=PaymentStatus.succeeded,
            details={"seeded": True, FACTS_KEY: PaymentFacts(succeeded=True).to_json()},
            created_at=now,
            updated_at=now,
        )
    )
    if payment is not None:
        await entitlements.grant(session, premium, payment, now)
    published = await _publish_demo_signals(session, now) if demo_signals else 0
    report = SeedReport(products_created, users_created, int(payment is not None), published)
    logger.info("seeded", extra=report.__dict__)
    return report


async def _publish_demo_signals(session: AsyncSession, now: datetime) -> int:
    admin = await users.get_by_telegram_id(session, DEMO_ADMIN_TELEGRAM_ID)
    assert isinstance(admin, User)
    if await signals.any_active_from(session, admin.id, now):
        return 0
    for demo in DEMO_SIGNALS:
        await signals.publish(session, demo, admin.id, now)
    # Offered here rather than by the worker, so the cards are there even before it runs.
    while await signals.fan_out_batch(session, now, batch_size=500) is not None:
        pass
    return len(DEMO_SIGNALS)
