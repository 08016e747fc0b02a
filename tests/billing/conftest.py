from __future__ import annotations

from collections.abc import Iterator

import pytest

from signalhub.config import Settings
from tests.conftest import TEST_WEBHOOK_SECRET, make_settings
from tests.fakes.stripe_api import FakeStripe
from tests.fakes.telegram_api import FakeTelegramAPI

STRIPE_API_KEY = "sk_test_fake_0123456789abcdefghij"


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(
    database_url: str, telegram_server: FakeTelegramAPI, fake_stripe: FakeStripe
) -> Settings:
    """Both providers configured, each answered by its fake."""
    return make_settings(
        database_url,
        telegram_api_base=telegram_server.base_url,
        telegram_webhook_secret=TEST_WEBHOOK_SECRET,
        stripe_api_key=STRIPE_API_KEY,
        stripe_webhook_secret=["whsec_test_0123456789abcdef"],
        stripe_api_base=fake_stripe.base_url,
        public_url="https://signals.example.com",
    )
