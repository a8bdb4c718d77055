"""The enrolment flow driven without any adapter: choice ids, typed texts and a shared phone
number go in, plain results come out — what a web page or the Telegram bot would show next. No
aiogram anywhere: the core needs nothing from Telegram to enrol a family."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FrozenClock
from core.enrolment import service as enrol
from core.flows import enrolment as flow
from core.models import Child, Draft, Guardian, Invitation, Staff, StaffCohort
from core.models.enums import DraftFlow
from tests.core.test_enrolment_service import make_invitation


async def _draft(session: AsyncSession, clock: FrozenClock, **kw) -> Draft:  # type: ignore[no-untyped-def]
    invitation = await make_invitation(session, clock(), **kw)
    return await enrol.begin_flow(session, address="telegram:4242", flow=DraftFlow.enrol, now=clock(),
                                  invitation_id=invitation.id)


async def _cohort_of(session: AsyncSession, draft: Draft) -> int:
    invitation = await session.get(Invitation, draft.invitation_id)
    assert invitation is not None
    return invitation.cohort_id


async def test_a_family_enrols_through_choices_and_texts(session: AsyncSession, clock: FrozenClock) -> None:
    draft = await _draft(session, clock)
    director = Staff(display_name="王主任", role="director", token_hash="d" * 64, locale="zh-Hans", active=True,
                     is_bootstrap=False, created_at=clock())
    session.add(director)
    await session.flush()
    session.add(StaffCohort(staff_id=director.id, cohort_id=await _cohort_of(session, draft), is_primary=True))
    now = clock()
    steps = []

    async def choose(value: str) -> flow.Next:
        result = await flow.choose(session, draft=draft, guardian=None, value=value, now=now)
        steps.append(result.step)
        return result

    def type_(text: str | None, **kw) -> flow.Next:  # type: ignore[no-untyped-def]
        result = flow.answer_text(draft, text=text, now=now, **kw)
        steps.append(result.step)
        return result

    assert (await choose("zh-Hans")).step == enrol.CONSENT
    assert (await flow.consent(session, draft=draft, agree=True, version=1, now=now)).step == enrol.RELATIONSHIP
    await choose("grandmother")
    assert (await choose("with")).step == enrol.CALL_NAME
    assert type_("王奶奶").step == enrol.PHONE
    assert type_(None, contact_phone="+86 138 1234 5678").accepted  # shared, not typed
    assert type_("三组 村口小卖部旁").step == enrol.CHILD_NICKNAME
    type_("小明")
    await choose("2018")
    await choose("5")
    await choose("boy")
    assert (await choose("done")).step == enrol.CONFIRM
    done = await choose("yes")
    assert (done.outcome, done.director) == ("enrolled", "王主任")
    guardian = await session.scalar(select(Guardian))
    assert guardian is not None and guardian.call_name == "王奶奶" and guardian.phone == "+8613812345678"
    assert [c.nickname for c in (await session.scalars(select(Child))).all()] == ["小明"]
    assert await session.scalar(select(Draft)) is None


async def test_refused_inputs_say_why_and_keep_the_step(session: AsyncSession, clock: FrozenClock) -> None:
    draft = await _draft(session, clock)
    now = clock()
    wrong = flow.answer_text(draft, text="hello", now=now)  # typing at the language step
    assert (wrong.outcome, wrong.step, wrong.hint, wrong.accepted) == ("step", enrol.LANGUAGE, "please_choose", False)
    unknown = await flow.choose(session, draft=draft, guardian=None, value="fr", now=now)
    assert (unknown.step, unknown.hint, unknown.accepted) == (enrol.LANGUAGE, "invalid", False)
    await flow.choose(session, draft=draft, guardian=None, value="en", now=now)
    await flow.consent(session, draft=draft, agree=True, version=1, now=now)
    await flow.choose(session, draft=draft, guardian=None, value="mother", now=now)
    await flow.choose(session, draft=draft, guardian=None, value="away", now=now)
    stale = await flow.choose(session, draft=draft, guardian=None, value="with", now=now)  # a button pressed twice
    assert (stale.step, stale.hint) == (enrol.CALL_NAME, "stale_step")
    long_name = flow.answer_text(draft, text="王" * 40, now=now)
    assert (long_name.step, long_name.hint, long_name.limit) == (enrol.CALL_NAME, "call_name_too_long", 20)
    assert flow.answer_text(draft, text=None, now=now).hint == "please_type"  # a sticker, a photo …
    flow.answer_text(draft, text="妈妈", now=now)
    skipped = await flow.choose(session, draft=draft, guardian=None, value="skip", now=now)
    assert skipped.accepted and skipped.step == enrol.VILLAGE
    village = flow.answer_text(draft, text="三组", now=now)
    assert village.accepted and village.step == enrol.CHILD_NICKNAME


async def test_declining_consent_keeps_nothing(session: AsyncSession, clock: FrozenClock) -> None:
    draft = await _draft(session, clock)
    await flow.choose(session, draft=draft, guardian=None, value="zh-Hans", now=clock())
    result = await flow.consent(session, draft=draft, agree=False, version=1, now=clock())
    assert (result.outcome, result.flagged) == ("declined", False)
    assert await session.scalar(select(Draft)) is None


async def test_a_used_up_invitation_ends_the_draft_kindly(session: AsyncSession, clock: FrozenClock) -> None:
    draft = await _draft(session, clock, max_uses=1)
    now = clock()
    await flow.choose(session, draft=draft, guardian=None, value="zh-Hans", now=now)
    await flow.consent(session, draft=draft, agree=True, version=1, now=now)
    for value in ("grandmother", "with"):
        await flow.choose(session, draft=draft, guardian=None, value=value, now=now)
    for text in ("王奶奶", "13812345678", "三组", "小明"):
        flow.answer_text(draft, text=text, now=now)
    for value in ("2018", "5", "none", "done"):
        await flow.choose(session, draft=draft, guardian=None, value=value, now=now)
    row = await session.get(Invitation, draft.invitation_id)
    assert row is not None
    row.uses = 1  # someone else took the last use meanwhile
    await session.flush()
    result = await flow.choose(session, draft=draft, guardian=None, value="yes", now=now)
    assert result.outcome == "invitation_gone"
    assert await session.scalar(select(Draft)) is None


def test_the_flow_speaks_no_channel() -> None:
    """Choice ids and texts in, plain data out: nothing in the flow names a channel."""
    source = open(flow.__file__, encoding="utf-8").read().lower()
    assert not [word for word in ("aiogram", "telegram", "chat_id", "callback") if word in source]
