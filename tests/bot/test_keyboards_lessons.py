"""The lesson buttons built as the Bot API's JSON (what the outbox sender posts without building
models) say exactly what aiogram's models would: the same texts, the same callback data."""
from __future__ import annotations

from pathlib import Path

import pytest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import build_i18n
from bot.keyboards.lessons import LessonCB, feedback_keyboard, feedback_markup, tried_keyboard, tried_markup
from core.config import Settings


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
@pytest.mark.parametrize("delivery_id", [1, 31, 9_999_999_999])
def test_markup_json_is_what_the_models_would_send(compiled_locales: Path, tmp_path: Path, locale: str,
                                                   delivery_id: int) -> None:
    i18n = build_i18n(Settings(_env_file=None, locales_dir=compiled_locales, var_dir=tmp_path))
    with i18n.context(), i18n.use_locale(locale):
        helpful = InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text=i18n.gettext(text, locale=locale),
                                 callback_data=LessonCB(delivery_id=delivery_id, question="helpful",
                                                        answer=answer).pack())
            for text, answer in (("👍 Helpful", "yes"), ("👎 Not for me", "no"))]])
        assert feedback_markup(delivery_id) == helpful.model_dump(mode="json", exclude_none=True)
        assert feedback_keyboard(delivery_id) == helpful
        tried = tried_markup(delivery_id)
        assert [[LessonCB.unpack(b["callback_data"]) for b in row] for row in tried["inline_keyboard"]] == [
            [LessonCB(delivery_id=delivery_id, question="tried", answer="yes"),
             LessonCB(delivery_id=delivery_id, question="tried", answer="not_yet")],
            [LessonCB(delivery_id=delivery_id, question="tried", answer="no")]]
        assert tried_keyboard(delivery_id).model_dump(mode="json", exclude_none=True) == tried
        if locale == "zh_Hans":
            assert feedback_markup(delivery_id)["inline_keyboard"][0][0]["text"] == "👍 有帮助"
