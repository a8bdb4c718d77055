"""The factories the cli composes: bot, dispatcher, command menus."""
from __future__ import annotations

from aiogram.methods import SetMyCommands

from bot.factory import build_bot, build_dispatcher, set_commands
from bot.i18n import build_i18n, compile_catalogs
from core.config import PROJECT_ROOT


def test_build_bot_uses_the_configured_api_server_and_html(settings):
    custom = settings.model_copy(update={"telegram_api_base": "http://127.0.0.1:8081"})
    bot = build_bot(custom)
    assert bot.session.api.base == "http://127.0.0.1:8081/bot{token}/{method}"
    assert bot.default.parse_mode == "HTML"
    assert bot.token == settings.telegram_token


async def test_set_commands_in_chinese_english_and_default(bot, settings):
    await set_commands(bot, i18n=build_i18n(settings))
    calls = [m for m in bot.requests if isinstance(m, SetMyCommands)]
    assert [c.language_code for c in calls] == [None, "zh", "en"]
    names = ["help", "checkin", "lesson", "history", "pause", "resume", "settings", "children", "invite", "mydata", "stop",
             "delete"]
    for call in calls:
        assert [c.command for c in call.commands] == names
    default, zh, en = ({c.command: c.description for c in call.commands} for call in calls)
    assert default == zh and zh["stop"] == "不再接收消息" and en["stop"] == "Stop all messages"
    assert zh["checkin"] == "回答等着您的问题" and en["checkin"] == "Answer the questions waiting for you"


def test_build_i18n_compiles_missing_catalogs_into_var(settings, tmp_path):
    source = tmp_path / "locales"
    for po in (PROJECT_ROOT / "locales").glob("*/LC_MESSAGES/messages.po"):
        target = source / po.parent.parent.name / "LC_MESSAGES" / "messages.po"
        target.parent.mkdir(parents=True)
        target.write_bytes(po.read_bytes())
    i18n = build_i18n(settings.model_copy(update={"locales_dir": source}))
    assert set(i18n.available_locales) == {"zh_Hans", "en"}
    assert i18n.gettext("I agree", locale="zh_Hans") == "同意"


def test_one_dispatcher_per_call(settings, sessionmaker):
    # Tests and production each build their own; routers must never be shared between them.
    first = build_dispatcher(settings=settings, sessionmaker=sessionmaker)
    second = build_dispatcher(settings=settings, sessionmaker=sessionmaker)
    assert first.sub_routers[0] is not second.sub_routers[0]


def test_compile_catalogs_leaves_out_fuzzy_entries(tmp_path):
    source = tmp_path / "src" / "zh_Hans" / "LC_MESSAGES"
    source.mkdir(parents=True)
    (source / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        '#, fuzzy\nmsgid "I agree"\nmsgstr "猜的"\n', encoding="utf-8")
    out = compile_catalogs(tmp_path / "src", tmp_path / "out")
    from aiogram.utils.i18n import I18n

    assert I18n(path=out, default_locale="zh_Hans").gettext("I agree", locale="zh_Hans") == "I agree"
