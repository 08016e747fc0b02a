from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.audit.repository import AuditRepository
from signalhub.models import AuditLog


async def record(
    session: AsyncSession,
    action: str,
    *,
    subject_type: str,
    subject_id: int | str,
    user_id: int | None = None,
    actor_user_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditLog:
    """Written in the caller's transaction: the audit entry exists exactly when the change does.
    It is queued in the session and written with the next flush."""
    return await AuditRepository(session).add(
        AuditLog(
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            user_id=user_id,
            actor_user_id=actor_user_id,
            data=data or {},
        )
    )
