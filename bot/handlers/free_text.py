"""Whatever a guardian types or sends that no command or flow took. Words right after a
check-in's last question are its note (scanned with the risk lexicon: a red hit is an alert and the
safety message, an orange one an alert and an honest word that the child director reads it today). In the middle of a check-in, the guardian is steered back to the waiting
question (typed words are scanned first). Anything else — words, a voice note, a photo, a
video, a file — goes to the directors' inbox (bot.handlers.inbox): never silence, never lost."""
from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.checkins import ask_current, send_safety
from bot.handlers.fallback import on_anything_else
from bot.handlers.guards import is_guardian
from bot.handlers.inbox import take_in
from bot.risk_reply import orange_reply_html
from core.flows import checkin as conversation
from core.checkin.free_text import pending_note, receive_text
from core.checkin.risk import RiskScanner
from core.checkin.safety import reserve_safety_message
from core.clock import Clock
from core.staff.directors import primary_director_name
from core.models import Guardian, Staff
from core.flows.delivery import AtOnce


async def _steer_to_question(message: Message, bot: Bot, session: AsyncSession, guardian: Guardian,
                             clock: Clock) -> bool:
    """If they are in the middle of a check-in, show where they are. Returns whether it did."""
    for checkin in await conversation.open_for(session, guardian=guardian, now=clock()):
        if checkin.claimed_by_guardian_id != guardian.id:
            continue
        view = await conversation.current_question(session, checkin=checkin, guardian=guardian)
        if view is not None:
            await ask_current(bot, message.chat.id, view,
                              lead=_("Please tap one of the answers under the question."))
            return True
    return False


async def _in_checkin(session: AsyncSession, guardian: Guardian, clock: Clock) -> bool:
    for checkin in await conversation.open_for(session, guardian=guardian, now=clock()):
        if checkin.claimed_by_guardian_id == guardian.id and await conversation.current_question(
                session, checkin=checkin, guardian=guardian) is not None:
            return True
    return False


async def on_text(message: Message, bot: Bot, session: AsyncSession, guardian: Guardian, staff: Staff | None,
                  clock: Clock, risk_scanner: RiskScanner, at_once: AtOnce) -> None:
    now = clock()
    # Words from a guardian who stopped the messages still reach a person (take_in says how to restart).
    if await pending_note(session, guardian_id=guardian.id, now=now) is None \
            and not await _in_checkin(session, guardian, clock):
        await take_in(message, bot, session, guardian, clock, risk_scanner, at_once)
        return
    result = await receive_text(session, guardian=guardian, text=message.text or "", scanner=risk_scanner, now=now)
    reserved = None
    if result.tier == "red" and result.stored is not None:
        reserved = await reserve_safety_message(session, guardian=guardian, cohort_id=result.stored.cohort_id,
                                                ref=f"text:{result.stored.id}", now=now)
    await session.commit()  # the note, the flagged words and the alert are stored before any reply
    if reserved is not None:
        await send_safety(at_once, session, reserved, clock)
    if result.tier == "orange" and result.stored is not None:  # the reply says the director will read it
        director = await primary_director_name(session, cohort_id=result.stored.cohort_id)
        await message.answer(orange_reply_html(director))
        return
    if result.note_for is not None:
        await message.answer(_("Thank you. Your note is kept for the child director."))
        return
    if result.hit:
        return  # the safety message is the reply
    if not await _steer_to_question(message, bot, session, guardian, clock):
        await on_anything_else(message, guardian, staff, session)


async def on_other_content(message: Message, bot: Bot, session: AsyncSession, guardian: Guardian,
                           staff: Staff | None, clock: Clock, risk_scanner: RiskScanner, at_once: AtOnce) -> None:
    """A sticker, a voice note, a photo…: during a check-in or its note, say how to go on;
    otherwise it goes to the inbox."""
    in_note = await pending_note(session, guardian_id=guardian.id, now=clock()) is not None
    if not in_note and not await _in_checkin(session, guardian, clock):
        await take_in(message, bot, session, guardian, clock, risk_scanner, at_once)
        return
    if in_note:
        await message.answer(_("I can only read typed words. Please type your note, or tap “No, that's all”."))
        return
    if not await _steer_to_question(message, bot, session, guardian, clock):
        await on_anything_else(message, guardian, staff)


def make_router() -> Router:
    router = Router(name="free_text")
    router.message.filter(is_guardian)
    router.message.register(on_text, F.text & ~F.text.startswith("/"))
    router.message.register(on_other_content, ~F.text)
    return router
