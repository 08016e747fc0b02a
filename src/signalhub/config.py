"""Every setting, read from the environment or `.env` with the `SIGNALHUB_` prefix."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class BrokerGatewayName(StrEnum):
    """Where positions come from (signalhub.positions.gateway)."""

    ea_bridge = "ea_bridge"
    simulated = "simulated"
    mt5_terminal = "mt5_terminal"


VAR_DIR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SIGNALHUB_",
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
    )

    env: Environment = Environment.development
    database_url: str = f"sqlite+aiosqlite:///{VAR_DIR}/signalhub.db"
    # Per process: `serve --workers N` opens up to N x pool size connections, plus the worker's.
    database_pool_size: int = Field(default=20, ge=1, le=500)
    database_max_overflow: int = Field(default=0, ge=0, le=500)
    database_pool_recycle_s: int = Field(default=1800, ge=1)
    redis_url: str | None = None
    jwt_secret: SecretStr | None = None
    access_token_ttl_s: int = Field(default=900, ge=1)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=60)
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    admin_telegram_ids: Annotated[list[int], NoDecode] = []
    telegram_bot_token: SecretStr | None = None
    telegram_bot_username: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base: str | None = None
    telegram_rate_per_second: float = Field(default=30.0, gt=0)
    telegram_chat_interval_s: float = Field(default=1.0, ge=0)
    # Messages per second for signal-priority messages sent with `allow_paid_broadcast` (Telegram
    # allows up to 1,000; 0.1 Stars each above the free rate). Off when unset; never marketing.
    telegram_paid_broadcast_rate: float | None = Field(default=None, gt=0, le=1000)
    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: Annotated[list[SecretStr], NoDecode] = []
    stripe_api_base: str | None = None
    stripe_accept_test_events: bool = False
    init_data_max_age_s: int = Field(default=86400, ge=1)
    signin_rate_limit_per_minute: int = Field(default=60, ge=1)
    miniapp_dist: Path | None = None
    metrics_dir: Path | None = None
    run_worker_in_process: bool | None = None
    support_contact: str = Field(default="@signalhub_support", min_length=1, max_length=200)
    log_level: str = "INFO"
    max_body_bytes: int = 1024 * 1024
    body_read_timeout_s: float = Field(default=10.0, gt=0, le=300)
    signal_fanout_batch_size: int = Field(default=500, ge=1, le=5000)
    approvals_stream_heartbeat_s: float = Field(default=15.0, gt=0, le=300)
    broker_gateway: BrokerGatewayName = BrokerGatewayName.ea_bridge
    broker_timeout_s: float = Field(default=2.0, gt=0, le=60)
    positions_cache_ttl_s: float = Field(default=30.0, gt=0, le=3600)
    # How long an API process may answer who a user is (role, ban, tier) without asking the
    # database; changes are announced at once (users.cache), this bounds the rest. 0: off.
    user_cache_ttl_s: float = Field(default=30.0, ge=0, le=3600)
    positions_stale_after_s: float = Field(default=120.0, gt=0)
    simulated_broker_seed: int = 7
    device_secret_key: SecretStr | None = None
    # How long a signal handed to a device is its own before it is offered to it again (its
    # answer or the device's ack was lost). Longer than a poll's round trip after the hand-over:
    # the answer's way back (queued behind others on a loaded server), the order's placement at
    # the broker and the ack (the clients time a request out after the poll wait + 10 s), so a
    # device that is merely slow is not offered the signal again; short enough that a lost one
    # still arrives while it matters. A re-offer renews the lease.
    ea_lease_s: float = Field(default=60.0, gt=0, le=3600)

    @field_validator("admin_telegram_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("stripe_webhook_secret", mode="before")
    @classmethod
    def _split_secrets(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("device_secret_key")
    @classmethod
    def _is_a_fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                Fernet(value.get_secret_value())
            except ValueError:
                raise ValueError(
                    "must be 32 url-safe base64-encoded bytes, e.g. the output of "
                    "`python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'`"
                ) from None
        return value

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> Settings:
        if self.env is not Environment.production:
            return self
        missing = [
            name
            for name, present in (
                ("SIGNALHUB_JWT_SECRET", self.jwt_secret),
                ("SIGNALHUB_DATABASE_URL", self.database_url.startswith("postgresql")),
                ("SIGNALHUB_DEVICE_SECRET_KEY", self.device_secret_key),
            )
            if not present
        ]
        if self.telegram_bot_token and not self.telegram_webhook_secret:
            missing.append("SIGNALHUB_TELEGRAM_WEBHOOK_SECRET")
        if self.stripe_api_key and not self.stripe_webhook_secret:
            missing.append("SIGNALHUB_STRIPE_WEBHOOK_SECRET")
        if missing:
            raise ValueError(
                "production needs these settings (PostgreSQL for the database): "
                + ", ".join(missing)
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def worker_in_process(self) -> bool:
        """The embedded default runs the worker inside `serve`; otherwise `signalhub worker`."""
        if self.run_worker_in_process is not None:
            return self.run_worker_in_process
        return self.is_sqlite

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def stripe_enabled(self) -> bool:
        return self.stripe_api_key is not None or bool(self.stripe_webhook_secret)

    def jwt_key(self) -> str:
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return _kept_development_secret("jwt_secret", lambda: secrets.token_urlsafe(48))

    def device_secret_fernet_key(self) -> str:
        """Encrypts device secrets at rest. Development keeps a generated one under var/;
        production refuses to start without it (see _production_needs_secrets)."""
        if self.device_secret_key is not None:
            return self.device_secret_key.get_secret_value()
        return _kept_development_secret("device_secret_key", lambda: Fernet.generate_key().decode())

    def init_data_bot_token(self) -> str:
        """The token Mini App initData is signed with. Without a real bot, development gets a
        generated one so `signalhub demo-link` works out of the box; production never does."""
        if self.telegram_bot_token is not None:
            return self.telegram_bot_token.get_secret_value()
        if self.env is Environment.production:
            raise RuntimeError("SIGNALHUB_TELEGRAM_BOT_TOKEN is not set")
        return _kept_development_secret(
            "dev_bot_token", lambda: f"{secrets.randbelow(10**9)}:{secrets.token_urlsafe(26)}"
        )


_kept_secrets: dict[str, str] = {}


def _kept_development_secret(name: str, generate: Callable[[], str]) -> str:
    """Generated once and kept under var/, so development sessions survive a restart."""
    if name not in _kept_secrets:
        path = VAR_DIR / name
        if not path.exists():
            VAR_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(generate())
            path.chmod(0o600)
        _kept_secrets[name] = path.read_text().strip()
    return _kept_secrets[name]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def describe_configuration_error(error: ValidationError) -> str:
    """The problems only: pydantic's own text repeats the input, secrets included."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in problem["loc"])
        lines.append(f"- {where + ': ' if where else ''}{problem['msg']}")
    return "\n".join(lines)
