from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from signalhub.auth.dependencies import AdminUser
from signalhub.catalog import service
from signalhub.catalog.schemas import (
    PRODUCT_CODE_PATTERN,
    ProductCreate,
    ProductOut,
    ProductUpdate,
)
from signalhub.dependencies import SessionDep
from signalhub.errors import error_responses

router = APIRouter(prefix="/api/v1", tags=["catalog"])


@router.get("/catalog", response_model=list[ProductOut])
async def list_catalog(session: SessionDep) -> list[ProductOut]:
    return [ProductOut.model_validate(product) for product in await service.list_active(session)]


@router.post(
    "/admin/products",
    response_model=ProductOut,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409, described={409: "product_exists"}),
)
async def create_product(body: ProductCreate, admin: AdminUser, session: SessionDep) -> ProductOut:
    return ProductOut.model_validate(await service.create(session, body, admin.id))


@router.patch(
    "/admin/products/{code}",
    response_model=ProductOut,
    responses=error_responses(404, described={404: "product_not_found"}),
)
async def update_product(
    code: Annotated[str, Path(pattern=PRODUCT_CODE_PATTERN)],
    body: ProductUpdate,
    admin: AdminUser,
    session: SessionDep,
) -> ProductOut:
    return ProductOut.model_validate(await service.update(session, code, body, admin.id))
