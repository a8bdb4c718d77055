"""Versioned callback data. A button pressed days later, after a deploy, must still mean the
same thing: never change a prefix's fields; add a new prefix (e2, …) instead."""
from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class StepCB(CallbackData, prefix="e1"):
    """An answer to one step of a flow. draft_id and step let us spot a button from an old
    message: it answers a question that is no longer being asked."""

    draft_id: int
    step: str
    value: str


class ConsentCB(CallbackData, prefix="c1"):
    """Yes/no to the consent text, with the version that was shown."""

    draft_id: int
    agree: bool
    version: int


class SettingsCB(CallbackData, prefix="g1"):
    action: str  # language | set_language | pause | resume
    value: str = ""


class PrefCB(CallbackData, prefix="p1"):
    """Delivery preferences from /settings. value: an IANA time zone or "home" for `tz`; quiet
    hours as "2130-0800" for `quiet` (":" separates callback fields, so it cannot appear)."""

    what: str  # tz_menu | tz | quiet_menu | quiet
    value: str = ""


class ChildCB(CallbackData, prefix="k1"):
    action: str  # add | edit | remove | remove_yes | remove_no
    child_id: int = 0


class LeaveCB(CallbackData, prefix="q1"):
    action: str  # stop | delete
    confirm: bool


class MyDataCB(CallbackData, prefix="md1"):
    """/mydata's "show everything": answers and words in full, asked for on purpose (a shared
    phone must not show them unasked)."""

    action: str  # full
