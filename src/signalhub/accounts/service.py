"""Account linking: a trader claims an MT5 login on a server; a signed device of the same user
proves it by reporting a snapshot of that account. No password is ever asked for."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.accounts.repository import AccountLinkRepository
from signalhub.accounts.schemas import AccountLinkOut, LinkRequest
from signalhub.audit import service as audit
from signalhub.errors import Conflict, NotFound
from signalhub.models import AccountLink, AccountLinkStatus
from signalhub.positions import service as positions
from signalhub.positions.records import AccountRef, BrokerSnapshot

PENDING_LINK_TTL = timedelta(hours=24)
ACCOUNT_NOT_FOUND = "Account not found"
_PAIRING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def _pairing_code() -> str:
    code = "".join(secrets.choice(_PAIRING_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def is_expired(link: AccountLink, now: datetime) -> bool:
    """A pending link no device confirmed within 24 h: its login was never seen."""
    return link.status is AccountLinkStatus.pending and now >= link.expires_at


def describe(link: AccountLink, now: datetime) -> AccountLinkOut:
    return AccountLinkOut(
        id=link.id,
        mt5_login=link.mt5_login,
        server=link.server,
        company=link.company,
        currency=link.currency,
        leverage=link.leverage,
        trade_mode=link.trade_mode,
        is_primary=link.is_primary,
        status=link.status,
        pairing_code=link.pairing_code,
        expires_at=link.expires_at,
        verified_at=link.verified_at,
        created_at=link.created_at,
        error=ACCOUNT_NOT_FOUND if is_expired(link, now) else None,
    )


def _restart(link: AccountLink, now: datetime) -> None:
    link.status = AccountLinkStatus.pending
    link.pairing_code = _pairing_code()
    link.expires_at = now + PENDING_LINK_TTL
    link.verified_at = None
    link.verified_by_device_id = None
    link.unlinked_at = None
    link.is_primary = False


async def link(
    session: AsyncSession, user_id: int, request: LinkRequest, now: datetime
) -> AccountLink:
    """A pending link with a pairing code. Linking again an account that was unlinked or whose
    pending link expired starts over; a live link of the same account is a 409."""
    repository = AccountLinkRepository(session)
    fresh = AccountLink(
        user_id=user_id,
        mt5_login=request.mt5_login,
        server=request.server,
        status=AccountLinkStatus.pending,
        pairing_code=_pairing_code(),
        expires_at=now + PENDING_LINK_TTL,
        created_at=now,
    )
    linked = await repository.add_if_new(fresh)
    if linked is None:
        await repository.lock_for_user(user_id)
        existing = await repository.find(user_id, request.mt5_login, request.server)
        assert existing is not None
        if existing.status is not AccountLinkStatus.unlinked and not is_expired(existing, now):
            raise Conflict(
                f"Account {request.mt5_login} on {request.server} is already linked.",
                code="account_already_linked",
            )
        _restart(existing, now)
        await session.flush()
        linked = existing
    await audit.record(
        session,
        "account.link_requested",
        subject_type="account_link",
        subject_id=linked.id,
        user_id=user_id,
        actor_user_id=user_id,
        data={"mt5_login": linked.mt5_login, "server": linked.server},
    )
    return linked


async def listed(session: AsyncSession, user_id: int) -> Sequence[AccountLink]:
    """Pending (expired ones too, with their error), verified; unlinked ones are gone."""
    return await AccountLinkRepository(session).listed(user_id)


async def _owned_locked(session: AsyncSession, user_id: int, link_id: int) -> AccountLink:
    links = await AccountLinkRepository(session).lock_for_user(user_id)
    for candidate in links:
        if candidate.id == link_id and candidate.status is not AccountLinkStatus.unlinked:
            return candidate
    raise NotFound(f"No linked account {link_id}.", code="account_not_found")


async def set_primary(
    session: AsyncSession, user_id: int, link_id: int, now: datetime
) -> AccountLink:
    chosen = await _owned_locked(session, user_id, link_id)
    if chosen.status is not AccountLinkStatus.verified:
        raise Conflict(
            "Only a verified account can be primary; run the EA on it first.",
            code="account_not_verified",
        )
    await _make_primary(session, user_id, chosen)
    await audit.record(
        session,
        "account.primary_set",
        subject_type="account_link",
        subject_id=chosen.id,
        user_id=user_id,
        actor_user_id=user_id,
    )
    return chosen


async def _make_primary(session: AsyncSession, user_id: int, chosen: AccountLink | None) -> None:
    """Runs with the user's links locked. The old primary is cleared and flushed first: the
    database holds one primary per user at every statement."""
    for link_ in await AccountLinkRepository(session).lock_for_user(user_id):
        if link_.is_primary and link_ is not chosen:
            link_.is_primary = False
    await session.flush()
    if chosen is not None:
        chosen.is_primary = True
        await session.flush()


async def unlink(session: AsyncSession, user_id: int, link_id: int, now: datetime) -> None:
    """The account stops receiving signals at once (the EA poll skips it). If it was primary, the
    longest-verified remaining account takes over."""
    removed = await _owned_locked(session, user_id, link_id)
    was_primary = removed.is_primary
    removed.status = AccountLinkStatus.unlinked
    removed.unlinked_at = now
    removed.is_primary = False
    await session.flush()
    if was_primary:
        verified = [
            candidate
            for candidate in await AccountLinkRepository(session).lock_for_user(user_id)
            if candidate.status is AccountLinkStatus.verified and candidate.verified_at
        ]
        successor = min(verified, key=lambda candidate: candidate.verified_at or now, default=None)
        await _make_primary(session, user_id, successor)
    await audit.record(
        session,
        "account.unlinked",
        subject_type="account_link",
        subject_id=removed.id,
        user_id=user_id,
        actor_user_id=user_id,
    )


async def readable(session: AsyncSession, user_id: int, link_id: int | None) -> AccountRef:
    """The verified account whose positions the user may read: the given one, or the primary."""
    repository = AccountLinkRepository(session)
    if link_id is None:
        chosen = await repository.primary(user_id)
        if chosen is None:
            raise NotFound(
                "No primary account yet: link an MT5 account and run the EA on it.",
                code="no_primary_account",
            )
    else:
        found = await repository.get_for_user(user_id, link_id)
        if found is None or found.status is AccountLinkStatus.unlinked:
            raise NotFound(f"No linked account {link_id}.", code="account_not_found")
        if found.status is not AccountLinkStatus.verified:
            raise Conflict(
                "This account is not verified yet: run the EA on it.",
                code="account_not_verified",
            )
        chosen = found
    return AccountRef(chosen.id, chosen.mt5_login, chosen.server)


async def record_snapshot(
    session: AsyncSession,
    user_id: int,
    device_id: int,
    snapshot: BrokerSnapshot,
    now: datetime,
) -> AccountLink | None:
    """A device of `user_id` reports its account. Only that user's own link of the same login and
    server is touched: a pending one becomes verified (and primary when the user has none), a
    verified one takes the new figures. No link, or an expired pending one, keeps nothing.
    An unlinked account's snapshot is kept too: it tells the EA poll which account the device is
    on, so that account gets no signals."""
    repository = AccountLinkRepository(session)
    links = await repository.lock_for_user(user_id)
    account = snapshot.account
    matching = next(
        (
            candidate
            for candidate in links
            if (candidate.mt5_login, candidate.server) == (account.login, account.server)
        ),
        None,
    )
    if matching is None or is_expired(matching, now):
        return None
    matching.company = account.company[:128]
    matching.currency = account.currency[:16]
    matching.leverage = account.leverage
    matching.trade_mode = account.trade_mode
    if matching.status is AccountLinkStatus.pending:
        matching.status = AccountLinkStatus.verified
        matching.verified_at = now
        matching.verified_by_device_id = device_id
        await session.flush()
        if not any(candidate.is_primary for candidate in links):
            await _make_primary(session, user_id, matching)
        await audit.record(
            session,
            "account.verified",
            subject_type="account_link",
            subject_id=matching.id,
            user_id=user_id,
            data={"device_id": device_id},
        )
    await positions.store(session, matching.id, snapshot, device_id, now)
    return matching


async def devices_taking_signals(session: AsyncSession, device_ids: Collection[int]) -> set[int]:
    """Those of these devices that may take signals: all but the ones whose account, as they
    last reported it, has been unlinked."""
    statuses = await AccountLinkRepository(session).device_account_statuses(device_ids)
    return {
        device_id
        for device_id in device_ids
        if statuses.get(device_id) is not AccountLinkStatus.unlinked
    }
