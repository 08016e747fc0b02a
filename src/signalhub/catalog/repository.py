from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, exists, select

from signalhub.kit.repository import Repository
from signalhub.models import Payment, Product

# Built once: every payment names its product by code.
_BY_CODE = select(Product).where(Product.code == bindparam("code"))


class ProductRepository(Repository):
    async def list_active(self) -> Sequence[Product]:
        result = await self.session.scalars(
            select(Product).where(Product.is_active.is_(True)).order_by(Product.price_amount_minor)
        )
        return result.all()

    async def get_by_code(self, code: str) -> Product | None:
        return await self.session.scalar(_BY_CODE, {"code": code})

    async def get(self, product_id: int) -> Product | None:
        return await self.session.get(Product, product_id)

    async def add(self, product: Product) -> Product:
        self.session.add(product)
        await self.session.flush()
        return product

    async def list_all(self) -> Sequence[Product]:
        result = await self.session.scalars(select(Product).order_by(Product.code))
        return result.all()

    async def has_payments(self, product_id: int) -> bool:
        """Entitlements always come with a payment, so this covers them too."""
        return bool(
            await self.session.scalar(select(exists().where(Payment.product_id == product_id)))
        )

    async def delete(self, product: Product) -> None:
        await self.session.delete(product)
        await self.session.flush()
