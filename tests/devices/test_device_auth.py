"""Signed device requests (DeviceAuth) over HTTP: each header altered, body altered, skew,
replay, revoked and unknown devices, malformed values, the body limit, last seen."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import timedelta

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.config import Settings
from signalhub.db import Database
from signalhub.devices import service as devices
from signalhub.devices.nonces import DatabaseNonceStore, RedisNonceStore, build_nonce_store
from signalhub.devices.signing import signed_headers
from signalhub.kit.crypto import SecretBox, SecretBoxError
from signalhub.kit.time import utcnow
from signalhub.models import Device, DeviceStatus
from tests.factories import create_device, create_subscriber

ME = "/api/v1/ea/me"


def headers_for(
    device: devices.Registration,
    method: str = "GET",
    target: str = ME,
    body: bytes = b"",
    **overrides: object,
) -> dict[str, str]:
    return signed_headers(
        device.device.id,
        device.secret,
        method,
        target,
        body,
        **overrides,  # type: ignore[arg-type]
    )


async def test_a_signed_request_is_accepted(
    client: httpx.AsyncClient, device: devices.Registration
) -> None:
    response = await client.get(ME, headers=headers_for(device))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["device_id"] == device.device.id
    assert body["name"] == "Office MT5"
    assert abs(body["server_time"] - time.time()) < 5


def error_code(response: httpx.Response) -> str:
    assert response.status_code == 401, response.text
    code: str = response.json()["error"]["code"]
    return code


@pytest.mark.parametrize("header", ["X-Device-Id", "X-Timestamp", "X-Nonce", "X-Signature"])
async def test_each_missing_header(
    client: httpx.AsyncClient, device: devices.Registration, header: str
) -> None:
    headers = headers_for(device)
    del headers[header]
    response = await client.get(ME, headers=headers)
    assert error_code(response) == "signature_missing"
    assert header in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Device-Id", "abc"),
        ("X-Device-Id", "0"),
        ("X-Device-Id", "-3"),
        ("X-Device-Id", str(2**63)),
        ("X-Device-Id", "1" * 40),
        ("X-Timestamp", "12.5"),
        ("X-Timestamp", "1" * 13),
        ("X-Nonce", "short"),
        ("X-Nonce", "has space in it"),
        ("X-Nonce", "n" * 65),
        ("X-Signature", "zz" * 32),
        ("X-Signature", "ab" * 31),
    ],
)
async def test_malformed_values_are_401_not_500(
    client: httpx.AsyncClient, device: devices.Registration, header: str, value: str
) -> None:
    headers = headers_for(device)
    headers[header] = value
    assert error_code(await client.get(ME, headers=headers)) == "signature_malformed"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Timestamp", lambda h: str(int(h["X-Timestamp"]) + 1)),
        ("X-Nonce", lambda h: h["X-Nonce"] + "x"),
        (
            "X-Signature",
            lambda h: ("0" if h["X-Signature"][0] != "0" else "1") + h["X-Signature"][1:],
        ),
    ],
)
async def test_each_signed_header_altered(
    client: httpx.AsyncClient, device: devices.Registration, header: str, value: object
) -> None:
    headers = headers_for(device)
    headers[header] = value(headers)  # type: ignore[operator]
    assert error_code(await client.get(ME, headers=headers)) == "signature_invalid"


async def test_another_devices_id_with_this_signature(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    device: devices.Registration,
) -> None:
    other_user = await create_subscriber(session)
    other = await create_device(session, settings, other_user)
    await session.commit()
    headers = headers_for(device)
    headers["X-Device-Id"] = str(other.device.id)
    assert error_code(await client.get(ME, headers=headers)) == "signature_invalid"


async def test_path_method_and_body_are_signed(
    client: httpx.AsyncClient, device: devices.Registration
) -> None:
    signed_for_other_path = headers_for(device, target="/api/v1/ea/poll")
    assert error_code(await client.get(ME, headers=signed_for_other_path)) == "signature_invalid"
    signed_with_query = headers_for(device, target=f"{ME}?wait=1")
    assert error_code(await client.get(ME, headers=signed_with_query)) == "signature_invalid"
    assert (await client.get(f"{ME}?wait=1", headers=signed_with_query)).status_code == 200
    signed_as_post = headers_for(device, method="POST")
    assert error_code(await client.get(ME, headers=signed_as_post)) == "signature_invalid"
    signed_body = headers_for(device, body=b'{"a":1}')
    response = await client.request("GET", ME, headers=signed_body, content=b'{"a":2}')
    assert error_code(response) == "signature_invalid"


@pytest.mark.parametrize("offset", [-305, 305, -(10**6)])
async def test_clock_skew_answers_the_server_time(
    client: httpx.AsyncClient, device: devices.Registration, offset: int
) -> None:
    headers = headers_for(device, timestamp=int(time.time()) + offset)
    response = await client.get(ME, headers=headers)
    assert error_code(response) == "clock_skew"
    assert abs(response.json()["error"]["server_time"] - time.time()) < 5


async def test_within_the_skew_is_accepted(
    client: httpx.AsyncClient, device: devices.Registration
) -> None:
    for offset in (-290, 290):
        headers = headers_for(device, timestamp=int(time.time()) + offset)
        assert (await client.get(ME, headers=headers)).status_code == 200


async def test_a_replayed_nonce_is_refused(
    client: httpx.AsyncClient, device: devices.Registration
) -> None:
    headers = headers_for(device)
    assert (await client.get(ME, headers=headers)).status_code == 200
    assert error_code(await client.get(ME, headers=headers)) == "replayed"
    again_later = headers_for(device, nonce=headers["X-Nonce"])
    assert error_code(await client.get(ME, headers=again_later)) == "replayed"


async def test_a_forged_request_does_not_burn_the_nonce(
    client: httpx.AsyncClient, device: devices.Registration
) -> None:
    headers = headers_for(device)
    forged = {**headers, "X-Signature": "0" * 64}
    assert error_code(await client.get(ME, headers=forged)) == "signature_invalid"
    assert (await client.get(ME, headers=headers)).status_code == 200


async def test_revoked_at_once_and_unknown(
    client: httpx.AsyncClient, session: AsyncSession, device: devices.Registration
) -> None:
    assert (await client.get(ME, headers=headers_for(device))).status_code == 200
    await devices.revoke(session, device.device.user_id, device.device.id, utcnow())
    await session.commit()
    assert error_code(await client.get(ME, headers=headers_for(device))) == "device_revoked"
    unknown = signed_headers(2**62, device.secret, "GET", ME)
    assert error_code(await client.get(ME, headers=unknown)) == "device_unknown"


async def test_revoked_by_another_instance_is_refused_at_once(
    client: httpx.AsyncClient, session: AsyncSession, device: devices.Registration
) -> None:
    """The decrypted secret is kept in memory, the device's status never: a revocation that
    another API instance wrote (so this process never dropped the secret) still refuses the
    next request."""
    assert (await client.get(ME, headers=headers_for(device))).status_code == 200
    row = await session.get(Device, device.device.id)
    assert row is not None
    row.status = DeviceStatus.revoked
    await session.commit()
    assert error_code(await client.get(ME, headers=headers_for(device))) == "device_revoked"


def test_opened_secrets_are_bounded_and_follow_the_ciphertext() -> None:
    box = SecretBox(Fernet.generate_key().decode())
    other_box = SecretBox(Fernet.generate_key().decode())
    opened = devices.OpenedSecrets(max_entries=2)
    first, second = box.seal("first secret"), box.seal("second secret")
    assert opened.open(box, 1, first) == "first secret"
    assert opened.open(box, 1, first) == "first secret"
    # Registered again: a new ciphertext is opened, never answered from memory.
    assert opened.open(box, 1, second) == "second secret"
    # Another key cannot read it, even though this device's secret is in memory.
    with pytest.raises(SecretBoxError):
        opened.open(other_box, 1, second)
    opened.open(box, 2, first)
    opened.open(box, 3, first)
    assert len(opened) == 2
    opened.forget(3)
    assert len(opened) == 1


async def test_a_secret_sealed_with_another_key_is_refused_not_500(
    client: httpx.AsyncClient, session: AsyncSession, device: devices.Registration
) -> None:
    row = await session.get(Device, device.device.id)
    assert row is not None
    row.secret_encrypted = SecretBox(Fernet.generate_key().decode()).seal(device.secret)
    await session.commit()
    response = await client.get(ME, headers=headers_for(device))
    assert error_code(response) == "device_secret_unreadable"


async def test_bodies_over_64_kib_are_413(
    client: httpx.AsyncClient, device: devices.Registration
) -> None:
    body = b"x" * (64 * 1024 + 1)
    headers = headers_for(device, method="POST", body=body)
    response = await client.post(ME, headers=headers, content=body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_last_seen_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient, session: AsyncSession, device: devices.Registration
) -> None:
    async def last_seen() -> tuple[object, object]:
        row = await session.get(Device, device.device.id, populate_existing=True)
        assert row is not None
        return row.last_seen_at, row.last_ip

    assert (await client.get(ME, headers=headers_for(device))).status_code == 200
    first_seen, ip = await last_seen()
    assert first_seen is not None
    assert ip == "127.0.0.1"
    assert (await client.get(ME, headers=headers_for(device))).status_code == 200
    assert (await last_seen())[0] == first_seen

    row = await session.get(Device, device.device.id)
    assert row is not None
    row.last_seen_at = utcnow() - timedelta(seconds=61)
    await session.commit()
    assert (await client.get(ME, headers=headers_for(device))).status_code == 200
    refreshed, _ = await last_seen()
    assert refreshed is not None
    assert refreshed > first_seen


async def test_database_nonce_store_expires_old_nonces(
    session: AsyncSession, device: devices.Registration
) -> None:
    store = DatabaseNonceStore()
    device_id = device.device.id
    now = utcnow()
    assert await store.remember(session, device_id, "nonce-0001", now, 600)
    assert not await store.remember(session, device_id, "nonce-0001", now, 600)
    later = now + timedelta(seconds=601)
    assert await store.remember(session, device_id, "nonce-0001", later, 600)
    assert not await store.remember(session, device_id, "nonce-0001", later, 600)
    assert await devices.purge_nonces(session, later + timedelta(seconds=601)) >= 1
    assert await store.remember(session, device_id, "nonce-0001", later, 600)


@pytest.mark.skipif(not os.environ.get("SIGNALHUB_TEST_REDIS_URL"), reason="needs Redis")
async def test_redis_nonce_store_is_shared_between_instances(session: AsyncSession) -> None:
    url = os.environ["SIGNALHUB_TEST_REDIS_URL"]
    first, second = build_nonce_store(url), build_nonce_store(url)
    assert isinstance(first, RedisNonceStore)
    nonce = f"nonce-{time.time_ns()}"
    results = [
        await first.remember(session, 1, nonce, utcnow(), 600),
        await second.remember(session, 1, nonce, utcnow(), 600),
        await second.remember(session, 2, nonce, utcnow(), 600),
    ]
    assert results == [True, False, True]
    await first.close()
    await second.close()


@pytest.mark.postgres
async def test_concurrent_replays_let_exactly_one_through(
    committing_database: Database, settings: Settings
) -> None:
    """The same signed request sent 20 times at once, through separate connections."""
    from asgi_lifespan import LifespanManager

    from signalhub.app import create_app

    async with committing_database.transaction() as session:
        user = await create_subscriber(session)
        registration = await create_device(session, settings, user)
    app: FastAPI = create_app(settings, committing_database)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            headers = headers_for(registration)
            responses = await asyncio.gather(*(client.get(ME, headers=headers) for _ in range(20)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [401] * 19
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 401} == {"replayed"}
