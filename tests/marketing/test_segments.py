"""Every segment against the fixture population: the preview count and the recipients resolved
when sending starts agree, and blocked or opted-out users are never in them."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.config import Settings
from signalhub.db import Database
from signalhub.errors import Unprocessable
from signalhub.kit.time import utcnow
from signalhub.marketing import segments
from signalhub.marketing import service as marketing
from signalhub.marketing.schemas import BroadcastCreate
from signalhub.models import User
from tests.marketing.conftest import make_template, recipients, tick

FREE = {"free_en", "free_de", "free_en_us", "lapsed_recent", "lapsed_old", "refunded"}
PAID = {"premium", "premium_and_vip", "vip", "enterprise", "expiring_premium"}
EXPECTED = {
    ("all", None): FREE | PAID,
    ("free", None): FREE,
    ("premium", None): {"premium", "expiring_premium"},
    ("vip", None): {"vip", "premium_and_vip"},
    ("enterprise", None): {"enterprise"},
    ("paid", None): PAID,
    ("expiring:7", None): {"expiring_premium"},
    ("expiring:60", None): PAID,
    ("lapsed:30", None): {"lapsed_recent"},
    ("lapsed:90", None): {"lapsed_recent", "lapsed_old"},
    ("all", "de"): {"free_de"},
    ("free", "en"): FREE - {"free_de"},
    ("all", "en-us"): {"free_en_us"},
}


@pytest.mark.parametrize(("segment", "language"), list(EXPECTED))
async def test_each_segment_resolves_to_exactly_its_users(
    segment: str,
    language: str | None,
    population: dict[str, User],
    session: AsyncSession,
    database: Database,
    settings: Settings,
) -> None:
    expected = {population[name].id for name in EXPECTED[(segment, language)]}
    assert await marketing.segment_size(session, segment, language, utcnow()) == len(expected)

    template = await make_template(session, settings)
    broadcast = await marketing.create_broadcast(
        session,
        BroadcastCreate(template_id=template.id, segment=segment, language=language),
        None,
        utcnow(),
    )
    await session.commit()
    await tick(database, settings)
    assert await recipients(session, broadcast.id) == expected


@pytest.mark.parametrize("text", ["everyone", "expiring", "lapsed:0", "lapsed:99999", "vip:3", ""])
def test_unknown_segments_are_refused_naming_them(text: str) -> None:
    with pytest.raises(Unprocessable) as raised:
        segments.parse(text)
    assert raised.value.code == "unknown_segment"
