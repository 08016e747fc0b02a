from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.audit import service as audit
from signalhub.auth.repository import RefreshTokenRepository
from signalhub.errors import Forbidden, NotFound
from signalhub.kit.bus import publish_after_commit, publish_user_changed, user_channel
from signalhub.kit.text import display_text
from signalhub.models import Role, User
from signalhub.models.user import FIRST_NAME_LENGTH, LANGUAGE_CODE_LENGTH, USERNAME_LENGTH
from signalhub.outbox import service as outbox
from signalhub.users.repository import UserRepository
from signalhub.users.signed_in import SignedInUser

# The bot's one answer to a banned user, whatever they send.
BANNED_MESSAGE = "Your signalhub account is banned. Nothing more can be done with it here."
# Published on the user's channel when they are banned: their open streams end.
BANNED_EVENT = "account.banned"


class AccountBanned(Forbidden):
    code = "account_banned"

    def __init__(self) -> None:
        super().__init__("This account is banned.")


class CannotBanSelf(Forbidden):
    code = "cannot_ban_self"

    def __init__(self) -> None:
        super().__init__("Admins cannot ban themselves.")


@dataclass(frozen=True)
class TelegramProfile:
    telegram_id: int
    username: str | None = None
    first_name: str | None = None
    language_code: str | None = None


async def upsert_from_telegram(
    session: AsyncSession, profile: TelegramProfile, admin_telegram_ids: list[int]
) -> User:
    """Creates the user on first contact and refreshes the profile on every later one. Telegram ids
    listed as admins are promoted; the insert tolerates a concurrent first contact."""
    repository = UserRepository(session)
    is_listed_admin = profile.telegram_id in admin_telegram_ids
    user = await repository.get_by_telegram_id(profile.telegram_id)
    # A user created now is in no cache yet: only changes to an existing one are announced.
    before = None if user is None else SignedInUser.of(user)
    if user is None:
        role = Role.admin if is_listed_admin else Role.user
        user = await _insert_or_get(repository, profile.telegram_id, role)
    wanted = {
        "username": _profile_text(profile.username, USERNAME_LENGTH),
        "first_name": _profile_text(profile.first_name, FIRST_NAME_LENGTH),
        "language_code": _profile_text(profile.language_code, LANGUAGE_CODE_LENGTH),
        "role": Role.admin if is_listed_admin else user.role,
    }
    changed = {name: value for name, value in wanted.items() if getattr(user, name) != value}
    # Most contacts change nothing: a flush with nothing to write still costs a unit of work.
    for name, value in changed.items():
        setattr(user, name, value)
    if changed:
        await session.flush()
    if before is not None and SignedInUser.of(user) != before:
        publish_user_changed(session, user.id)
    return user


def _profile_text(value: str | None, max_length: int) -> str | None:
    """Telegram's display text as we can store it: a name is the user's, not input to refuse."""
    if value is None:
        return None
    return display_text(value, max_length) or None


async def _insert_or_get(repository: UserRepository, telegram_id: int, role: Role) -> User:
    candidate = User(telegram_id=telegram_id, role=role, bot_blocked=False)
    # A concurrent first contact may have inserted the row since our read.
    user = await repository.insert_if_absent(
        candidate, "telegram_id"
    ) or await repository.get_by_telegram_id(telegram_id)
    assert user is not None
    return user


async def find(session: AsyncSession, user_id: int) -> User | None:
    return await UserRepository(session).get(user_id)


async def get(session: AsyncSession, user_id: int) -> User:
    user = await find(session, user_id)
    if user is None:
        raise NotFound("User not found.", code="user_not_found")
    return user


async def get_by_telegram_id(session: AsyncSession, telegram_id: int) -> User | None:
    return await UserRepository(session).get_by_telegram_id(telegram_id)


async def set_bot_blocked(session: AsyncSession, telegram_id: int, bot_blocked: bool) -> None:
    await UserRepository(session).set_bot_blocked(telegram_id, bot_blocked)


def ensure_not_banned(user: User | SignedInUser) -> None:
    """Every way in (sign-in, token refresh, an access token, a device, the bot) asks this."""
    if user.banned_at is not None:
        raise AccountBanned()


async def ban(
    session: AsyncSession, user_id: int, actor: User | SignedInUser, now: datetime
) -> User:
    """Shuts the user out at once: every refresh token revoked, access tokens refused from
    their next request (the version they carry is now stale), open streams ended, nothing more
    queued for their chat sent. Banning a banned user changes nothing."""
    if user_id == actor.id:
        raise CannotBanSelf()
    user = await _locked(session, user_id)
    if user.banned_at is not None:
        return user
    user.banned_at = now
    user.token_version += 1
    await session.flush()
    revoked = await RefreshTokenRepository(session).revoke_all_for_user(user.id, now)
    dropped = await outbox.drop_pending_for_chat(session, user.telegram_id, "recipient banned")
    await audit.record(
        session,
        "user.banned",
        subject_type="user",
        subject_id=user.id,
        user_id=user.id,
        actor_user_id=actor.id,
        data={"refresh_tokens_revoked": revoked, "messages_dropped": dropped},
    )
    publish_after_commit(session, user_channel(user.id), {"type": BANNED_EVENT})
    publish_user_changed(session, user.id)
    return user


async def unban(
    session: AsyncSession, user_id: int, actor: User | SignedInUser, now: datetime
) -> User:
    """The user may sign in again; nothing from before the ban comes back: a refresh token
    that a sign-in racing the ban created is revoked here too. Unbanning someone who is not
    banned changes nothing."""
    user = await _locked(session, user_id)
    if user.banned_at is None:
        return user
    banned_at, user.banned_at = user.banned_at, None
    await session.flush()
    await RefreshTokenRepository(session).revoke_all_for_user(user.id, now)
    await audit.record(
        session,
        "user.unbanned",
        subject_type="user",
        subject_id=user.id,
        user_id=user.id,
        actor_user_id=actor.id,
        data={"banned_at": banned_at.isoformat()},
    )
    publish_user_changed(session, user.id)
    return user


async def _locked(session: AsyncSession, user_id: int) -> User:
    user = await UserRepository(session).get_for_update(user_id)
    if user is None:
        raise NotFound("User not found.", code="user_not_found")
    return user


async def promote_to_admin(session: AsyncSession, telegram_id: int) -> bool:
    """Makes this Telegram user an admin, creating the user if they never wrote to the bot (their
    profile fills in on first contact). False when they already were one."""
    user = await _insert_or_get(UserRepository(session), telegram_id, Role.user)
    if user.role == Role.admin:
        return False
    user.role = Role.admin
    await session.flush()
    await audit.record(
        session, "user.promoted", subject_type="user", subject_id=user.id, user_id=user.id
    )
    publish_user_changed(session, user.id)
    return True


async def set_marketing_opt_out(session: AsyncSession, user_id: int, opted_out: bool) -> None:
    await UserRepository(session).set_marketing_opt_out(user_id, opted_out)
    publish_user_changed(session, user_id)
