"""`/start <payload>` deep links: `t.me/<bot>?start=shop`, `...?start=login_<code>`.

A router that acts on one kind registers its handler with `CommandStart(), StartPayloadIs("login")`
and receives the parsed `start_payload` in the handler's data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiogram.filters import CommandObject, Filter
from aiogram.types import Message


@dataclass(frozen=True)
class StartPayload:
    kind: str | None
    value: str | None = None

    @classmethod
    def parse(cls, args: str | None) -> StartPayload:
        if not args:
            return cls(None)
        kind, _, value = args.partition("_")
        return cls(kind, value or None)


class StartPayloadIs(Filter):
    """After `CommandStart()`: optionally one payload kind; injects the parsed `start_payload`."""

    def __init__(self, kind: str | None = None) -> None:
        self.kind = kind

    async def __call__(self, message: Message, command: CommandObject) -> bool | dict[str, Any]:
        payload = StartPayload.parse(command.args)
        if self.kind is not None and payload.kind != self.kind:
            return False
        return {"start_payload": payload}
