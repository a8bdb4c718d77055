"""What to show for a flow's current step. Handlers never decide what comes next: core moves
the Draft on, and this module renders whatever step it is at."""
from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date
from html import escape

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards import flow as kb
from bot.texts import (
    N_,
    both,
    child_line,
    child_lines,
    identity_lines,
    join_names,
    relationship_label,
    residence_sentence,
)
from core.content.texts import current_text
from core import people as rules
from core.enrolment import service as enrolment
from core.locales import localized, pick_locale, to_babel
from core.models import Draft

log = logging.getLogger(__name__)

CHOOSE_LANGUAGE = N_("Please choose your language.")


@dataclass
class Prompt:
    text: str
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None


class ContentMissing(RuntimeError):
    """The consent text was never loaded (`shouwang content load`)."""


def draft_locale(i18n: I18n, draft: Draft | None) -> AbstractContextManager[None]:
    """Speak the language chosen in the flow, even if it was chosen during this update."""
    if draft is not None and draft.locale:
        return i18n.use_locale(to_babel(draft.locale))
    return nullcontext()


async def step_prompt(session: AsyncSession, draft: Draft, *, today: date) -> Prompt:
    step = draft.step
    data = draft.data or {}
    child = data.get("child") or {}
    nickname = escape(child.get("nickname", ""))
    if step == enrolment.LANGUAGE:
        return Prompt(both(CHOOSE_LANGUAGE), kb.language(draft))
    if step == enrolment.CONSENT:
        doc = await current_text(session, kind="consent")
        if doc is None:
            raise ContentMissing("no consent text loaded")
        text = localized(doc.texts, draft.locale, default="")
        return Prompt(escape(text), kb.consent(draft, doc.version))
    if step == enrolment.RELATIONSHIP:
        return Prompt(_("How are you related to the children you look after?"), kb.relationship(draft))
    if step == enrolment.RESIDENCE:
        return Prompt(_("Do you live with the children?"), kb.residence(draft))
    if step == enrolment.CALL_NAME:
        text = _("What does the family call you? For example 王奶奶 or 小明妈妈.\n\n"
                 "The child director uses it to ask for you when they call or visit. Please type it.")
        return Prompt(text, kb.cancel_only(draft) if draft.flow == "edit_identity" else None)
    if step == enrolment.PHONE:
        text = _("What is your phone number? The child director calls it only to help you and the children.\n\n"
                 "Tap “📱 Share my number” below, or type it (for example 138 1234 5678). "
                 "If you would rather not give it, tap “Skip”.")
        return Prompt(text, kb.share_phone())
    if step == enrolment.VILLAGE:
        text = _("Where is your home? Please type your village group and something that helps find the house, "
                 "for example 三组 村口小卖部旁. The child director uses it to visit you.")
        return Prompt(text, kb.skip(draft))
    if step == enrolment.CHILD_NICKNAME:
        return _nickname_prompt(draft)
    if step == enrolment.CHILD_BIRTH_YEAR:
        text = _("In which year was {nickname} born? Tap the year, or type it (for example 2018).")
        return Prompt(text.format(nickname=nickname), kb.birth_year(draft, rules.selectable_birth_years(today)))
    if step == enrolment.CHILD_BIRTH_MONTH:
        text = _("In which month of {year} was {nickname} born?")
        return Prompt(text.format(year=child.get("birth_year"), nickname=nickname),
                      kb.birth_month(draft, pick_locale(draft.locale)))
    if step == enrolment.CHILD_SEX:
        return Prompt(_("Is {nickname} a girl or a boy?").format(nickname=nickname), kb.sex(draft))
    if step == enrolment.MORE_CHILDREN:
        names = join_names([c["nickname"] for c in data.get("children") or []])
        text = _("Thank you! So far you have told us about: {names}.\n\nDo you look after another child?")
        return Prompt(text.format(names=names), kb.more_children(draft))
    if step == enrolment.CONFIRM:
        return Prompt(await _summary(session, draft), kb.confirm(draft))
    log.error("draft_id=%s is at an unknown step", draft.id)
    raise RuntimeError(f"unknown step {step!r}")


def _nickname_prompt(draft: Draft) -> Prompt:
    if draft.flow == "edit_child":
        text = _("Let's correct this child's details. Please type the child's nickname — "
                 "only the name you call them at home.")
        return Prompt(text, kb.cancel_only(draft))
    if draft.flow == "add_child":
        text = _("Please type the new child's nickname — the name you call them at home. "
                 "Only a nickname, please: not the full name and not an ID number.")
        return Prompt(text, kb.cancel_only(draft))
    if draft.data.get("children"):
        return Prompt(_("Please type the next child's nickname."))
    return Prompt(_(
        "Now please tell us about the children you look after, one at a time.\n\n"
        "Type the first child's nickname — the name you call them at home. "
        "Only a nickname, please: not the full name and not an ID number."
    ))


async def _summary(session: AsyncSession, draft: Draft) -> str:
    data = draft.data or {}
    if draft.flow == "edit_identity":
        return _("Please check:") + "\n\n" + identity_lines(data.get("call_name"), data.get("phone"),
                                                            data.get("village")) + "\n\n" + _("Is this right?")
    if draft.flow in ("add_child", "edit_child"):
        child = data.get("child") or {}
        line = child_line(1, child["nickname"], child["birth_year"], child["birth_month"], child.get("sex"))
        return _("Please check:\n\n{child}\n\nIs this right?").format(child=line)
    parts = [
        _("Please check your answers:"),
        _("You are the children's: {relationship}").format(
            relationship=relationship_label(data.get("relationship", ""))
        ) + "\n" + residence_sentence(bool(data.get("lives_with_children"))),
        identity_lines(data.get("call_name"), data.get("phone"), data.get("village")),
    ]
    if draft.flow == "join":
        children = await enrolment.draft_household_children(session, draft=draft)
        names = join_names([c.nickname for c in children])
        parts.append(_("You will join the family of: {names}").format(names=names))
    else:
        parts.append(_("Children:") + "\n" + child_lines(list(data.get("children") or [])))
    parts.append(_("Is this right?"))
    return "\n\n".join(parts)


async def send_step(
    bot: Bot, session: AsyncSession, draft: Draft, *, chat_id: int, today: date, i18n: I18n,
    hint: str | None = None,
) -> None:
    """Send the prompt for the draft's current step, with an optional line before it that
    says why we are asking again."""
    with draft_locale(i18n, draft):
        prompt = await step_prompt(session, draft, today=today)
    text = prompt.text if hint is None else f"{hint}\n\n{prompt.text}"
    await bot.send_message(chat_id=chat_id, text=text, reply_markup=prompt.markup)
