from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from signalhub.kit.repository import Repository
from signalhub.models import Product


class ProductRepository(Repository):
    async def list_active(self) -> Sequence[Product]:
        result = await self.session.scalars(
            select(Product).where(Product.is_active.is_(True)).order_by(Product.price_amount_minor)
        )
        return result.all()

    async def get_by_code(self, code: str) -> Product | None:
        return await self.session.scalar(select(Product).where(Product.code == code))

    async def get(self, product_id: int) -> Product | None:
        return await self.session.get(Product, product_id)

    async def add(self, product: Product) -> Product:
        self.session.add(product)
        await self.session.flush()
        return product
