from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.audit import service as audit
from signalhub.catalog.repository import ProductRepository
from signalhub.catalog.schemas import ProductCreate, ProductUpdate
from signalhub.errors import AppError, Conflict, NotFound
from signalhub.models import Product


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
    values = changes.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    await _change(session, product, values, actor_user_id)
    return product


class ChangeKind(StrEnum):
    created = "created"
    updated = "updated"
    deactivated = "deactivated"
    deleted = "deleted"


@dataclass(frozen=True)
class CatalogChange:
    kind: ChangeKind
    code: str
    details: str = ""

    def __str__(self) -> str:
        return f"{self.kind.value} {self.code}" + (f": {self.details}" if self.details else "")


async def apply(
    session: AsyncSession, desired: Sequence[ProductCreate], actor_user_id: int | None = None
) -> list[CatalogChange]:
    """Makes the catalog equal to `desired` and says what changed; applying it again changes
    nothing. A product missing from `desired` is deleted, or only deactivated once it has been
    paid for: the ledger and entitlements keep pointing at it."""
    repository = ProductRepository(session)
    existing = {product.code: product for product in await repository.list_all()}
    changes: list[CatalogChange] = []
    for wanted in desired:
        product = existing.pop(wanted.code, None)
        if product is None:
            await create(session, wanted, actor_user_id)
            changes.append(CatalogChange(ChangeKind.created, wanted.code))
            continue
        differences = _differences(product, wanted)
        if differences:
            await _change(session, product, _new_values(differences), actor_user_id)
            changes.append(CatalogChange(ChangeKind.updated, wanted.code, _describe(differences)))
    for product in existing.values():
        if not await repository.has_payments(product.id):
            await repository.delete(product)
            await audit.record(
                session,
                "product.deleted",
                subject_type="product",
                subject_id=product.code,
                actor_user_id=actor_user_id,
            )
            changes.append(CatalogChange(ChangeKind.deleted, product.code))
        elif product.is_active:
            await _change(session, product, {"is_active": False}, actor_user_id)
            changes.append(CatalogChange(ChangeKind.deactivated, product.code, "it has payments"))
    return changes


def _differences(product: Product, wanted: ProductCreate) -> dict[str, tuple[Any, Any]]:
    return {
        field: (getattr(product, field), value)
        for field, value in wanted.model_dump(mode="json").items()
        if field != "code" and getattr(product, field) != value
    }


def _describe(differences: dict[str, tuple[Any, Any]]) -> str:
    return ", ".join(
        f"{field} {old!r} -> {new!r}" for field, (old, new) in sorted(differences.items())
    )


def _new_values(differences: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    return {field: new for field, (_, new) in differences.items()}


async def _change(
    session: AsyncSession, product: Product, values: dict[str, Any], actor_user_id: int | None
) -> None:
    for field, value in values.items():
        setattr(product, field, value)
    await session.flush()
    await audit.record(
        session,
        "product.updated",
        subject_type="product",
        subject_id=product.code,
        actor_user_id=actor_user_id,
        data=values,
    )
