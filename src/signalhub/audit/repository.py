from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from signalhub.kit.repository import Repository
from signalhub.models import AuditLog


class AuditRepository(Repository):
    async def add(self, entry: AuditLog) -> AuditLog:
        """Written with the transaction's next flush (any query, or the commit), so the entries of
        one change go to the database in one INSERT; its id is known from then on."""
        self.session.add(entry)
        return entry

    async def for_subject(self, subject_type: str, subject_id: str) -> Sequence[AuditLog]:
        result = await self.session.scalars(
            select(AuditLog)
            .where(AuditLog.subject_type == subject_type, AuditLog.subject_id == subject_id)
            .order_by(AuditLog.id)
        )
        return result.all()
