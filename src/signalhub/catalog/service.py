from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.audit import service as audit
from signalhub.catalog.repository import ProductRepository
from signalhub.catalog.schemas import ProductCreate, ProductUpdate
from signalhub.errors import AppError, Conflict, NotFound, Unprocessable
from signalhub.models import Product, Tier


async def list_active(session: AsyncSession) -> Sequence[Product]:
    return await ProductRepository(session).list_active()


async def get_by_code(session: AsyncSession, code: str) -> Product:
    product = await ProductRepository(session).get_by_code(code)
    if product is None:
        raise NotFound(f"No product '{code}'.", code="product_not_found")
    return product


class InvalidProduct(AppError):
    status_code = 400
    code = "invalid_product"


async def get_on_sale(session: AsyncSession, code: str) -> Product:
    """The product to sell, or 400: an unknown or inactive code is the buyer's mistake."""
    product = await ProductRepository(session).get_by_code(code)
    if product is None or not product.is_active:
        raise InvalidProduct("This product is no longer on sale.")
    return product


async def find_by_code(session: AsyncSession, code: str) -> Product | None:
    return await ProductRepository(session).get_by_code(code)


async def get(session: AsyncSession, product_id: int) -> Product | None:
    return await ProductRepository(session).get(product_id)


async def create(session: AsyncSession, data: ProductCreate, actor_user_id: int | None) -> Product:
    if data.tier is Tier.free:
        raise Unprocessable("The free tier is not sold.", code="free_tier_not_sold")
    repository = ProductRepository(session)
    if await repository.get_by_code(data.code) is not None:
        raise Conflict(f"Product '{data.code}' already exists.", code="product_exists")
    product = await repository.add(Product(**data.model_dump()))
    await audit.record(
        session,
        "product.created",
        subject_type="product",
        subject_id=product.code,
        actor_user_id=actor_user_id,
        data=data.model_dump(mode="json"),
    )
    return product


async def update(
    session: AsyncSession, code: str, changes: ProductUpdate, actor_user_id: int | None
) -> Product:
    product = await get_by_code(session, code)
    values = changes.model_dump(exclude_unset=True, exclude_none=True)
    for field, value in values.items():
        setattr(product, field, value)
    await session.flush()
    await audit.record(
        session,
        "product.updated",
        subject_type="product",
        subject_id=product.code,
        actor_user_id=actor_user_id,
        data=changes.model_dump(mode="json", exclude_unset=True),
    )
    return product
