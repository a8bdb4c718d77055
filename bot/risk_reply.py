"""What a guardian is told after words the risk scan marks orange: honestly, that a person — their
child director — will read the message today, and, because an orange sign may still be danger now,
where to call at once. Red gets the full safety message instead (core.checkin.safety). Like the
safety message it may be read on a shared phone: it never repeats what was written or about whom."""
from __future__ import annotations

from html import escape

from aiogram.utils.i18n import gettext as _


def orange_reply_html(director: str | None) -> str:
    if director:
        lead = _("Thank you for telling us. Your child director, {director}, will read your message today "
                 "and may call you.").format(director=escape(director))
    else:
        lead = _("Thank you for telling us. Your child director will read your message today and may call you.")
    return lead + "\n\n" + _("If the child (or you) is in danger right now, call 110 (police) or 120 (ambulance) "
                             "at once.")
