"""Short notices about the family (core.enrolment.notices), in the reader's language: the guardian
whose household invite was used, the directors when a guardian leaves. Nothing here says what
anyone answered."""
from __future__ import annotations

from typing import Any

from aiogram.utils.i18n import gettext as _

from bot.texts import relationship_label


def invite_used_html(content: dict[str, Any]) -> str:
    return _("Your family link was used: {who} has joined your family in Shouwang and will get the lessons too. "
             "They will not see your answers. If you did not give the link to anyone, please tell your child "
             "director.").format(who=relationship_label(content.get("relationship") or "other_carer"))


def guardian_left_html(content: dict[str, Any]) -> str:
    values = {"id": content.get("household_id"),
              "who": relationship_label(content.get("relationship") or "other_carer")}
    if content.get("how") == "stopped":
        return _("A guardian of household #{id} ({who}) has stopped all messages from Shouwang. The bot cannot "
                 "reach them now; please call or visit if you need to.").format(**values)
    return _("A guardian of household #{id} ({who}) has left Shouwang and erased their data. Others of the "
             "family still take part.").format(**values)
