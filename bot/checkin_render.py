"""How check-in messages look in Telegram (HTML). Questionnaire wording comes from content, in
the guardian's language, and is escaped; only our own frame is gettext.

Messages about check-ins may be read on a shared phone: they name the child by nickname and
never show what was answered or that anyone was told."""
from __future__ import annotations

from typing import Any

from aiogram.utils.i18n import gettext as _

from bot.texts import escape_text as escape
from core.checkin.safety import SafetyMessage
from core.checkin.views import QuestionView


def question_html(view: QuestionView, *, with_intro: bool = False, lead: str | None = None) -> str:
    """The question with a progress mark ("3/17"); the first message also has the title and intro."""
    parts = []
    if lead:
        parts.append(escape(lead))
    if with_intro:
        parts.append(f"<b>{escape(view.title)}</b>\n{escape(view.intro)}")
        head = f"<b>{view.number}/{view.total}</b>"
    else:
        head = f"<b>{escape(view.title)}</b> · <b>{view.number}/{view.total}</b>"
    lines = [head]
    if view.stem:
        lines.append(escape(view.stem))
    lines.append(escape(view.text))
    parts.append("\n".join(lines))
    return "\n\n".join(parts)


def reminder_lead(content: dict[str, Any]) -> str:
    nickname = content.get("nickname")
    if content.get("answered"):
        return _("A gentle reminder: you have answered {answered} of {total}. Carry on where you left off:").format(
            answered=content["answered"], total=content["total"])
    if nickname:
        return _("A gentle reminder: the questions about {nickname} are still waiting. "
                 "They take a minute or two.").format(nickname=nickname)
    return _("A gentle reminder: the questions about how you are doing are still waiting. "
             "They take a minute or two.")


def closed_html(content: dict[str, Any]) -> str:
    nickname = content.get("nickname")
    if nickname:
        text = _("The questions about {nickname} have closed. Thank you for the answers you gave: they are kept. "
                 "New questions will come as usual.").format(nickname=nickname)
    else:
        text = _("The questions about how you are doing have closed. Thank you for the answers you gave: they are "
                 "kept. New questions will come as usual.")
    return escape(text)


def being_answered_html() -> str:
    return escape(_("Someone in your family is answering these questions. Thank you!"))


def answered_by_other_html() -> str:
    return escape(_("Someone in your family has answered these questions. Thank you!"))


def thanks_html() -> str:
    return escape(_("Thank you! That was the last question.") + "\n\n" + _(
        "Is there anything you want the child director to know? You can type it here, "
        "or tap the button below."))


def safety_html(message: SafetyMessage) -> str:
    """The versioned safety text with the cohort's local lines and the child director where
    {lines} stands."""
    lines = [f"• {number} {label}".rstrip() for number, label in message.lines]
    if message.director and message.director_phone:
        lines.append(_("• Your child director: {name}, phone {phone}").format(name=message.director,
                                                                           phone=message.director_phone))
    elif message.director:
        lines.append(_("• Your child director: {name}").format(name=message.director))
    else:
        lines.append(_("• Your village's child director"))
    body = escape(message.body)
    return body.replace("{lines}", escape("\n".join(lines)))
