from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.entitlements import service as entitlements
from signalhub.kit.time import utcnow
from signalhub.models import Payment, Product, Role, Tier, User
from signalhub.seed import DEMO_ADMIN_TELEGRAM_ID, DEMO_TRADER_TELEGRAM_ID, seed
from signalhub.signals import service as signals


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_seed_creates_catalog_and_demo_users_once(session: AsyncSession) -> None:
    first = await seed(session)
    assert (first.products_created, first.users_created, first.payments_created) == (3, 2, 1)
    second = await seed(session)
    assert (second.products_created, second.users_created, second.payments_created) == (0, 0, 0)
    assert await count(session, Product) == 3
    assert await count(session, User) == 2
    assert await count(session, Payment) == 1

    codes = set((await session.scalars(select(Product.code))).all())
    assert codes == {"premium_monthly", "vip_monthly", "enterprise_monthly"}
    admin = await session.scalar(select(User).where(User.telegram_id == DEMO_ADMIN_TELEGRAM_ID))
    trader = await session.scalar(select(User).where(User.telegram_id == DEMO_TRADER_TELEGRAM_ID))
    assert admin is not None
    assert admin.role == Role.admin
    assert trader is not None
    assert trader.role == Role.user
    assert (await entitlements.current(session, trader.id, utcnow())).tier is Tier.premium


async def test_demo_signals_are_offered_to_the_demo_trader_once(session: AsyncSession) -> None:
    first = await seed(session, demo_signals=True)
    assert first.signals_published == 2
    assert (await seed(session, demo_signals=True)).signals_published == 0
    trader = await session.scalar(select(User).where(User.telegram_id == DEMO_TRADER_TELEGRAM_ID))
    assert trader is not None
    cards = await signals.pending(session, trader.id, utcnow())
    assert sorted(card.signal.symbol for card in cards) == ["EURUSD", "XAUUSD"]
    assert all(card.seconds_left > 23 * 3600 for card in cards)
