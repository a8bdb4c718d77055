"""Who is told when a family changes: the guardian who shared a household invite hears that it
was used (someone they did not give it to would be noticed), and the cohort's directors hear
when a guardian leaves — stops all messages, or erases their data while others of the family
stay (the last one leaving is core.alerts.notify's "household left"). Outbox rows, so a notice
survives a restart and a 429; the words are the bot's. Nothing here says what anyone answered."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.alerts.notify import tell_directors
from core.delivery.outbox import LANE_CHECKIN, enqueue
from core.endpoints.service import first_address
from core.messages import MessageKind
from core.models import Guardian, Household, HouseholdInvite
from core.models.enums import GuardianStatus

STOPPED, ERASED = "stopped", "erased"


async def invite_used(session: AsyncSession, *, invite: HouseholdInvite, relationship: str, now: datetime) -> bool:
    """Tell the guardian who made the invite that someone joined with it. False when they
    cannot be told (gone, stopped, blocked)."""
    if invite.created_by_guardian_id is None:
        return False
    inviter = await session.get(Guardian, invite.created_by_guardian_id)
    if inviter is None or inviter.status == GuardianStatus.stopped or inviter.unreachable_at is not None:
        return False
    address = await first_address(session, guardian_id=inviter.id)
    if address is None:
        return False
    row = await enqueue(session, address=address, kind=MessageKind.INVITE_USED, ref=f"household_invite:{invite.id}",
                        cycle="1", lane=LANE_CHECKIN, due_at=now, now=now, guardian_id=inviter.id,
                        cohort_id=None, payload={"relationship": relationship})
    return row is not None


async def guardian_left(session: AsyncSession, *, guardian: Guardian, how: str, now: datetime,
                        cohort_id: int | None = None) -> int:
    """Tell the cohort's directors that a guardian stopped messages or erased their data (the
    household stays). Returns how many directors were told."""
    if cohort_id is None:
        cohort_id = await session.scalar(select(Household.cohort_id).where(Household.id == guardian.household_id))
    ref = f"guardian:{guardian.id}:{how}:{now:%Y%m%d%H%M}"  # stopping again another day is news again
    return await tell_directors(
        session, cohort_id=cohort_id, kind=MessageKind.GUARDIAN_LEFT, ref=ref, now=now,
        payload={"household_id": guardian.household_id, "relationship": guardian.relationship, "how": how},
    )
