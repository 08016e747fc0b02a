"""Every HTTP router, in one place."""

from __future__ import annotations

from fastapi import APIRouter

from signalhub.accounts.routes import ea_snapshot_router
from signalhub.accounts.routes import router as accounts_router
from signalhub.auth.routes import oauth_router
from signalhub.auth.routes import router as auth_router
from signalhub.billing.routes import router as billing_router
from signalhub.billing.stripe.routes import router as stripe_router
from signalhub.bot.routes import router as telegram_router
from signalhub.catalog.routes import router as catalog_router
from signalhub.devices.routes import ea_router
from signalhub.devices.routes import router as devices_router
from signalhub.knowledge.routes import router as knowledge_router
from signalhub.marketing.routes import redirect_router as cta_redirect_router
from signalhub.marketing.routes import router as marketing_router
from signalhub.miniapp.routes import router as miniapp_router
from signalhub.ops.routes import router as ops_router
from signalhub.positions.routes import router as positions_router
from signalhub.signals.routes import router as signals_router
from signalhub.users.routes import router as users_router

router = APIRouter()
# A request is matched against the routes in this order, one by one. The machines' endpoints come
# first: Stripe's and Telegram's webhooks and the EA API take most of the traffic, and matching a
# webhook behind every other route was 7 % of its CPU. No two routers share a path, so the order
# changes nothing else (the Mini App's catch-all stays last).
for domain_router in (
    stripe_router,
    telegram_router,
    ea_router,
    ea_snapshot_router,
    ops_router,
    auth_router,
    oauth_router,
    users_router,
    catalog_router,
    knowledge_router,
    billing_router,
    marketing_router,
    cta_redirect_router,
    accounts_router,
    positions_router,
    devices_router,
    signals_router,
    miniapp_router,
):
    router.include_router(domain_router)
