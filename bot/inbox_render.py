"""How inbox items look in a staff member's chat (HTML), what a guardian is told when their
words go to the director, and how a director's reply reads on the guardian's phone. Everything
that came from people (a guardian's words, a director's reply, nicknames) is escaped."""
from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.alert_render import SEVERITY, family_html
from bot.texts import escape_text as escape
from bot.texts import relationship_label
from core.inbox.views import DirectorContact, Family, InboxCard, ThreadLine

MEDIA = {
    "voice": __("🎤 a voice note"),
    "photo": __("🖼 a photo"),
    "video": __("🎬 a video"),
    "video_note": __("🎥 a round video"),
    "audio": __("🎵 an audio file"),
    "document": __("📄 a file"),
    "other": __("a message that could not be shown"),
}


def family_line(family: Family) -> str:
    """The family as staff see it on every inbox card and digest: one function, so a richer
    label (name, phone, village group) is added in one place."""
    parts = [family_html(family.household_id, family.label)] if family.household_id else []
    if family.relationship:
        where = _("lives with the child") if family.lives_with_children else _("works away")
        parts.append(_("{relationship} ({where})").format(relationship=relationship_label(family.relationship),
                                                          where=where))
    return " · ".join(parts) or _("a family that has left")


def about_line(card: InboxCard) -> str:
    if card.subject == "child" and card.nickname:
        return _("About: {nickname} ({age} years old)").format(nickname=escape(card.nickname), age=card.age)
    if card.subject == "asking":
        return _("About: the guardian is being asked which child")
    return _("About: the whole family")


def _message_line(line: ThreadLine, *, above: bool) -> str:
    if line.direction == "out":
        who = escape(line.staff or "?")
        body = f"“{escape(line.text)}”" if line.text else str(MEDIA["voice"])
        text = f"↩️ {line.local} {who}: {body}"
        if line.status == "undelivered":
            text += " · " + _("⚠️ not delivered: the family has blocked the bot or left. Please call them.")
        elif line.status == "delivered":
            text += " · " + _("delivered")
        return text
    if line.status == "not_shown" or line.kind == "other":
        body = _("⚠️ A message that could not be shown here. Please call the family and ask.")
    elif line.kind == "text":
        body = f"“{escape(line.text or '')}”"
    else:
        body = str(MEDIA.get(line.kind, line.kind))
        if above:
            body = _("{what} (above)").format(what=body)
        if line.text:
            body += f" “{escape(line.text)}”"
    return f"💬 {line.local} {body}"


def status_line(card: InboxCard) -> str:
    if card.state == "done":
        return _("✔️ Done by {name} at {time}").format(name=escape(card.done_by or "?"), time=card.done_local or "")
    text = _("⏳ Not done yet")
    if card.call_noted_by:
        text = _("📞 Call noted by {name} at {time}").format(name=escape(card.call_noted_by),
                                                             time=card.call_noted_local or "") + "\n" + text
    return text


CARD_LIMIT = 3800  # Telegram's 4096 characters, with room for the frame
SHOWN_MESSAGES = 8  # a long conversation shows its newest messages on the phone; /inbox and the API have all


def inbox_card_html(card: InboxCard) -> str:
    """The card, within Telegram's length: a long conversation shows its newest messages, each
    shortened to its share of the card (never cut through the HTML)."""
    text = _card_html(card)
    if len(text) <= CARD_LIMIT:
        return text
    short = InboxCard.from_payload(card.as_payload())
    earlier = max(len(short.thread) - SHOWN_MESSAGES, 0)
    short.thread = short.thread[earlier:]
    share = max(80, (CARD_LIMIT - 800) // max(len(short.thread), 1))
    for line in short.thread:
        if line.text and len(line.text) > share:
            line.text = line.text[: share - 1] + "…"
    return _card_html(short, earlier=earlier)


def _card_html(card: InboxCard, *, earlier: int = 0) -> str:
    lines = ["<b>" + _("📨 A message from a family") + "</b> · " + _("inbox #{id}").format(id=card.item_id)]
    lines.append(family_line(card.family_label))
    lines.append(about_line(card))
    if card.alert_severity:
        alert = str(SEVERITY.get(card.alert_severity, card.alert_severity))
        lines.append(_("{alert} raised by these words").format(alert=alert)
                     + (" · " + _("case #{id}").format(id=card.case_id) if card.case_id else ""))
    elif card.case_id:
        lines.append(_("case #{id}").format(id=card.case_id))
    lines.append("")
    if earlier:
        lines.append(_("… {n} earlier messages: send /inbox").format(n=earlier))
    for line in card.thread:
        lines.append(_message_line(line, above=line.id == card.carries_message_id))
    lines.append("")
    lines.append(status_line(card))
    return "\n".join(lines)


def inbox_list_html(cards: list[InboxCard]) -> str:
    if not cards:
        return _("No open messages from families. Thank you for keeping watch.")
    out = [_("Messages from families not yet done, the longest waiting first:"), ""]
    for card in cards:
        first = card.thread[0] if card.thread else None
        what = (f"“{escape(_short(first.text))}”" if first and first.kind == "text" and first.text
                else str(MEDIA.get(first.kind, "")) if first else "")
        out.append("• " + _("inbox #{id}").format(id=card.item_id) + f" · {card.received_local} · "
                   + family_line(card.family_label) + f" · {what}")
    return "\n".join(out)


def _short(text: str | None, limit: int = 40) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def digest_html(cards: list[InboxCard]) -> str:
    out = [_("📨 Messages from families nobody has read yet ({n}):").format(n=len(cards)), ""]
    for card in cards:
        first = card.thread[0] if card.thread else None
        what = (f"“{escape(_short(first.text))}”" if first and first.kind == "text" and first.text
                else str(MEDIA.get(first.kind, "")) if first else "")
        out.append("• " + _("inbox #{id}").format(id=card.item_id) + f" · {card.received_local} · "
                   + family_line(card.family_label) + f" · {what}")
    out.append("")
    out.append(_("Send /inbox to read and answer them."))
    return "\n".join(out)


def news_html(card_occurrences: int, words: str | None, severity: str, case_id: int | None) -> str:
    head = _("New: the same concern again ({n} times now)").format(n=card_occurrences)
    lines = [f"<b>{head}</b>", str(SEVERITY.get(severity, severity))
             + (" · " + _("case #{id}").format(id=case_id) if case_id else "")]
    if words:
        lines.append(f"“{escape(words)}”")
    return "\n".join(lines)


def contact_lines(contact: DirectorContact) -> str:
    """Who to reach: the director's name and, where they share it, their number."""
    if contact.phone:
        return _("For anything urgent you can call {name} at {phone}.").format(
            name=escape(contact.name or ""), phone=escape(contact.phone))
    return ""


def sent_to_director(contact: DirectorContact) -> str:
    """The honest reply when a guardian's words go to the inbox."""
    if contact.name:
        text = _("Thank you. Your message went to the child director, {name}. They will read it and reply to you "
                 "here.").format(name=escape(contact.name))
    else:
        text = _("Thank you. Your message went to the child director of your village. They will read it and reply "
                 "to you here.")
    extra = contact_lines(contact)
    if extra:
        text += "\n" + extra
    return text + "\n" + _("If a child is in danger now, call 110 (police) or 120 (ambulance) at once.")


def sticker_reply() -> str:
    return _("Thank you! I cannot pass stickers on. To tell the child director something, type a few words or "
             "send a voice note.")


def not_shown_reply(contact: DirectorContact) -> str:
    text = _("I could not pass this message on as it is (it may be too large, or a kind I cannot show). Please "
             "type a few words or send a voice note instead.")
    extra = contact_lines(contact)
    return text + ("\n" + extra if extra else "") + "\n" + _(
        "If a child is in danger now, call 110 (police) or 120 (ambulance) at once.")


def relay_text(director: str | None, text: str | None) -> str:
    name = escape(director or _("The child director"))
    if text is None:
        return _("{name} replied to you with a voice note:").format(name=name)
    return _("{name} replied to you: {text}").format(name=name, text=escape(text))


def which_child_question() -> str:
    return _("Thank you. Which child is this about? Tap a name, so that the child director knows.")
