"""Free text through the production dispatcher, by tier: a red message raises a red alert and the
safety message; an orange one an orange alert (the 24 h ladder) and an honest reply that the child
director will read it today, with 110/120 for danger now — not the full safety message; a
harmless one raises nothing and takes the ordinary path."""
from __future__ import annotations

import pytest

from core.models import Alert, Delivery, FreeText

from harness import text_of

SAFETY = {"zh-Hans": "12356 全国心理援助热线", "en": "12356 national psychological help line"}  # the full message
ORANGE = {
    "zh-Hans": "谢谢您告诉我们。您村的儿童主任王主任今天会看您发的话，可能会给您打电话。",
    "en": "Thank you for telling us. Your child director, 王主任, will read your message today and may call you.",
}
DANGER_NOW = {"zh-Hans": "如果孩子（或者您自己）现在就有危险，马上打 110（报警）或 120（急救）。",
              "en": "If the child (or you) is in danger right now, call 110 (police) or 120 (ambulance) at once."}


@pytest.mark.parametrize(("locale", "text", "category"), [
    ("zh-Hans", "孙女胳膊上好多细细的印子 问她也不说", "self_harm"),
    ("zh-Hans", "有个男的老给丫头买零食 还叫她别跟家里说", "sexual_abuse"),
    ("en", "older kids keep taking his lunch money", "bullying"),
])
async def test_an_orange_message_raises_an_orange_alert_and_an_honest_reply(enrol, db, locale, text, category):
    grandma = await enrol(locale=locale)
    sent = await grandma.send(text)
    [alert] = await db.all(Alert)
    assert (alert.severity, alert.rule_id, alert.questionnaire_id) == ("orange", "risk_words", "lexicon")
    assert alert.evidence["category"] == category and alert.evidence["tier"] == "orange"
    assert text not in str(alert.evidence) and text not in alert.reason
    [kept] = await db.all(FreeText)
    assert (kept.kind, kept.text, kept.hit, kept.severity) == ("message", text, True, "orange")
    reply = text_of(sent)
    assert ORANGE[locale] in reply and DANGER_NOW[locale] in reply
    assert SAFETY[locale] not in reply  # not the full safety message
    assert await db.count(Delivery, Delivery.kind == "safety") == 0


@pytest.mark.parametrize(("locale", "text"), [
    ("zh-Hans", "孩子喝了两口农药 在卫生院"),
    ("zh-Hans", "娃一晚上没回家 电话也打不通"),
    ("en", "he took a handful of my sleeping pills"),
])
async def test_a_red_message_raises_a_red_alert_and_the_safety_message(enrol, db, locale, text):
    grandma = await enrol(locale=locale)
    sent = await grandma.send(text)
    [alert] = await db.all(Alert)
    assert (alert.severity, alert.evidence["tier"]) == ("red", "red")
    assert SAFETY[locale] in text_of(sent) and ORANGE[locale] not in text_of(sent)
    [safety] = await db.all(Delivery, Delivery.kind == "safety")
    assert (safety.state, safety.lane) == ("sent", 0)


async def test_an_orange_then_a_red_message_make_the_alert_red(enrol, db):
    grandma = await enrol()
    await grandma.send("孩子在学校被同学欺负了")
    sent = await grandma.send("他回来说不想活了")
    [alert] = await db.all(Alert)
    assert (alert.severity, alert.occurrences) == ("red", 2)
    assert SAFETY["zh-Hans"] in text_of(sent)


@pytest.mark.parametrize("text", ["今天热死了 娃在屋里写作业", "割了一上午草 累死了", "this heat is killing me"])
async def test_a_harmless_message_raises_nothing(enrol, db, text):
    grandma = await enrol()
    sent = await grandma.send(text)
    assert await db.count(Alert) == 0 and await db.count(Delivery, Delivery.kind == "safety") == 0
    assert ORANGE["zh-Hans"] not in text_of(sent) and SAFETY["zh-Hans"] not in text_of(sent)
    assert text_of(sent)  # never silence: the ordinary path answers (the director's inbox, issue #11)
