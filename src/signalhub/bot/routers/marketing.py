"""`/broadcast` for admins, a short guided flow: choose a template or write the text, see the
preview, choose a segment (its size shown), confirm; one message then shows the progress.
`/stop_marketing` and `/start_marketing` for everyone."""

from __future__ import annotations

from enum import StrEnum

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.config import Settings
from signalhub.errors import AppError
from signalhub.kit.time import utcnow
from signalhub.marketing import service as marketing
from signalhub.marketing.schemas import BroadcastCreate, TemplateCreate
from signalhub.models import BroadcastTemplate, Role, User
from signalhub.outbox.sender import reply_markup

SEGMENT_CHOICES = (
    ("Everyone", "all"),
    ("Free", "free"),
    ("Any paid tier", "paid"),
    ("Premium", "premium"),
    ("VIP", "vip"),
    ("Enterprise", "enterprise"),
    ("Paid, ending within 7 days", "expiring:7"),
    ("Lapsed in the last 30 days", "lapsed:30"),
)
TEMPLATES_SHOWN = 8


class BroadcastFlow(StatesGroup):
    choosing_source = State()
    writing_text = State()
    choosing_segment = State()
    confirming = State()


class Step(StrEnum):
    template = "template"
    write = "write"
    segment = "segment"
    confirm = "confirm"
    abort = "abort"


class BroadcastCallback(CallbackData, prefix="bcast", sep="|"):
    step: Step
    value: str = ""


def _button(text: str, step: Step, value: str = "") -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(
            text=text, callback_data=BroadcastCallback(step=step, value=value).pack()
        )
    ]


async def start_flow(
    message: Message, user: User, session: AsyncSession, state: FSMContext
) -> None:
    if user.role != Role.admin:
        await message.answer("Only admins can send broadcasts.")
        return
    templates = await marketing.list_templates(session, active_only=True)
    rows = [
        _button(f"📄 {template.title}", Step.template, str(template.id))
        for template in templates[:TEMPLATES_SHOWN]
    ]
    rows += [_button("✍️ Write the text", Step.write), _button("Cancel", Step.abort)]
    await state.set_state(BroadcastFlow.choosing_source)
    await message.answer(
        "New broadcast. Choose a template or write the text:",
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


async def choose_template(
    query: CallbackQuery,
    callback_data: BroadcastCallback,
    session: AsyncSession,
    settings: Settings,
    user: User,
    state: FSMContext,
) -> None:
    await query.answer()
    try:
        template = await marketing.get_template(session, int(callback_data.value))
    except (AppError, ValueError):
        await _reply(query, "That template is gone; send /broadcast again.")
        await state.clear()
        return
    await _preview_and_ask_segment(query.message, template, session, settings, user, state)


async def ask_for_text(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    await state.set_state(BroadcastFlow.writing_text)
    await _reply(
        query,
        "Send the message text. Formatting is kept; {first_name} is replaced by each "
        "recipient's first name.",
    )


async def receive_text(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    user: User,
    state: FSMContext,
) -> None:
    text = message.html_text if message.text else ""
    title = (message.text or "")[:40] or "Broadcast"
    try:
        template = await marketing.create_template(
            session, settings, TemplateCreate(title=f"From the bot: {title}", text=text), user.id
        )
    except AppError as error:
        await message.answer(f"{error.message} Send the text again, or /cancel.")
        return
    await _preview_and_ask_segment(message, template, session, settings, user, state)


async def _preview_and_ask_segment(
    message: object,
    template: BroadcastTemplate,
    session: AsyncSession,
    settings: Settings,
    user: User,
    state: FSMContext,
) -> None:
    if not isinstance(message, Message):
        return
    preview = marketing.preview(settings, template, user.first_name)
    markup = reply_markup(preview.buttons)
    if preview.photo_url is not None:
        await message.answer_photo(
            preview.photo_url, caption=preview.text, parse_mode="HTML", reply_markup=markup
        )
    else:
        await message.answer(preview.text, parse_mode="HTML", reply_markup=markup)
    now = utcnow()
    rows = []
    for label, segment in SEGMENT_CHOICES:
        size = await marketing.segment_size(session, segment, None, now)
        rows.append(_button(f"{label} ({size})", Step.segment, segment))
    rows.append(_button("Cancel", Step.abort))
    await state.update_data(template_id=template.id)
    await state.set_state(BroadcastFlow.choosing_segment)
    await message.answer(
        "↑ This is the preview. Who should get it?",
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


async def choose_segment(
    query: CallbackQuery,
    callback_data: BroadcastCallback,
    session: AsyncSession,
    state: FSMContext,
) -> None:
    await query.answer()
    segment = callback_data.value
    size = await marketing.segment_size(session, segment, None, utcnow())
    await state.update_data(segment=segment)
    await state.set_state(BroadcastFlow.confirming)
    await _reply(
        query,
        f"Send it now to '{segment}' ({size} recipients right now)?",
        InlineKeyboardMarkup(
            inline_keyboard=[_button("✅ Send", Step.confirm), _button("Cancel", Step.abort)]
        ),
    )


async def confirm(
    query: CallbackQuery, session: AsyncSession, user: User, state: FSMContext
) -> None:
    await query.answer()
    data = await state.get_data()
    await state.clear()
    broadcast = await marketing.create_broadcast(
        session,
        BroadcastCreate(template_id=data["template_id"], segment=data["segment"]),
        user.id,
        utcnow(),
    )
    await marketing.report_progress_to(session, broadcast, user.telegram_id)


async def abort(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    await state.clear()
    await _reply(query, "Broadcast cancelled; nothing was sent.")


async def abort_command(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer("Broadcast cancelled; nothing was sent.")


async def _reply(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    if isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=markup)


async def stop_marketing(message: Message, user: User, session: AsyncSession) -> None:
    await marketing.set_subscribed(session, user, False)
    await message.answer(
        "Done: no more promotions. Signals and receipts still arrive. /start_marketing undoes it."
    )


async def start_marketing(message: Message, user: User, session: AsyncSession) -> None:
    await marketing.set_subscribed(session, user, True)
    await message.answer("You will get our news and offers again. /stop_marketing to stop.")


def create_router() -> Router:
    router = Router(name="marketing")
    router.message.register(stop_marketing, Command("stop_marketing"))
    router.message.register(start_marketing, Command("start_marketing"))
    router.message.register(start_flow, Command("broadcast"))
    in_flow = StateFilter(BroadcastFlow)
    router.message.register(abort_command, Command("cancel"), in_flow)
    router.message.register(receive_text, BroadcastFlow.writing_text, F.text)
    router.callback_query.register(abort, BroadcastCallback.filter(F.step == Step.abort), in_flow)
    router.callback_query.register(
        choose_template,
        BroadcastCallback.filter(F.step == Step.template),
        BroadcastFlow.choosing_source,
    )
    router.callback_query.register(
        ask_for_text, BroadcastCallback.filter(F.step == Step.write), BroadcastFlow.choosing_source
    )
    router.callback_query.register(
        choose_segment,
        BroadcastCallback.filter(F.step == Step.segment),
        BroadcastFlow.choosing_segment,
    )
    router.callback_query.register(
        confirm, BroadcastCallback.filter(F.step == Step.confirm), BroadcastFlow.confirming
    )
    return router
