from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update

from signalhub.kit.repository import Repository
from signalhub.models import LoginRefusal, LoginRequest, RefreshToken

# Built once: every sign-in and refresh runs it.
_INSERT_REFRESH_TOKEN = insert(RefreshToken).values(
    user_id=bindparam("user_id"),
    token_hash=bindparam("token_hash"),
    family_id=bindparam("family_id"),
    expires_at=bindparam("expires_at"),
)


class RefreshTokenRepository(Repository):
    async def add(
        self, *, user_id: int, token_hash: str, family_id: str, expires_at: datetime
    ) -> None:
        """One INSERT, no entity: every sign-in and refresh writes one, and nothing reads it back
        in the same request."""
        await self.session.execute(
            _INSERT_REFRESH_TOKEN,
            {
                "user_id": user_id,
                "token_hash": token_hash,
                "family_id": family_id,
                "expires_at": expires_at,
            },
        )

    async def get_by_hash_for_update(self, token_hash: str) -> RefreshToken | None:
        return await self.session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        )

    async def mark_used(self, token_id: int, now: datetime) -> bool:
        """Compare-and-set, so two concurrent refreshes with one token cannot both succeed."""
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
            .values(used_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_all_for_user(self, user_id: int, now: datetime) -> int:
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def delete_expired(self, now: datetime) -> int:
        result = await self.session.execute(
            delete(RefreshToken).where(RefreshToken.expires_at < now)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class LoginRequestRepository(Repository):
    async def add(self, request: LoginRequest) -> LoginRequest:
        self.session.add(request)
        await self.session.flush()
        return request

    async def get_for_update(self, auth_code: str) -> LoginRequest | None:
        return await self.session.scalar(
            select(LoginRequest).where(LoginRequest.auth_code == auth_code).with_for_update()
        )

    async def delete_expired(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(LoginRequest).where(LoginRequest.expires_at < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class LoginRefusalRepository(Repository):
    async def find(self, login_request_id: int, user_id: int) -> LoginRefusal | None:
        return await self.session.scalar(
            select(LoginRefusal).where(
                LoginRefusal.login_request_id == login_request_id,
                LoginRefusal.user_id == user_id,
            )
        )

    async def add(self, refusal: LoginRefusal) -> LoginRefusal:
        self.session.add(refusal)
        await self.session.flush()
        return refusal
