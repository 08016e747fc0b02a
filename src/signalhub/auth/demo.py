"""Opens the Mini App in a plain browser as a seeded user, through the real initData check:
the launch parameters go in the URL hash exactly as Telegram Web passes them."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import quote

from signalhub.auth import init_data
from signalhub.config import Environment, Settings

THEME = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#999999",
    "link_color": "#2481cc",
    "button_color": "#2481cc",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#efeff3",
}


class DemoLinkRefused(RuntimeError):
    pass


def launch_url(settings: Settings, telegram_id: int, first_name: str, now: datetime) -> str:
    if settings.env is Environment.production:
        raise DemoLinkRefused("demo-link signs in without Telegram; it never runs in production")
    user = json.dumps({"id": telegram_id, "first_name": first_name}, separators=(",", ":"))
    raw = init_data.sign(
        {"user": user, "auth_date": str(int(now.timestamp()))}, settings.init_data_bot_token()
    )
    launch = {
        "tgWebAppData": raw,
        "tgWebAppVersion": "8.0",
        "tgWebAppPlatform": "weba",
        "tgWebAppThemeParams": json.dumps(THEME, separators=(",", ":")),
    }
    fragment = "&".join(f"{key}={quote(value, safe='')}" for key, value in launch.items())
    return f"{settings.public_url.rstrip('/')}/miniapp/#{fragment}"
