"""Check-ins over the database: loading questionnaire versions, planning one check-in per child
(or guardian) per cycle with its deliveries, recording answers one by one, completing, expiring,
and raising alerts.

Services take the session first and `now` by keyword, and never commit: the caller owns the
transaction (one answer = one commit, so nothing a guardian said is lost). Scoring and rules are
the pure functions of core.checkin.scoring / core.checkin.rules; this module only reads and
writes rows around them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.alerts import raising as alerts
from core.alerts.raising import AlertSubject
from core.catalog.questionnaires import get_questionnaire as get_questionnaire
from core.catalog.questionnaires import load_questionnaires as load_questionnaires
from core.catalog.questionnaires import questionnaire_file as questionnaire_file
from core.checkin.rules import FiredRule, evaluate, rules_fired_by_answer
from core.checkin.scoring import score
from core.content.questionnaires import AnswerIn, QuestionnaireFile
from core.db import dialect_insert
from core.delivery.outbox import KEY, LANE_CHECKIN, PENDING
from core.endpoints.service import first_addresses
from core.messages import MessageKind
from core.people import age_in_years
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.locales import pick_locale
from core.models import Alert, Answer, CheckIn, CheckInScore, Child, Cohort, Delivery, Guardian, Household
from core.models.enums import GuardianStatus

OPEN, IN_PROGRESS, COMPLETED, EXPIRED = "open", "in_progress", "completed", "expired"
ANSWERABLE = (OPEN, IN_PROGRESS)
DEFAULT_EXPIRY = timedelta(days=3)


# ---------------------------------------------------------------- planning


def child_key(child_id: int) -> str:
    return f"child:{child_id}"


def guardian_key(guardian_id: int) -> str:
    return f"guardian:{guardian_id}"


def reachable(guardians: list[Guardian]) -> list[Guardian]:
    """Guardians who may be messaged: not stopped, not blocked."""
    return [g for g in guardians if g.status != GuardianStatus.stopped and g.unreachable_at is None]


def choose_respondents(guardians: list[Guardian]) -> list[Guardian]:
    """Who is asked about a child: the reachable guardians who live with the children, or all
    reachable guardians when none does (DESIGN "Who answers a check-in")."""
    reachable_ = reachable(guardians)
    living = [g for g in reachable_ if g.lives_with_children]
    return living or reachable_


@dataclass
class PlanResult:
    checkins: int = 0  # check-ins created now
    deliveries: int = 0  # deliveries enqueued now


def _subject_ids(subject_keys: set[str]) -> tuple[list[int], list[int]]:
    """The child ids and guardian ids named by subject keys ("child:3", "guardian:8")."""
    children: list[int] = []
    guardians: list[int] = []
    for key in subject_keys:
        kind, _, number = key.partition(":")
        if number.isascii() and number.isdigit():
            (children if kind == "child" else guardians if kind == "guardian" else []).append(int(number))
    return children, guardians


async def open_checkins_for_cohort(
    session: AsyncSession,
    *,
    cohort_id: int,
    questionnaire_id: str,
    cycle: str,
    now: datetime,
    due_at: datetime | None = None,
    expires_after: timedelta = DEFAULT_EXPIRY,
    subject_keys: set[str] | None = None,
    case_id: int | None = None,
) -> PlanResult:
    """One check-in per child of the right age (subject child) or per guardian (subject self)
    for this cycle, and one delivery per respondent. Safe to call twice: the unique keys on
    check-ins and deliveries make a second call add nothing. `subject_keys` limits it to some
    children or guardians (a case's follow-up, which then carries `case_id`)."""
    cohort = await session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound("cohort not found")
    q = await get_questionnaire(session, questionnaire_id=questionnaire_id)
    due = due_at or now
    expires = due + expires_after
    today = now.astimezone(ZoneInfo(cohort.timezone)).date()

    # Whose households to look at: the whole cohort, or (a case's follow-up) only the subjects'
    # own households — found by index, so closing a case costs the same in a village of 10 or
    # of 10,000 households.
    in_scope = Household.cohort_id == cohort_id
    if subject_keys is not None:
        child_ids, guardian_ids = _subject_ids(subject_keys)
        in_scope = in_scope & Household.id.in_(
            select(Child.household_id).where(Child.id.in_(child_ids))
            .union(select(Guardian.household_id).where(Guardian.id.in_(guardian_ids)))
        )
    guardians = list((await session.scalars(
        select(Guardian).join(Household, Household.id == Guardian.household_id)
        .where(in_scope).order_by(Guardian.id)
    )).all())
    by_household: dict[int, list[Guardian]] = {}
    for g in guardians:
        by_household.setdefault(g.household_id, []).append(g)

    rows: list[dict[str, object]] = []
    respondents: dict[str, list[Guardian]] = {}  # subject key → who is asked
    if q.subject == "child":
        assert q.child_age is not None
        children = (await session.scalars(
            select(Child).join(Household, Household.id == Child.household_id)
            .where(in_scope).order_by(Child.id)
        )).all()
        for child in children:
            if not q.child_age.min <= age_in_years(child.birth_year, child.birth_month, today) <= q.child_age.max:
                continue
            asked = choose_respondents(by_household.get(child.household_id, []))
            if not asked:
                continue
            key = child_key(child.id)
            respondents[key] = asked
            rows.append({"household_id": child.household_id, "child_id": child.id, "subject_guardian_id": None,
                         "subject_key": key})
    else:
        for g in reachable(guardians):
            key = guardian_key(g.id)
            respondents[key] = [g]
            rows.append({"household_id": g.household_id, "child_id": None, "subject_guardian_id": g.id,
                         "subject_key": key})
    if subject_keys is not None:
        rows = [row for row in rows if row["subject_key"] in subject_keys]
    result = PlanResult()
    if not rows:
        return result
    common = {"questionnaire_id": q.id, "questionnaire_version": q.version, "cohort_id": cohort_id, "cycle": cycle,
              "state": OPEN, "cursor": 0, "created_at": now, "due_at": due, "expires_at": expires,
              "reminded_count": 0, "case_id": case_id}
    planned = set((await session.scalars(
        select(CheckIn.subject_key).where(CheckIn.questionnaire_id == q.id, CheckIn.cycle == cycle,
                                          CheckIn.subject_key.in_(list(respondents)))
    )).all())
    todo = [row for row in rows if row["subject_key"] not in planned]
    if not todo:
        return result
    # executemany of one statement per table: a village of thousands plans in one short write.
    # RETURNING names the check-ins this statement created (none that a conflict skipped), so
    # they need no second query.
    created: list[tuple[int, str]] = []
    for start in range(0, len(todo), 1000):
        created += [(row.id, row.subject_key) for row in await session.execute(
            dialect_insert(session, CheckIn)
            .on_conflict_do_nothing(index_elements=["questionnaire_id", "subject_key", "cycle"])
            .returning(CheckIn.id, CheckIn.subject_key),
            [{**common, **row} for row in todo[start:start + 1000]],
        )]
    created.sort()
    result.checkins = len(created)
    addresses = await first_addresses(
        session, guardian_ids={g.id for _, key in created for g in respondents[key]})
    deliveries = [
        {"address": addresses[g.id], "guardian_id": g.id, "cohort_id": cohort_id, "kind": MessageKind.CHECKIN,
         "ref": f"checkin:{checkin_id}", "ref_kind": "checkin", "ref_id": checkin_id, "cycle": cycle, "lane": LANE_CHECKIN, "state": PENDING,
         "due_at": due, "attempts": 0, "payload": {"checkin_id": checkin_id}, "created_at": now}
        for checkin_id, key in created for g in respondents[key] if g.id in addresses
    ]
    for start in range(0, len(deliveries), 1000):
        await session.execute(
            dialect_insert(session, Delivery).on_conflict_do_nothing(index_elements=KEY),
            deliveries[start:start + 1000],
        )
    result.deliveries = len(deliveries)
    return result


# ---------------------------------------------------------------- answering


@dataclass
class AnswerResult:
    checkin: CheckIn
    item_id: str
    stored: bool  # False: the same answer was already there (or another guardian's stands)
    next_item: str | None  # the item to ask next; None when every item is answered
    alerts: list[Alert] = field(default_factory=list)  # raised by this answer (red answers)

    @property
    def done(self) -> bool:
        return self.next_item is None


async def _checkin_for_update(session: AsyncSession, checkin_id: int) -> CheckIn:
    checkin = await session.scalar(
        select(CheckIn).where(CheckIn.id == checkin_id).with_for_update().execution_options(populate_existing=True)
    )
    if checkin is None:
        raise NotFound("check-in not found")
    return checkin


async def _answers(session: AsyncSession, checkin_id: int) -> dict[str, Answer]:
    rows = (await session.scalars(select(Answer).where(Answer.check_in_id == checkin_id))).all()
    return {a.item_id: a for a in rows}


async def answers_by_item(session: AsyncSession, checkin_id: int) -> dict[str, int]:
    """item id → value of the answers given so far."""
    return {item_id: a.value for item_id, a in (await _answers(session, checkin_id)).items()}


def _next_unanswered(q: QuestionnaireFile, answered: set[str]) -> int:
    for index, item in enumerate(q.items):
        if item.id not in answered:
            return index
    return len(q.items)


def is_safety_item(q: QuestionnaireFile, item_id: str) -> bool:
    """An item with a red `answer_in` rule: answered by anyone, it is always stored and acted on."""
    return any(isinstance(r, AnswerIn) and r.severity == "red" and r.item == item_id for r in q.rules)


def _keeps_red(q: QuestionnaireFile, existing: Answer, guardian_id: int) -> bool:
    """Another guardian's red answer is never replaced by a milder one: what they said stands."""
    return existing.answered_by_guardian_id != guardian_id and bool(rules_fired_by_answer(q, existing.item_id,
                                                                                          existing.value))


async def _may_answer(session: AsyncSession, checkin: CheckIn, guardian_id: int) -> Guardian:
    guardian = await session.get(Guardian, guardian_id)
    if guardian is None:
        raise NotFound("guardian not found")
    if checkin.subject_guardian_id is not None:
        if checkin.subject_guardian_id != guardian_id:
            raise Forbidden("this check-in is for another guardian", code="not_yours")
    elif guardian.household_id != checkin.household_id:
        raise Forbidden("this check-in is about a child of another household", code="not_yours")
    return guardian


async def record_answer(
    session: AsyncSession, *, checkin_id: int, guardian_id: int, item_id: str, value: int, now: datetime
) -> AnswerResult:
    """Store one answer (the caller commits it at once).

    The first answer claims the check-in; another guardian then gets Conflict
    "claimed_by_other" — except on a safety item, which is always stored (when empty, or when
    the new answer is red) and acted on. The same answer twice is harmless; a different answer
    to an answered item updates it (after `go_back`). A red answer raises its alert now.
    """
    checkin = await _checkin_for_update(session, checkin_id)
    await _may_answer(session, checkin, guardian_id)
    q = await get_questionnaire(session, questionnaire_id=checkin.questionnaire_id,
                                version=checkin.questionnaire_version)
    if item_id not in q.items_by_id:
        raise Invalid(f"no item {item_id!r} in {q.id}", field="item_id", code="unknown_item")
    if value not in q.choice_values(item_id):
        raise Invalid(f"{value!r} is not a choice of {item_id!r}", field="value", code="unknown_choice")

    red = rules_fired_by_answer(q, item_id, value)
    safety = is_safety_item(q, item_id)
    answerable = checkin.state in ANSWERABLE and now < checkin.expires_at
    claimed_by_other = checkin.claimed_by_guardian_id not in (None, guardian_id)
    if not safety:
        if not answerable:
            expired = checkin.state == EXPIRED or (checkin.state in ANSWERABLE and now >= checkin.expires_at)
            raise Conflict("this check-in is closed", code="expired" if expired else "closed")
        if claimed_by_other:
            raise Conflict("another guardian is answering this check-in", code="claimed_by_other")

    answers = await _answers(session, checkin.id)
    existing = answers.get(item_id)
    stored = False
    # Another guardian (or a closed check-in) can only add a safety answer, or replace one with a red one.
    primary = answerable and not claimed_by_other
    if existing is None:
        answer = Answer(check_in_id=checkin.id, item_id=item_id, value=value,
                        answered_by_guardian_id=guardian_id, answered_at=now)
        session.add(answer)
        answers[item_id] = answer
        stored = True
    elif existing.value != value and (red or (primary and not _keeps_red(q, existing, guardian_id))):
        existing.previous_value = existing.value
        existing.value = value
        existing.answered_by_guardian_id = guardian_id
        existing.changed_at = now
        stored = True

    if primary:
        if checkin.claimed_by_guardian_id is None:
            checkin.claimed_by_guardian_id = guardian_id
        if checkin.state == OPEN:
            checkin.state = IN_PROGRESS
        checkin.cursor = _next_unanswered(q, set(answers))
    await session.flush()

    alerts: list[Alert] = []
    if stored and red:
        cohort = await session.get(Cohort, checkin.cohort_id)
        locale = pick_locale(cohort.default_locale if cohort else None)
        for fired in red:
            alerts.append(await raise_alert(session, checkin=checkin, fired=fired, locale=locale, now=now))
    index = checkin.cursor if primary else _next_unanswered(q, set(answers))
    next_item = q.items[index].id if index < len(q.items) else None
    return AnswerResult(checkin, item_id, stored, next_item, alerts)


async def go_back(session: AsyncSession, *, checkin_id: int, guardian_id: int, now: datetime) -> str | None:
    """Move the cursor back to the last answered item before it, so the guardian can change
    that answer. Returns the item to ask (None: nothing to go back to)."""
    checkin = await _checkin_for_update(session, checkin_id)
    await _may_answer(session, checkin, guardian_id)
    if checkin.state not in ANSWERABLE or now >= checkin.expires_at:
        raise Conflict("this check-in is closed", code="closed")
    if checkin.claimed_by_guardian_id not in (None, guardian_id):
        raise Conflict("another guardian is answering this check-in", code="claimed_by_other")
    q = await get_questionnaire(session, questionnaire_id=checkin.questionnaire_id,
                                version=checkin.questionnaire_version)
    answered = set(await _answers(session, checkin.id))
    for index in range(min(checkin.cursor, len(q.items)) - 1, -1, -1):
        if q.items[index].id in answered:
            checkin.cursor = index
            await session.flush()
            return q.items[index].id
    return None


# ---------------------------------------------------------------- completing and expiring


async def _previous_raw_scores(session: AsyncSession, checkin: CheckIn) -> dict[str, int | None] | None:
    """Raw scores of the last completed check-in of the same subject and questionnaire."""
    previous_id = await session.scalar(
        select(CheckIn.id)
        .where(CheckIn.subject_key == checkin.subject_key, CheckIn.questionnaire_id == checkin.questionnaire_id,
               CheckIn.state == COMPLETED, CheckIn.id != checkin.id, CheckIn.created_at <= checkin.created_at)
        .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
        .limit(1)
    )
    if previous_id is None:
        return None
    rows = (await session.execute(
        select(CheckInScore.scale_id, CheckInScore.raw).where(CheckInScore.check_in_id == previous_id)
    )).all()
    return {scale_id: raw for scale_id, raw in rows}


async def _unanswered_cycles(session: AsyncSession, checkin: CheckIn) -> int:
    """Check-ins of this subject and questionnaire missed in a row, up to and including this one."""
    states = (await session.scalars(
        select(CheckIn.state)
        .where(CheckIn.subject_key == checkin.subject_key, CheckIn.questionnaire_id == checkin.questionnaire_id,
               CheckIn.created_at <= checkin.created_at)
        .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
    )).all()
    missed = 0
    for state in states:
        if state != EXPIRED:
            break
        missed += 1
    return missed


@dataclass
class CompletionResult:
    checkin: CheckIn
    scores: list[CheckInScore]
    fired: list[FiredRule]
    alerts: list[Alert]


async def _score_and_alert(session: AsyncSession, checkin: CheckIn, *, now: datetime,
                           unanswered_cycles: int) -> CompletionResult:
    q = await get_questionnaire(session, questionnaire_id=checkin.questionnaire_id,
                                version=checkin.questionnaire_version)
    answers = {item_id: a.value for item_id, a in (await _answers(session, checkin.id)).items()}
    form = score(q, answers)
    previous = await _previous_raw_scores(session, checkin)
    fired = evaluate(q, answers, form, previous, unanswered_cycles)
    stored: list[CheckInScore] = []
    for scale_id, s in form.scales.items():
        row = CheckInScore(check_in_id=checkin.id, scale_id=scale_id, raw=s.raw, scaled=s.scaled,
                           status=s.status, cutoffs=list(s.cutoffs), reason=s.reason)
        session.add(row)
        stored.append(row)
    await session.flush()
    cohort = await session.get(Cohort, checkin.cohort_id)
    locale = pick_locale(cohort.default_locale if cohort else None)
    alerts = [await raise_alert(session, checkin=checkin, fired=f, locale=locale, now=now) for f in fired]
    return CompletionResult(checkin, stored, fired, alerts)


async def complete_checkin(session: AsyncSession, *, checkin_id: int, now: datetime) -> CompletionResult:
    """Score, evaluate every rule (trend rules against the previous completed check-in), store
    the scores and raise alerts. A check-in completed already is returned as it is."""
    checkin = await _checkin_for_update(session, checkin_id)
    if checkin.state == COMPLETED:
        scores = list((await session.scalars(
            select(CheckInScore).where(CheckInScore.check_in_id == checkin.id))).all())
        return CompletionResult(checkin, scores, [], [])
    if checkin.state == EXPIRED:
        raise Conflict("this check-in has expired", code="expired")
    checkin.state = COMPLETED
    checkin.completed_at = now
    await session.flush()
    # An answered check-in ends any run of missed ones: no unanswered-cycles rule fires here.
    return await _score_and_alert(session, checkin, now=now, unanswered_cycles=0)


async def expire_checkins(session: AsyncSession, *, now: datetime, limit: int = 500) -> list[CompletionResult]:
    """Open or in-progress check-ins past expires_at become expired (missed). Whatever was
    answered is still scored and its rules fire, and a run of missed cycles can fire
    `unanswered_cycles_at_least`."""
    checkins = (await session.scalars(
        select(CheckIn).where(CheckIn.state.in_(ANSWERABLE), CheckIn.expires_at <= now)
        .order_by(CheckIn.created_at, CheckIn.id).limit(limit).with_for_update(skip_locked=True)
    )).all()
    out = []
    for checkin in checkins:
        checkin.state = EXPIRED
        await session.flush()
        out.append(await _score_and_alert(session, checkin, now=now,
                                          unanswered_cycles=await _unanswered_cycles(session, checkin)))
    return out


# ---------------------------------------------------------------- alerts


def alert_subject(checkin: CheckIn) -> AlertSubject:
    if checkin.child_id is not None:
        key = child_key(checkin.child_id)
    elif checkin.subject_guardian_id is not None:
        key = guardian_key(checkin.subject_guardian_id)
    else:
        key = f"household:{checkin.household_id}"
    return AlertSubject(subject_key=key, cohort_id=checkin.cohort_id, household_id=checkin.household_id,
                        child_id=checkin.child_id, guardian_id=checkin.subject_guardian_id)


async def raise_alert(session: AsyncSession, *, checkin: CheckIn, fired: FiredRule, locale: str,
                      now: datetime) -> Alert:
    """A fired rule of this check-in as an alert (or an occurrence of the unresolved one)."""
    raised = await alerts.raise_alert(
        session, subject=alert_subject(checkin), source=checkin.questionnaire_id,
        source_version=checkin.questionnaire_version, rule_id=fired.rule_id, severity=fired.severity,
        audience=fired.audience, reason=fired.reason(locale), evidence=fired.evidence,
        seen=("check_in_ids", checkin.id), check_in_id=checkin.id, now=now,
    )
    return raised.alert
