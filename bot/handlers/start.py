"""/start, with a code (deep link or typed) or without one."""
from __future__ import annotations

import logging
from html import escape

from aiogram import Bot, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import BotCommandScopeChat, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.addresses import address_of
from bot.alert_render import staff_help
from bot.handlers.director import staff_commands
from bot.prompts import send_step
from bot.texts import CODE_PROBLEMS, NEED_INVITATION, STAFF_ROLES, both, help_text, join_names
from core.clock import Clock
from core.config import Settings
from core.enrolment import service as enrolment
from core.locales import to_babel
from core.models import Draft, Guardian, Staff
from core.models.enums import DraftFlow, GuardianStatus
from core.staff import service as staff_service

log = logging.getLogger(__name__)


async def on_start(
    message: Message, command: CommandObject, bot: Bot, session: AsyncSession, i18n: I18n,
    settings: Settings, clock: Clock, guardian: Guardian | None, staff: Staff | None, draft: Draft | None,
) -> None:
    if command.args:
        await _start_with_code(message, command.args, bot, session, i18n, settings, clock, guardian)
    else:
        await _start_without_code(message, bot, session, i18n, clock, guardian, staff, draft)


async def _start_with_code(
    message: Message, code: str, bot: Bot, session: AsyncSession, i18n: I18n,
    settings: Settings, clock: Clock, guardian: Guardian | None,
) -> None:
    chat_id = message.chat.id
    now = clock()
    result = await enrolment.resolve_code(
        session, address=address_of(chat_id), code=code, now=now,
        max_attempts=settings.code_attempts_max, window_minutes=settings.code_attempts_window_minutes,
    )
    if result.problem is not None:
        # The wrong attempt is stored (it slows down guessing) even though nothing else is.
        await session.commit()
        log.info("chat_id=%s code rejected: %s", chat_id, result.problem)
        text = both(CODE_PROBLEMS.get(result.problem, CODE_PROBLEMS["unknown"]),
                    minutes=result.retry_after_minutes)
        await message.answer(text)
        return

    if result.kind == "staff":
        assert result.staff is not None
        linked = await staff_service.link_address(session, staff=result.staff, address=address_of(chat_id),
                                                now=now)
        cohorts = await staff_service.staff_cohort_names(session, staff_id=linked.id)
        await session.commit()
        with i18n.use_locale(to_babel(linked.locale)):
            text = _("Done: this chat is now linked to your staff account, {name} ({role}).").format(
                name=escape(linked.display_name), role=str(STAFF_ROLES.get(linked.role, linked.role))
            )
            if cohorts:
                text += "\n" + _("Your groups: {cohorts}").format(cohorts=join_names(cohorts))
            await message.answer(text + "\n\n" + staff_help())
            # This chat's own command menu: the staff commands, in their language.
            await bot.set_my_commands(staff_commands(), scope=BotCommandScopeChat(chat_id=chat_id))
        return

    if guardian is not None:
        await message.answer(_(
            "You are already enrolled in Shouwang. One person can belong to one family only. "
            "To move to another family, first send /delete to erase your data, then open the new link."
        ))
        return

    if result.kind == "invitation":
        assert result.invitation is not None
        draft = await enrolment.begin_flow(
            session, address=address_of(chat_id), flow=DraftFlow.enrol, invitation_id=result.invitation.id, now=now
        )
    else:
        assert result.household_invite is not None
        draft = await enrolment.begin_flow(
            session, address=address_of(chat_id), flow=DraftFlow.join,
            household_invite_id=result.household_invite.id, now=now,
        )
    await session.commit()
    await send_step(bot, session, draft, chat_id=chat_id, today=now.date(), i18n=i18n)


async def _start_without_code(
    message: Message, bot: Bot, session: AsyncSession, i18n: I18n, clock: Clock,
    guardian: Guardian | None, staff: Staff | None, draft: Draft | None,
) -> None:
    now = clock()
    if draft is not None:
        # Pick up where they left off; nothing new is created.
        await send_step(bot, session, draft, chat_id=message.chat.id, today=now.date(), i18n=i18n)
        return
    if guardian is not None and guardian.status == GuardianStatus.stopped:
        enrolment.restart_guardian(guardian, now=now)
        await session.commit()
        await message.answer(
            _("Welcome back! You will receive lessons and questions again.") + "\n\n" + help_text()
        )
        return
    if guardian is not None:
        await message.answer(_("You are enrolled in Shouwang.") + "\n\n" + help_text())
        return
    if staff is not None:
        await message.answer(_("This chat is linked to your staff account, {name}.").format(
            name=escape(staff.display_name)))
        return
    await message.answer(both(NEED_INVITATION))


def make_router() -> Router:
    router = Router(name="start")
    router.message.register(on_start, CommandStart())
    return router
