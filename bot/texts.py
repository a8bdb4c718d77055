"""Reusable interface wording: labels for stored values, reasons for refused input, and the
messages shown before we know someone's language (Chinese first, then English).

msgids are English source strings; catalogs live in locales/. N_() only marks a string for
extraction, for texts rendered in a chosen locale later.
"""
from __future__ import annotations

from html import escape

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from babel.dates import get_month_names

from core.locales import to_babel
from core.models import Child

BOTH_LOCALES = ("zh_Hans", "en")


def N_(msgid: str) -> str:
    return msgid


def escape_text(text: str) -> str:
    """People's and content's words in a message body (HTML parse mode): outside attributes,
    quotes need no escaping, so "小明's week" stays readable."""
    return escape(text, quote=False)


def both(msgid: str, **values: object) -> str:
    """One message in both languages, Chinese first: for people whose language we don't know."""
    i18n = I18n.get_current()
    return "\n\n".join(i18n.gettext(msgid, locale=loc).format(**values) for loc in BOTH_LOCALES)


RELATIONSHIPS = {
    "mother": __("Mother"),
    "father": __("Father"),
    "grandmother": __("Grandmother"),
    "grandfather": __("Grandfather"),
    "other_relative": __("Other relative"),
    "other_carer": __("Other carer"),
}

SEXES = {
    "girl": __("Girl"),
    "boy": __("Boy"),
}

STAFF_ROLES = {
    "admin": __("programme admin"),
    "supervisor": __("supervisor"),
    "director": __("child director"),
}

# Time zones offered in /settings: home, and places where Chinese migrant workers often are.
# Any other zone (set by staff) is shown by its IANA name.
TIMEZONES = {
    "Asia/Shanghai": __("Beijing time"),
    "Asia/Urumqi": __("Xinjiang time"),
    "Asia/Tokyo": __("Japan"),
    "Asia/Seoul": __("South Korea"),
    "Asia/Singapore": __("Singapore"),
    "Asia/Dubai": __("Dubai"),
    "Europe/Moscow": __("Moscow"),
}

# Quiet-hour presets in /settings: (start, end, a word on who it suits).
QUIET_PRESETS = (
    ("21:30", "08:00", __("usual")),
    ("22:30", "08:00", None),
    ("23:30", "09:00", __("I finish work late")),
    ("21:00", "07:00", __("I go to bed early")),
)

# Why a /start code could not be used. Shown in both languages.
CODE_PROBLEMS = {
    "unknown": N_(
        "Sorry, this link or code is not right. Please check it, or ask your child director "
        "for a new link."
    ),
    "expired": N_("Sorry, this link has expired. Please ask the person who gave it to you for a new one."),
    "used_up": N_(
        "Sorry, this link has already been used. Please ask the person who gave it to you for a new one."
    ),
    "revoked": N_(
        "Sorry, this link is no longer valid. Please ask your child director for a new one."
    ),
    "too_many_attempts": N_(
        "Too many codes were wrong. Please wait {minutes} minutes, then open the link again."
    ),
}

PLEASE_TAP = N_("Please tap one of the buttons below.")

NEED_INVITATION = N_(
    "Welcome to Shouwang. To join, please open the invitation link or scan the QR code from "
    "your child director."
)

# core Invalid codes -> a reason the guardian can act on.
INVALID_REASONS = {
    "nickname_empty": __("Please type the child's nickname in words."),
    "nickname_too_long": __("That is a bit long. Please type a short nickname (at most {max} characters)."),
    "nickname_has_number": __(
        "Please type only a nickname, without long numbers. We never need a phone or ID number."
    ),
    "not_a_year": __("Please tap a year below, or type a year such as 2018."),
    "not_a_month": __("Please tap a month below, or type a number from 1 to 12."),
    "birth_in_future": __("That date is in the future. Please check the year and month of birth."),
    "child_too_old": __(
        "Shouwang is for children under 18. Please check the year and month of birth."
    ),
    "too_many_children": __("You can tell us about at most {max} children."),
    "call_name_empty": __("Please type in words what the family calls you, for example 王奶奶."),
    "call_name_too_long": __("That is a bit long. Please type a short name (at most {max} characters)."),
    "call_name_has_number": __("Please type only what the family calls you, without numbers. "
                               "You can give your phone number in the next step."),
    "village_empty": __("Please type in words where your home is, for example 三组 村口小卖部旁."),
    "village_too_long": __("That is a bit long. Please keep it short (at most {max} characters)."),
    "phone_invalid": __("Sorry, that does not look like a phone number. Please type an 11-digit mobile number "
                        "such as 138 1234 5678, or a number with its country code such as +44 7700 900123. "
                        "You can also tap “Skip”."),
}


def invalid_reason(code: str, **values: object) -> str:
    reason = INVALID_REASONS.get(code)
    if reason is None:
        return _("Sorry, that did not work. Please try again.")
    return str(reason).format(**values)


def join_names(names: list[str]) -> str:
    """A list of (escaped) names: 小明、小红 in Chinese, "Ming, Hong" in English."""
    chinese = I18n.get_current().current_locale.startswith("zh")
    return ("、" if chinese else ", ").join(escape(name) for name in names)


def timezone_label(tz: str) -> str:
    label = TIMEZONES.get(tz)
    return str(label) if label is not None else tz  # IANA names hold no HTML specials


def guardian_timezone_label(own: str | None, home: str) -> str:
    """The zone lessons follow for this guardian: their own, or their home cohort's."""
    if own is None or own == home:
        return _("{zone} (same as home)").format(zone=timezone_label(home))
    return timezone_label(own)


def quiet_hours_label(start: str, end: str) -> str:
    return f"{start}–{end}"


def relationship_label(value: str) -> str:
    label = RELATIONSHIPS.get(value)
    return str(label) if label is not None else value


def sex_label(value: str | None) -> str:
    label = SEXES.get(value or "")
    return str(label) if label is not None else _("not given")


def month_names(locale: str) -> dict[int, str]:
    """Short month names in the reader's language (1月 … / Jan …), from Babel's CLDR data."""
    return dict(get_month_names("abbreviated", locale=to_babel(locale)))


def birth_label(year: int, month: int) -> str:
    return _("{month}/{year}").format(year=year, month=month)


def child_line(number: int, nickname: str, year: int, month: int, sex: str | None) -> str:
    return _("{number}. {nickname} — born {born}, {sex}").format(
        number=number, nickname=escape(nickname), born=birth_label(year, month), sex=sex_label(sex)
    )


def child_lines(children: list[Child] | list[dict]) -> str:
    lines = []
    for number, child in enumerate(children, start=1):
        if isinstance(child, dict):
            lines.append(child_line(number, child["nickname"], child["birth_year"],
                                    child["birth_month"], child.get("sex")))
        else:
            lines.append(child_line(number, child.nickname, child.birth_year, child.birth_month, child.sex))
    return "\n".join(lines)


def identity_lines(call_name: str | None, phone: str | None, village: str | None) -> str:
    """What the guardian told us about whom to call, as they read it back (escaped)."""
    from core.people import display_phone

    none = _("not given")
    return "\n".join([
        _("What the family calls you: {name}").format(name=escape(call_name) if call_name else none),
        _("Your phone number: {phone}").format(phone=escape(display_phone(phone) or "") or none),
        _("Where your home is: {village}").format(village=escape(village) if village else none),
    ])


def residence_sentence(lives_with_children: bool) -> str:
    if lives_with_children:
        return _("You live with the children.")
    return _("You work away from the children.")


def help_text() -> str:
    return _(
        "Here is what you can send me:\n\n"
        "/checkin — answer the questions waiting for you\n"
        "/lesson — the next lesson now\n"
        "/history — read recent lessons again\n"
        "/pause, /resume — pause or resume lessons\n"
        "/children — see your children, add or correct a child\n"
        "/invite — invite another person who cares for the same children\n"
        "/settings — change the language, pause or resume lessons\n"
        "/mydata — see what Shouwang keeps about you\n"
        "/stop — stop all messages\n"
        "/delete — erase your data\n"
        "/help — show this list"
    )
