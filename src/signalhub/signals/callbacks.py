"""The Approve / Reject buttons under a signal in the bot. Built by the service (the outbox
stores them) and read back by the bot's approvals router: one typed definition for both."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from signalhub.outbox.service import Buttons


class ApprovalCallback(CallbackData, prefix="approval"):
    approval_id: int
    approve: bool


def approval_buttons(approval_id: int) -> Buttons:
    return [
        [
            {
                "text": "✅ Approve",
                "callback_data": ApprovalCallback(approval_id=approval_id, approve=True).pack(),
            },
            {
                "text": "❌ Reject",
                "callback_data": ApprovalCallback(approval_id=approval_id, approve=False).pack(),
            },
        ]
    ]
