"""TelegramMessenger: what each outbox row looks like in Telegram, and how Telegram's answers
map to outcomes the sender acts on. No database: the mocked bot stands in for Telegram."""
from __future__ import annotations

from pathlib import Path

import pytest
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import EditMessageText, SendMessage, SendPhoto, SendVoice
from aiogram.types import FSInputFile

from bot.i18n import build_i18n
from bot.keyboards.lessons import LessonCB
from bot.messenger import TelegramMessenger
from core.config import Settings
from core.ports import Outgoing, SendOutcome
from mocked_bot import MockedBot

CHAT = 777


@pytest.fixture
def messenger(bot: MockedBot, compiled_locales: Path, tmp_path: Path) -> TelegramMessenger:
    settings = Settings(_env_file=None, locales_dir=compiled_locales, var_dir=tmp_path / "var")
    return TelegramMessenger(bot, build_i18n(settings), media_root=tmp_path / "media")


def lesson(locale: str = "en", **content: object) -> Outgoing:
    body = {"lesson_id": "l", "version": 1, "title": "Play together", "body": "Ten minutes a day.",
            "try_today": "Ask what they want to play.", "media": {}}
    body.update(content)
    return Outgoing(delivery_id=31, address=f"telegram:{CHAT}", kind="lesson", locale=locale, content=body)


# ------------------------------------------------------------------ Telegram's answers


@pytest.mark.parametrize(
    ("status_code", "description", "retry_after", "expected"),
    [
        (429, "Too Many Requests: retry after 7", 7, SendOutcome(status="rate_limited", retry_after=7.0,
                                                                error="rate_limited")),
        (403, "Forbidden: bot was blocked by the user", None, SendOutcome(status="blocked", error="forbidden")),
        (403, "Forbidden: user is deactivated", None, SendOutcome(status="blocked", error="forbidden")),
        (400, "Bad Request: chat not found", None, SendOutcome(status="blocked", error="chat_not_found")),
        (400, "Bad Request: message is too long", None,
         SendOutcome(status="permanent", error="bad_request: Bad Request: message is too long")),
        (500, "Internal Server Error", None,
         SendOutcome(status="transient", error="server_error: Internal Server Error")),
        (502, "Bad Gateway", None, SendOutcome(status="transient", error="server_error: Bad Gateway")),
        (401, "Unauthorized", None, SendOutcome(status="permanent", error="api_error: Unauthorized")),
        (404, "Not Found", None, SendOutcome(status="permanent", error="api_error: Not Found")),
    ],
)
async def test_telegram_errors_map_to_outcomes(messenger, bot, status_code, description, retry_after, expected):
    # The exception is built by aiogram itself from Telegram's JSON answer.
    bot.session.fail_next(status_code, description, retry_after=retry_after)
    assert await messenger.deliver(lesson()) == expected


async def test_a_network_error_is_transient(messenger, bot):
    bot.session.raise_next(TelegramNetworkError(method=SendMessage(chat_id=CHAT, text="x"),
                                                message="Request timeout error"))
    assert await messenger.deliver(lesson()) == SendOutcome(status="transient", error="network_error")


async def test_sent_returns_telegrams_message_id(messenger, bot):
    outcome = await messenger.deliver(lesson())
    assert outcome == SendOutcome(status="sent", message_id=str(bot.session.results[-1].message_id))


# ------------------------------------------------------------------ how it looks


async def test_lesson_html_is_escaped_and_bold_is_kept(messenger, bot):
    await messenger.deliver(lesson(title="Tom & Jerry <i>", body="<script>alert(1)</script> & **hug them**",
                                   try_today="a < b"))
    [message] = bot.requests
    assert message.text == (
        "<b>Tom &amp; Jerry &lt;i&gt;</b>\n\n"
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; <b>hug them</b>\n\n"
        "💡 <b>Try this today:</b> a &lt; b"
    )


async def test_lesson_in_chinese_with_feedback_buttons(messenger, bot):
    await messenger.deliver(lesson("zh-Hans", title="陪孩子玩", body="每天十分钟。", try_today="问问孩子。"))
    [message] = bot.requests
    assert isinstance(message, SendMessage) and message.chat_id == CHAT
    assert message.text == "<b>陪孩子玩</b>\n\n每天十分钟。\n\n💡 <b>今天试试：</b> 问问孩子。"
    buttons = [b for row in message.reply_markup.inline_keyboard for b in row]
    assert [b.text for b in buttons] == ["👍 有帮助", "👎 不适合我"]
    assert [LessonCB.unpack(b.callback_data) for b in buttons] == [
        LessonCB(delivery_id=31, question="helpful", answer="yes"),
        LessonCB(delivery_id=31, question="helpful", answer="no"),
    ]


async def test_lesson_with_a_picture_goes_as_a_photo_with_caption(messenger, bot, tmp_path):
    outcome = await messenger.deliver(lesson(media={"image": "lessons/play.jpg"}))
    [photo] = bot.requests
    assert isinstance(photo, SendPhoto)
    assert isinstance(photo.photo, FSInputFile) and Path(photo.photo.path) == tmp_path / "media/lessons/play.jpg"
    assert photo.caption.startswith("<b>Play together</b>")
    assert photo.reply_markup is not None
    assert outcome.message_id == str(bot.session.results[-1].message_id)


async def test_lesson_with_a_voice_recording_goes_as_voice_first(messenger, bot, tmp_path):
    await messenger.deliver(lesson(media={"voice": "lessons/play.ogg", "image": "lessons/play.jpg"}))
    [voice] = bot.requests
    assert isinstance(voice, SendVoice)
    assert Path(voice.voice.path) == tmp_path / "media/lessons/play.ogg"
    assert voice.caption.startswith("<b>Play together</b>") and voice.reply_markup is not None


async def test_a_lesson_too_long_for_a_caption_goes_as_text(messenger, bot):
    await messenger.deliver(lesson(body="字" * 1100, media={"image": "lessons/play.jpg"}))
    [message] = bot.requests
    assert isinstance(message, SendMessage)


async def test_followup_asks_did_you_try_it_with_three_buttons(messenger, bot):
    await messenger.deliver(Outgoing(delivery_id=8, address=f"telegram:{CHAT}", kind="lesson_followup", locale="en",
                                     content={"title": "Play & talk"}))
    [message] = bot.requests
    assert message.text == "A few days ago you read “Play &amp; talk”. Did you get a chance to try it?"
    buttons = [b for row in message.reply_markup.inline_keyboard for b in row]
    assert [(b.text, LessonCB.unpack(b.callback_data).answer) for b in buttons] == [
        ("Yes, I tried it", "yes"), ("Not yet", "not_yet"), ("It did not suit us", "no")]
    assert {LessonCB.unpack(b.callback_data).question for b in buttons} == {"tried"}


async def test_campaign_text_in_the_recipients_language(messenger, bot):
    await messenger.deliver(Outgoing(delivery_id=9, address=f"telegram:{CHAT}", kind="campaign", locale="en",
                                     content={"texts": {"zh-Hans": "你好", "en": "Hello & **welcome**"}}))
    assert bot.requests[-1].text == "Hello &amp; <b>welcome</b>"


# ------------------------------------------------------------------ "someone in your family is answering"


@pytest.mark.parametrize(("done", "text"), [
    (False, "Someone in your family is answering these questions. Thank you!"),
    (True, "Someone in your family has answered these questions. Thank you!"),
])
async def test_checkin_taken_edits_the_other_guardians_message(messenger, bot, done, text):
    item = Outgoing(delivery_id=5, address=f"telegram:{CHAT}", kind="checkin_taken", locale="en",
                    content={"message_id": "901", "done": done}, lane=1)
    assert await messenger.deliver(item) == SendOutcome(status="sent", message_id="901")
    [edit] = bot.requests
    assert isinstance(edit, EditMessageText)
    assert (edit.chat_id, edit.message_id, edit.text, edit.reply_markup) == (CHAT, 901, text, None)


@pytest.mark.parametrize("description", [
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same",
    "Bad Request: message to edit not found",
    "Bad Request: message can't be edited",
])
async def test_checkin_taken_that_cannot_be_made_is_done(messenger, bot, description):
    """Already says it, deleted, or too old: nothing a retry could change."""
    bot.session.fail_next(400, description)
    item = Outgoing(delivery_id=5, address=f"telegram:{CHAT}", kind="checkin_taken", locale="en",
                    content={"message_id": "901", "done": True}, lane=1)
    assert (await messenger.deliver(item)).status == "sent"


async def test_checkin_taken_lost_to_the_network_is_retried(messenger, bot):
    bot.session.raise_next(TelegramNetworkError(method=None, message="down"))  # type: ignore[arg-type]
    item = Outgoing(delivery_id=5, address=f"telegram:{CHAT}", kind="checkin_taken", locale="en",
                    content={"message_id": "901", "done": True}, lane=1)
    assert await messenger.deliver(item) == SendOutcome(status="transient", error="network_error")
# ------------------------------------------------------------------ a voice recorded on the web pages


def _web_voice_forward(name: str, media_type: str) -> Outgoing:
    from core.inbox.views import InboxCard, ThreadLine

    card = InboxCard(item_id=3, state="open", family={"household_id": 1, "relationship": "grandmother"},
                     received_local="12-03 19:12", subject="family", carries_message_id=5,
                     thread=[ThreadLine(id=5, direction="in", kind="voice", text=None, local="19:12",
                                        status="forwarded")])
    return Outgoing(delivery_id=40, address=f"telegram:{CHAT}", kind="inbox_forward", locale="zh-Hans",
                    content={"card": card.as_payload(), "locale": "zh-Hans", "copy": None,
                             "recording": {"name": name, "media_type": media_type}})


@pytest.mark.parametrize(("ext", "media_type", "method"), [
    ("webm", "audio/webm", "SendDocument"), ("ogg", "audio/ogg", "SendVoice"), ("m4a", "audio/mp4", "SendAudio")])
async def test_a_web_voice_message_goes_as_the_stored_file_before_its_card(bot, compiled_locales, tmp_path, ext,
                                                                             media_type, method):
    settings = Settings(_env_file=None, locales_dir=compiled_locales, var_dir=tmp_path / "var")
    root = tmp_path / "recordings"
    root.mkdir()
    name = f"rec-{'ab' * 16}.{ext}"
    (root / name).write_bytes(b"sound")
    messenger = TelegramMessenger(bot, build_i18n(settings), media_root=tmp_path / "media", recordings_root=root)
    outcome = await messenger.deliver(_web_voice_forward(name, media_type))
    assert outcome.status == "sent" and outcome.error is None
    upload, card = bot.requests
    assert type(upload).__name__ == method and int(upload.chat_id) == CHAT
    sent_file = getattr(upload, {"SendDocument": "document", "SendVoice": "voice", "SendAudio": "audio"}[method])
    assert Path(sent_file.path) == root / name and sent_file.filename == f"voice.{ext}"
    assert isinstance(card, SendMessage) and card.reply_to_message_id is not None
    assert "not shown" not in card.text and "无法显示" not in card.text


async def test_a_web_voice_message_whose_file_is_gone_is_a_card_saying_so(bot, compiled_locales, tmp_path):
    settings = Settings(_env_file=None, locales_dir=compiled_locales, var_dir=tmp_path / "var")
    messenger = TelegramMessenger(bot, build_i18n(settings), media_root=tmp_path / "media",
                                  recordings_root=tmp_path / "recordings")
    outcome = await messenger.deliver(_web_voice_forward(f"rec-{'cd' * 16}.webm", "audio/webm"))
    assert outcome.status == "sent" and outcome.error == "copy_refused"  # the sender marks it not shown
    [card] = bot.requests
    assert isinstance(card, SendMessage)


async def test_a_web_voice_message_telegram_refuses_still_gets_its_card(bot, compiled_locales, tmp_path):
    settings = Settings(_env_file=None, locales_dir=compiled_locales, var_dir=tmp_path / "var")
    root = tmp_path / "recordings"
    root.mkdir()
    name = f"rec-{'ef' * 16}.ogg"
    (root / name).write_bytes(b"OggS")
    messenger = TelegramMessenger(bot, build_i18n(settings), media_root=tmp_path / "media", recordings_root=root)
    bot.session.fail_next(400, "Bad Request: wrong file type")
    outcome = await messenger.deliver(_web_voice_forward(name, "audio/ogg"))
    assert outcome.status == "sent" and outcome.error == "copy_refused"
    assert isinstance(bot.requests[-1], SendMessage)
