from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.models import AuditLog, Product
from tests.factories import create_product
from tests.helpers import bearer_for

ADMIN_TELEGRAM_ID = 900  # listed in the test settings' ADMIN_TELEGRAM_IDS

NEW_PRODUCT = {
    "code": "vip_quarterly",
    "name": "VIP quarterly",
    "tier": "vip",
    "duration_days": 90,
    "price_amount_minor": 12900,
    "price_stars": 9900,
    "features": ["Everything in VIP"],
}


async def test_catalog_lists_only_active_products_cheapest_first(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await create_product(session, code="b_vip", price_amount_minor=4900)
    await create_product(session, code="a_premium", price_amount_minor=1900)
    await create_product(session, code="retired", is_active=False)
    await session.commit()
    response = await client.get("/api/v1/catalog")
    assert response.status_code == 200
    assert [item["code"] for item in response.json()] == ["a_premium", "b_vip"]


async def test_admin_creates_and_updates_a_product(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    headers = await bearer_for(client, ADMIN_TELEGRAM_ID)
    created = await client.post("/api/v1/admin/products", json=NEW_PRODUCT, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["tier"] == "vip"

    updated = await client.patch(
        "/api/v1/admin/products/vip_quarterly",
        json={"price_stars": 9500, "is_active": False},
        headers=headers,
    )
    assert updated.status_code == 200
    assert updated.json()["price_stars"] == 9500
    assert updated.json()["is_active"] is False
    assert "vip_quarterly" not in [p["code"] for p in (await client.get("/api/v1/catalog")).json()]

    actions = (
        await session.scalars(select(AuditLog.action).where(AuditLog.subject_id == "vip_quarterly"))
    ).all()
    assert actions == ["product.created", "product.updated"]


async def test_duplicate_code_is_409(client: httpx.AsyncClient) -> None:
    headers = await bearer_for(client, ADMIN_TELEGRAM_ID)
    await client.post("/api/v1/admin/products", json=NEW_PRODUCT, headers=headers)
    again = await client.post("/api/v1/admin/products", json=NEW_PRODUCT, headers=headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "product_exists"


async def test_unknown_product_is_404(client: httpx.AsyncClient) -> None:
    headers = await bearer_for(client, ADMIN_TELEGRAM_ID)
    response = await client.patch(
        "/api/v1/admin/products/nope", json={"price_stars": 1}, headers=headers
    )
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "product_not_found",
        "message": "No product 'nope'.",
    }


async def test_non_admin_is_403_and_anonymous_is_401(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    headers = await bearer_for(client, 7001)
    forbidden = await client.post("/api/v1/admin/products", json=NEW_PRODUCT, headers=headers)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "admin_only"
    anonymous = await client.post("/api/v1/admin/products", json=NEW_PRODUCT)
    assert anonymous.status_code == 401
    assert await session.scalar(select(Product).where(Product.code == "vip_quarterly")) is None


@pytest.mark.parametrize(
    "change",
    [
        {"price_amount_minor": "cheap"},
        {"tier": "platinum"},
        {"duration_days": 0},
        {"code": "Has Spaces"},
        {"unexpected": True},
    ],
)
async def test_invalid_product_is_422(client: httpx.AsyncClient, change: dict[str, object]) -> None:
    headers = await bearer_for(client, ADMIN_TELEGRAM_ID)
    response = await client.post(
        "/api/v1/admin/products", json={**NEW_PRODUCT, **change}, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_free_tier_cannot_be_sold(client: httpx.AsyncClient) -> None:
    headers = await bearer_for(client, ADMIN_TELEGRAM_ID)
    response = await client.post(
        "/api/v1/admin/products", json={**NEW_PRODUCT, "tier": "free"}, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert "body.tier" in response.json()["error"]["message"]
