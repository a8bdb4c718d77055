"""Campaigns: staff schedule a one-off lesson or message; the tick plans it into the outbox
when due (same lanes, rate limits and quiet hours as lessons)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.access import Scope
from core.catalog.service import get_lesson
from core.content.localized import check_localized
from core.db import affected_rows
from core.delivery import outbox
from core.delivery.outbox import KEY, LANE_LESSON, PENDING, _insert, plan_groups
from core.endpoints.service import guardian_address
from core.delivery.schedule import QuietHours, next_allowed, parse_hhmm
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.inputs import Timestamp
from core.messages import MessageKind
from core.models import Campaign, Cohort, Delivery, Guardian, Household
from core.models.enums import GuardianStatus

TEXT_MAX = 1000


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    # None: every cohort the staff member covers. Ids fit a 32-bit column: larger is bad input.
    cohort_ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] | None = None
    send_at: Timestamp  # aware ISO 8601, stored as UTC
    lesson_id: str | None = Field(default=None, max_length=64)
    texts: dict[str, str] | None = None

    @field_validator("texts")
    @classmethod
    def _texts(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return None if value is None else check_localized(value, max_chars=TEXT_MAX)

    @model_validator(mode="after")
    def _one_content(self) -> CampaignCreate:
        if (self.lesson_id is None) == (self.texts is None):
            raise ValueError("give either lesson_id or texts (not both)")
        return self


async def create_campaign(session: AsyncSession, *, scope: Scope, data: CampaignCreate, now: datetime) -> Campaign:
    if data.send_at <= now:
        raise Invalid("must be in the future", field="send_at")
    if data.cohort_ids is None:
        if scope.cohort_ids is None:
            cohort_ids = list((await session.scalars(select(Cohort.id).order_by(Cohort.id))).all())
        else:
            cohort_ids = sorted(scope.cohort_ids)
    else:
        cohort_ids = sorted(set(data.cohort_ids))
        for cid in cohort_ids:
            if not scope.sees(cid) or await session.get(Cohort, cid) is None:
                raise NotFound(f"cohort {cid} not found", field="cohort_ids")
    if not cohort_ids:
        raise Invalid("no cohorts to send to", field="cohort_ids")
    for cid in cohort_ids:
        scope.require_change(cid)
    lesson_version = None
    if data.lesson_id is not None:
        try:
            lesson = await get_lesson(session, lesson_id=data.lesson_id)
        except NotFound:
            raise Invalid(f"unknown lesson {data.lesson_id!r}", field="lesson_id") from None
        if lesson.retired_at is not None:
            raise Invalid("lesson is retired", field="lesson_id")
        lesson_version = lesson.version
    campaign = Campaign(
        title=data.title.strip(), cohort_ids=cohort_ids, send_at=data.send_at, lesson_id=data.lesson_id,
        lesson_version=lesson_version, texts=data.texts or {}, state="scheduled", created_by_staff_id=scope.staff_id,
        created_at=now,
    )
    session.add(campaign)
    await session.flush()
    audit.record(session, staff_id=scope.staff_id, action="create", entity="campaign", entity_id=campaign.id, now=now)
    return campaign


async def list_campaigns(session: AsyncSession, *, scope: Scope) -> list[Campaign]:
    rows = list((await session.scalars(select(Campaign).order_by(Campaign.send_at.desc(), Campaign.id))).all())
    return [c for c in rows if scope.cohort_ids is None or set(c.cohort_ids) & scope.cohort_ids]


async def get_campaign(session: AsyncSession, *, scope: Scope, campaign_id: int, lock: bool = False) -> Campaign:
    query = select(Campaign).where(Campaign.id == campaign_id).execution_options(populate_existing=True)
    campaign = await session.scalar(query.with_for_update() if lock else query)
    if campaign is None or not (scope.cohort_ids is None or set(campaign.cohort_ids) & scope.cohort_ids):
        raise NotFound("campaign not found")
    return campaign


async def delivery_counts(session: AsyncSession, *, scope: Scope, campaign: Campaign) -> dict[str, int]:
    """The campaign's messages by state, counting only the cohorts the reader covers."""
    counts = dict.fromkeys(outbox.STATES, 0)
    query = select(Delivery.state, func.count()).where(
        Delivery.kind == MessageKind.CAMPAIGN, Delivery.about("campaign", campaign.id)
    ).group_by(Delivery.state)
    if scope.cohort_ids is not None:
        query = query.where(Delivery.cohort_id.in_(scope.cohort_ids))
    for state, n in await session.execute(query):
        counts[state] = n
    return counts


async def cancel_campaign(session: AsyncSession, *, scope: Scope, campaign_id: int, now: datetime) -> tuple[Campaign, int]:
    """Cancel a campaign before it is sent; what is already sent stays sent. Returns the
    campaign and how many pending messages were withdrawn."""
    # The row lock orders this against a tick planning the same campaign (which skips locked
    # rows): either the tick never sees it, or we see it planned and withdraw its messages.
    campaign = await get_campaign(session, scope=scope, campaign_id=campaign_id, lock=True)
    if not all(scope.sees(cid) for cid in campaign.cohort_ids):
        raise Forbidden("the campaign also goes to cohorts you do not cover; ask an admin to cancel it")
    for cid in campaign.cohort_ids:
        scope.require_change(cid)
    if campaign.state == "cancelled":
        raise Conflict("campaign already cancelled", code="already_cancelled")
    withdrawn = affected_rows(await session.execute(
        update(Delivery)
        .where(Delivery.kind == MessageKind.CAMPAIGN, Delivery.about("campaign", campaign.id), Delivery.state == PENDING)
        .values(state=outbox.CANCELLED, finished_at=now, last_error="campaign_cancelled")
    )) or 0
    if campaign.state == "planned" and not withdrawn:
        raise Conflict("campaign has already been sent", code="already_sent")
    campaign.state, campaign.cancelled_at = "cancelled", now
    audit.record(session, staff_id=scope.staff_id, action="update", entity="campaign", entity_id=campaign.id,
                 now=now, fields=["state"])
    return campaign, withdrawn


async def plan_due_campaigns(session: AsyncSession, *, now: datetime) -> int:
    """Write due campaigns into the outbox (idempotent: unique keys, then state 'planned')."""
    due = (await session.scalars(
        select(Campaign).where(Campaign.state == "scheduled", Campaign.send_at <= now).order_by(Campaign.id)
        .with_for_update(skip_locked=True)
    )).all()
    added = 0
    for campaign in due:
        payload: dict[str, Any] = {"campaign_id": campaign.id}
        if campaign.lesson_id is None:
            payload["texts"] = campaign.texts
        for cohort_id in campaign.cohort_ids:
            cohort = await session.get(Cohort, cohort_id)
            if cohort is None:
                continue
            for group in await plan_groups(session, cohort=cohort):
                tz = ZoneInfo(group.timezone)
                due_at = next_allowed(QuietHours(parse_hhmm(group.quiet_start), parse_hhmm(group.quiet_end)), tz,
                                      campaign.send_at)
                tz_col = func.coalesce(Guardian.timezone, literal(cohort.timezone))
                address = guardian_address()
                source = select(
                    address, Guardian.id, literal(cohort.id), literal(str(MessageKind.CAMPAIGN)),
                    literal(f"campaign:{campaign.id}"), literal("campaign"), literal(campaign.id), literal("1"), literal(LANE_LESSON), literal(PENDING),
                    literal(due_at, Delivery.due_at.type), literal(0), literal(payload, Delivery.payload.type),
                    literal(campaign.lesson_id, Delivery.lesson_id.type),
                    literal(campaign.lesson_version, Delivery.lesson_version.type),
                    literal(now, Delivery.created_at.type),
                ).join(Household, Household.id == Guardian.household_id).where(
                    Household.cohort_id == cohort.id, Guardian.status != GuardianStatus.stopped,
                    Guardian.unreachable_at.is_(None), tz_col == group.timezone,
                    Guardian.quiet_start == group.quiet_start, Guardian.quiet_end == group.quiet_end,
                    address.is_not(None),
                )
                result = await session.execute(
                    _insert(session).from_select(
                        ["address", "guardian_id", "cohort_id", "kind", "ref", "ref_kind", "ref_id", "cycle", "lane",
                         "state", "due_at", "attempts", "payload", "lesson_id", "lesson_version", "created_at"], source,
                    ).on_conflict_do_nothing(index_elements=KEY)
                )
                added += max(affected_rows(result) or 0, 0)
        campaign.state, campaign.planned_at = "planned", now
    return added
