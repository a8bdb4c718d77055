"""Whatever arrives at whatever step gets a kind reply that says what to do now."""
from __future__ import annotations

import pytest

from core.models import Child, Draft
from harness import answered, text_of

TAP = "请点下面的一个按钮。"


async def _at_step(person, world, step: str, locale: str = "zh"):
    """A newcomer walked up to the given step (in Chinese unless locale='en')."""
    p = person("en" if locale == "en" else "zh-hans")
    await p.send(f"/start {world.invitation_code}")
    path = [("language", lambda: p.choose("en" if locale == "en" else "zh-Hans")),
            ("consent", lambda: p.consent(True)),
            ("relationship", lambda: p.choose("mother")),
            ("residence", lambda: p.choose("with")),
            ("call_name", lambda: p.send("王奶奶")),
            ("phone", lambda: p.send("13812345678")),
            ("village", lambda: p.choose("skip")),
            ("child_nickname", lambda: p.send("小明")),
            ("child_birth_year", lambda: p.choose("2018")),
            ("child_birth_month", lambda: p.choose("5")),
            ("child_sex", lambda: p.choose("girl")),
            ("more_children", lambda: p.choose("done"))]
    for name, go in path:
        if name == step:
            return p
        await go()
    return p


async def test_anything_at_the_language_step_gets_both_languages_and_the_buttons(person, world):
    p = await _at_step(person, world, "language")
    for send in (p.send_sticker, p.send_photo, lambda: p.send("hello")):
        text = text_of(await send())
        assert text.startswith("请点下面的一个按钮。\n\nPlease tap one of the buttons below.")
        assert "Please choose your language." in text
        assert [t for t, _ in p.last_buttons()] == ["简体中文", "English"]


@pytest.mark.parametrize("step", ["consent", "relationship", "residence", "child_sex", "more_children"])
async def test_anything_at_a_button_step_asks_to_tap_and_shows_the_question_again(person, world, db, step):
    p = await _at_step(person, world, step)
    before = (await db.all(Draft))[0]
    buttons = p.last_buttons()
    for send in (p.send_sticker, p.send_photo, p.send_voice, p.send_video, p.send_document,
                 p.send_location, lambda: p.send("随便打的字")):
        sent = await send()
        assert len(sent) == 1 and sent[0].text.startswith(TAP)
        assert p.last_buttons() == buttons
    after = (await db.all(Draft))[0]
    assert (after.step, after.data) == (before.step, before.data)


async def test_nickname_step_asks_for_typing(person, world, db):
    p = await _at_step(person, world, "child_nickname")
    for send in (p.send_sticker, p.send_photo, p.send_voice, p.send_location):
        text = text_of(await send())
        assert text.startswith("请打字输入孩子的小名。")
    assert (await db.all(Draft))[0].step == "child_nickname"


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("13812345678", "请只输入小名，不要长串数字"),
        ("小" * 21, "有点长了。请输入一个短一点的小名（最多20个字）"),
        ("/hello", "请用文字输入孩子的小名"),
    ],
)
async def test_nickname_refused_with_a_reason(person, world, db, typed, reason):
    p = await _at_step(person, world, "child_nickname")
    text = text_of(await p.send(typed))
    assert text.startswith(reason)
    assert (await db.all(Draft))[0].step == "child_nickname"


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("abc", "请点下面的年份，或者打字输入年份"),
        ("2027", "这个日期还没到呢"),
        ("2005", "守望是为不满18岁的孩子准备的"),
    ],
)
async def test_birth_year_refused_with_a_reason(person, world, db, typed, reason):
    p = await _at_step(person, world, "child_birth_year")
    text = text_of(await p.send(typed))
    assert text.startswith(reason)
    assert "小明是哪一年出生的" in text and len(p.last_buttons()) == 19
    assert (await db.all(Draft))[0].step == "child_birth_year"


async def test_birth_year_step_sticker(person, world):
    p = await _at_step(person, world, "child_birth_year")
    assert text_of(await p.send_sticker()).startswith("请点下面的年份")


@pytest.mark.parametrize(
    ("year", "month", "reason"),
    [
        ("2026", "12", "That date is in the future"),  # the tests run on 23 November 2026
        ("2008", "10", "Shouwang is for children under 18"),  # 18 last month
        ("2008", "xiii", "Please tap a month below"),
        ("2008", "13", "Please tap a month below"),
    ],
)
async def test_birth_month_refused_with_a_reason(person, world, db, year, month, reason):
    p = await _at_step(person, world, "child_birth_year", locale="en")
    await p.choose(year)
    text = text_of(await p.send(month))
    assert text.startswith(reason)
    assert (await db.all(Draft))[0].step == "child_birth_month"


async def test_future_month_button_and_17_year_old(person, world, db):
    p = await _at_step(person, world, "child_birth_year", locale="en")
    await p.choose("2026")
    sent = await p.choose("12")
    assert text_of(sent).startswith("That date is in the future")
    await p.send("/start")  # resume: still asking the month
    await p.choose("11")
    assert (await db.all(Draft))[0].step == "child_sex"

    q = await _at_step(person, world, "child_birth_year", locale="en")
    await q.choose("2008")
    await q.choose("12")  # turns 18 next month: still a child
    assert (await db.all(Draft, Draft.address == q.address))[0].step == "child_sex"


async def test_too_many_children(person, world, db):
    p = await _at_step(person, world, "child_nickname", locale="en")
    for n in range(8):
        if n:
            await p.choose("more")
        await p.send(f"Kid{n}")
        await p.choose("2020")
        await p.choose("1")
        await p.choose("boy")
    sent = await p.choose("more")
    assert text_of(sent).startswith("You can tell us about at most 8 children.")
    await p.choose("done")
    await p.choose("yes")
    assert await db.count(Child) == 8


async def test_stale_button_is_answered_and_the_current_question_shown(person, world, db):
    p = await _at_step(person, world, "child_nickname")
    sent = await p.tap("爸爸")  # the relationship question was answered already
    [answer] = answered(sent)
    assert answer.text == "这个按钮是前面问题的。"
    assert "请打字输入第一个孩子的小名" in text_of(sent)
    [draft] = await db.all(Draft)
    assert draft.step == "child_nickname" and draft.data["relationship"] == "mother"


async def test_buttons_from_a_finished_flow_or_an_unknown_version(enrol, db):
    grandma = await enrol()
    sent = await grandma.tap("对，没问题")  # the confirmation again, after enrolment
    assert answered(sent)[0].text == "这个按钮是前面问题的。"
    sent = await grandma.press("zz9:whatever")
    assert answered(sent)[0].text == "这个按钮是前面问题的。"
    assert await db.count(Child) == 1


async def test_stray_messages_outside_any_flow(enrol, person):
    grandma = await enrol()
    # A sticker carries no words: a kind answer, not an inbox item. Words go to the director.
    assert "表情图我没法转给主任" in text_of(await grandma.send_sticker())
    assert "已经转给儿童主任王主任" in text_of(await grandma.send("你好"))
    stranger = person("en")
    for send in (stranger.send_photo, lambda: stranger.send("hello")):
        text = text_of(await send())
        assert "欢迎来到守望" in text and "Welcome to Shouwang" in text


async def test_typed_text_is_escaped_for_html(person, world, enrol):
    p = await _at_step(person, world, "child_nickname", locale="en")
    sent = await p.send("<b>Ming</b>")
    assert text_of(sent).startswith("In which year was &lt;b&gt;Ming&lt;/b&gt; born?")
    for value in ("2018", "5", "boy", "done"):
        await p.choose(value)
    assert "1. &lt;b&gt;Ming&lt;/b&gt; — born 5/2018, Boy" in p.last().text
