from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from signalhub import config
from signalhub.config import Environment, Settings, describe_configuration_error


def build(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_lists_come_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNALHUB_ADMIN_TELEGRAM_IDS", "1, 2,3")
    monkeypatch.setenv("SIGNALHUB_STRIPE_WEBHOOK_SECRET", "whsec_new,whsec_old")
    settings = build()
    assert settings.admin_telegram_ids == [1, 2, 3]
    assert [s.get_secret_value() for s in settings.stripe_webhook_secret] == [
        "whsec_new",
        "whsec_old",
    ]


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SIGNALHUB_PUBLIC_URL=https://signals.example\n")
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert settings.public_url == "https://signals.example"


def test_production_refuses_to_start_without_secrets() -> None:
    with pytest.raises(ValidationError) as error:
        build(env=Environment.production, telegram_bot_token="1:x", stripe_api_key="sk_x")
    message = describe_configuration_error(error.value)
    for name in (
        "SIGNALHUB_JWT_SECRET",
        "SIGNALHUB_DATABASE_URL",
        "SIGNALHUB_DEVICE_SECRET_KEY",
        "SIGNALHUB_TELEGRAM_WEBHOOK_SECRET",
        "SIGNALHUB_STRIPE_WEBHOOK_SECRET",
    ):
        assert name in message
    assert "sk_x" not in message


def test_production_with_secrets_starts() -> None:
    settings = build(
        env=Environment.production,
        jwt_secret="s" * 40,
        database_url="postgresql+asyncpg://db/signalhub",
        device_secret_key=Fernet.generate_key().decode(),
    )
    assert not settings.worker_in_process
    with pytest.raises(RuntimeError):
        settings.init_data_bot_token()


def test_development_secrets_are_generated_once_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "VAR_DIR", tmp_path)
    monkeypatch.setattr(config, "_kept_secrets", {})
    settings = build()
    first = settings.jwt_key()
    token = settings.init_data_bot_token()
    device_key = settings.device_secret_fernet_key()
    monkeypatch.setattr(config, "_kept_secrets", {})
    assert build().jwt_key() == first
    assert build().init_data_bot_token() == token
    assert build().device_secret_fernet_key() == device_key
    Fernet(device_key)
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o777 == 0o600


def test_device_secret_key_must_be_a_fernet_key() -> None:
    with pytest.raises(ValidationError) as error:
        build(device_secret_key="not-a-key")
    message = describe_configuration_error(error.value)
    assert "device_secret_key" in message
    assert "not-a-key" not in message


def test_embedded_default_runs_worker_in_process() -> None:
    assert build().worker_in_process
    assert not build(run_worker_in_process=False).worker_in_process


def test_env_example_lists_every_setting_and_loads_as_is(tmp_path: Path) -> None:
    example = Path(__file__).parents[1] / ".env.example"
    listed = {
        line.split("=", 1)[0]
        for line in example.read_text().splitlines()
        if line.startswith("SIGNALHUB_")
    }
    assert listed == {f"SIGNALHUB_{name.upper()}" for name in Settings.model_fields}
    loaded = Settings(_env_file=example)  # type: ignore[call-arg]
    assert loaded.redis_url is None
    assert loaded.admin_telegram_ids == []
