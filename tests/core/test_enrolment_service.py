"""The enrolment domain over a real database (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FrozenClock
from core.enrolment import service as enrol
from core.errors import CodeRejected, Conflict, Invalid
from core.models import (
    Child,
    CodeAttempt,
    Cohort,
    ConsentDecline,
    Draft,
    Guardian,
    Household,
    HouseholdInvite,
    Invitation,
)
from core.models.enums import DraftFlow
from tests.endpoints import tg

CHAT_A, CHAT_B, CHAT_C = 1001, 1002, 1003


async def make_invitation(session: AsyncSession, now, **kw) -> Invitation:  # type: ignore[no-untyped-def]
    cohort = Cohort(name="东岭村", region="陇南", timezone="Asia/Shanghai", default_locale="zh-Hans",
                    lesson_schedule={}, checkin_schedule={}, created_at=now)
    session.add(cohort)
    await session.flush()
    invitation = Invitation(cohort_id=cohort.id, code=kw.pop("code", "abcdefghjkmn"), label="", uses=0,
                            created_at=now, **kw)
    session.add(invitation)
    await session.flush()
    return invitation


async def walk_to_confirm(session: AsyncSession, clock: FrozenClock, *, chat_id: int, invitation: Invitation,
                          children: int = 1) -> Draft:
    now = clock()
    draft = await enrol.begin_flow(session, address=tg(chat_id), flow=DraftFlow.enrol, now=now,
                                   invitation_id=invitation.id)
    assert draft.step == enrol.LANGUAGE
    enrol.choose_language(draft, locale="zh-Hans", now=now)
    enrol.accept_consent(draft, version=1, now=now)
    enrol.choose_relationship(draft, relationship="grandmother", now=now)
    enrol.choose_residence(draft, lives_with_children=True, now=now)
    enrol.enter_call_name(draft, text=" 王奶奶 ", now=now)
    enrol.enter_phone(draft, text="138-1234-5678", now=now)
    enrol.enter_village(draft, text="三组  村口小卖部旁", now=now)
    for i in range(children):
        enrol.enter_nickname(draft, text=f"小明{i}", now=now)
        enrol.enter_birth_year(draft, year=2016, today=now.date(), now=now)
        enrol.enter_birth_month(draft, month=3, today=now.date(), now=now)
        enrol.choose_sex(draft, sex="boy" if i % 2 == 0 else None, now=now)
        enrol.more_children(draft, add_another=i < children - 1, now=now)
    assert draft.step == enrol.CONFIRM
    await session.flush()
    return draft


async def count(session: AsyncSession, model) -> int:  # type: ignore[no-untyped-def]
    return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_enrol_creates_household_guardian_children(session: AsyncSession, clock: FrozenClock) -> None:
    invitation = await make_invitation(session, clock())
    draft = await walk_to_confirm(session, clock, chat_id=CHAT_A, invitation=invitation, children=2)
    done = await enrol.complete_enrolment(session, draft=draft, now=clock())
    assert done.guardian.relationship == "grandmother"
    assert done.guardian.consent_version == 1
    assert done.guardian.consented_at == clock()
    assert (done.guardian.call_name, done.guardian.phone, done.guardian.village) == (
        "王奶奶", "+8613812345678", "三组 村口小卖部旁")
    assert [c.nickname for c in done.children] == ["小明0", "小明1"]
    assert [c.sex for c in done.children] == ["boy", None]
    assert done.household.cohort_id == invitation.cohort_id
    assert invitation.uses == 1 or (await session.get(Invitation, invitation.id)).uses == 1
    assert await count(session, Draft) == 0


async def test_second_start_resumes_same_draft(session: AsyncSession, clock: FrozenClock) -> None:
    invitation = await make_invitation(session, clock())
    first = await enrol.begin_flow(session, address=tg(CHAT_A), flow=DraftFlow.enrol, now=clock(),
                                   invitation_id=invitation.id)
    enrol.choose_language(first, locale="en", now=clock())
    enrol.accept_consent(first, version=1, now=clock())
    again = await enrol.begin_flow(session, address=tg(CHAT_A), flow=DraftFlow.enrol, now=clock(),
                                   invitation_id=invitation.id)
    assert again.id == first.id and again.step == enrol.RELATIONSHIP
    assert await count(session, Draft) == 1


async def test_last_use_cannot_be_taken_twice(session: AsyncSession, clock: FrozenClock) -> None:
    invitation = await make_invitation(session, clock(), max_uses=1)
    a = await walk_to_confirm(session, clock, chat_id=CHAT_A, invitation=invitation)
    b = await walk_to_confirm(session, clock, chat_id=CHAT_B, invitation=invitation)
    await enrol.complete_enrolment(session, draft=a, now=clock())
    with pytest.raises(CodeRejected) as err:
        await enrol.complete_enrolment(session, draft=b, now=clock())
    assert err.value.code == "used_up"
    assert await count(session, Household) == 1


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"max_uses": 1, "uses": 1}, "used_up"),
        ({"expires_at": "past"}, "expired"),
        ({"revoked_at": "past"}, "revoked"),
    ],
)
async def test_unusable_invitations(session: AsyncSession, clock: FrozenClock, kwargs, problem) -> None:  # type: ignore[no-untyped-def]
    past = clock() - timedelta(hours=1)
    kwargs = {k: (past if v == "past" else v) for k, v in kwargs.items()}
    uses = kwargs.pop("uses", 0)
    invitation = await make_invitation(session, clock(), **kwargs)
    invitation.uses = uses
    result = await enrol.resolve_code(session, address=tg(CHAT_A), code=invitation.code, now=clock(),
                                      max_attempts=5, window_minutes=15)
    assert result.problem == problem and result.kind is None
    await session.flush()
    assert await count(session, CodeAttempt) == 1


async def test_wrong_codes_are_slowed_down(session: AsyncSession, clock: FrozenClock) -> None:
    invitation = await make_invitation(session, clock())
    for _ in range(3):
        result = await enrol.resolve_code(session, address=tg(CHAT_A), code="nope", now=clock(),
                                          max_attempts=3, window_minutes=15)
        assert result.problem == "unknown"
        clock.advance(minutes=1)
    # Even the right code is refused while the chat is slowed down…
    blocked = await enrol.resolve_code(session, address=tg(CHAT_A), code=invitation.code, now=clock(),
                                       max_attempts=3, window_minutes=15)
    assert blocked.problem == "too_many_attempts"
    assert blocked.retry_after_minutes == 13
    # …another chat is not affected, and after the window the right code works again.
    other = await enrol.resolve_code(session, address=tg(CHAT_B), code=invitation.code, now=clock(),
                                     max_attempts=3, window_minutes=15)
    assert other.kind == "invitation"
    clock.advance(minutes=13)
    ok = await enrol.resolve_code(session, address=tg(CHAT_A), code=invitation.code.upper(), now=clock(),
                                  max_attempts=3, window_minutes=15)
    assert ok.kind == "invitation"


async def test_decline_stores_only_an_anonymous_count(session: AsyncSession, clock: FrozenClock) -> None:
    invitation = await make_invitation(session, clock())
    draft = await enrol.begin_flow(session, address=tg(CHAT_A), flow=DraftFlow.enrol, now=clock(),
                                   invitation_id=invitation.id, locale="zh-Hans")
    assert draft.step == enrol.CONSENT
    await enrol.decline_consent(session, draft=draft, version=1, now=clock())
    declines = (await session.scalars(select(ConsentDecline))).all()
    assert [(d.cohort_id, d.consent_version) for d in declines] == [(invitation.cohort_id, 1)]
    assert await count(session, Draft) == 0
    assert await count(session, Guardian) == 0


async def test_steps_out_of_order_are_refused(session: AsyncSession, clock: FrozenClock) -> None:
    invitation = await make_invitation(session, clock())
    draft = await enrol.begin_flow(session, address=tg(CHAT_A), flow=DraftFlow.enrol, now=clock(),
                                   invitation_id=invitation.id, locale="en")
    with pytest.raises(Conflict) as err:
        enrol.choose_relationship(draft, relationship="mother", now=clock())
    assert err.value.code == "stale_step"
    with pytest.raises(Invalid):
        enrol.accept_consent(draft, version=1, now=clock())
        enrol.choose_relationship(draft, relationship="uncle-ish", now=clock())


async def test_household_invite_joins_same_household_and_erasure(session: AsyncSession, clock: FrozenClock) -> None:
    invitation = await make_invitation(session, clock())
    grandma = (await enrol.complete_enrolment(
        session, draft=await walk_to_confirm(session, clock, chat_id=CHAT_A, invitation=invitation), now=clock()
    )).guardian
    invite = await enrol.create_household_invite(session, guardian=grandma, now=clock(), days=7)
    found = await enrol.resolve_code(session, address=tg(CHAT_B), code=invite.code, now=clock(), max_attempts=5,
                                     window_minutes=15)
    assert found.kind == "household"
    draft = await enrol.begin_flow(session, address=tg(CHAT_B), flow=DraftFlow.join, now=clock(),
                                   household_invite_id=invite.id, locale="zh-Hans")
    enrol.accept_consent(draft, version=1, now=clock())
    enrol.choose_relationship(draft, relationship="father", now=clock())
    enrol.choose_residence(draft, lives_with_children=False, now=clock())
    assert draft.step == enrol.CALL_NAME
    enrol.enter_call_name(draft, text="王爸爸", now=clock())
    enrol.enter_phone(draft, text=None, now=clock())
    enrol.enter_village(draft, text=None, now=clock())
    assert draft.step == enrol.CONFIRM
    father = (await enrol.complete_enrolment(session, draft=draft, now=clock())).guardian
    assert father.household_id == grandma.household_id
    assert father.lives_with_children is False

    # The invite was for one person only.
    again = await enrol.resolve_code(session, address=tg(CHAT_C), code=invite.code, now=clock(), max_attempts=5,
                                     window_minutes=15)
    assert again.problem == "used_up"

    # The first guardian leaves: the household and children stay for the father.
    assert await enrol.erase_guardian(session, guardian=grandma) is False
    assert await count(session, Child) == 1
    # The last guardian leaves: everything of the household goes.
    assert await enrol.erase_guardian(session, guardian=father) is True
    for model in (Guardian, Child, Household, HouseholdInvite):
        assert await count(session, model) == 0


async def test_add_edit_remove_children(session: AsyncSession, clock: FrozenClock) -> None:
    invitation = await make_invitation(session, clock())
    guardian = (await enrol.complete_enrolment(
        session, draft=await walk_to_confirm(session, clock, chat_id=CHAT_A, invitation=invitation), now=clock()
    )).guardian
    now = clock()
    draft = await enrol.begin_flow(session, address=tg(CHAT_A), flow=DraftFlow.add_child, now=now)
    assert draft.step == enrol.CHILD_NICKNAME
    enrol.enter_nickname(draft, text="妞妞", now=now)
    enrol.enter_birth_year(draft, year=2020, today=now.date(), now=now)
    with pytest.raises(Invalid) as err:
        enrol.enter_birth_month(draft, month=13, today=now.date(), now=now)
    assert err.value.code == "not_a_month"
    enrol.enter_birth_month(draft, month=7, today=now.date(), now=now)
    enrol.choose_sex(draft, sex="girl", now=now)
    added = await enrol.complete_child_draft(session, draft=draft, guardian=guardian, now=now)
    assert (added.nickname, added.birth_year, added.birth_month, added.sex) == ("妞妞", 2020, 7, "girl")

    draft = await enrol.begin_flow(session, address=tg(CHAT_A), flow=DraftFlow.edit_child, now=now,
                                   data={"child_id": added.id})
    enrol.enter_nickname(draft, text="妞妞2", now=now)
    enrol.enter_birth_year(draft, year=2019, today=now.date(), now=now)
    enrol.enter_birth_month(draft, month=1, today=now.date(), now=now)
    enrol.choose_sex(draft, sex=None, now=now)
    edited = await enrol.complete_child_draft(session, draft=draft, guardian=guardian, now=now)
    assert edited.id == added.id and (edited.nickname, edited.birth_year, edited.sex) == ("妞妞2", 2019, None)

    await enrol.remove_own_child(session, guardian=guardian, child_id=added.id)
    children = await enrol.list_children(session, household_id=guardian.household_id)
    with pytest.raises(Conflict) as last:
        await enrol.remove_own_child(session, guardian=guardian, child_id=children[0].id)
    assert last.value.code == "last_child"
