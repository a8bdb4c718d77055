"""The directors' inbox: what families sent (list, read with the conversation), a reply relayed to
the guardian, a call noted, done. Scoped (another cohort's item is not found) and audited by the
core service; acting here updates the cards on the directors' phones (through the outbox)."""
from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from api.deps import MAX_ID, IdPath, Now, ScopeDep, SessionDep
from core.flows import inbox as inbox_flows
from core.inbox import service as inbox
from core.inbox.schemas import FamilyRead, InboxItemDetail, InboxItemRead, InboxMessageRead, ReplyCreate
from core.inbox.views import family_of
from core.models import InboxItem
from sqlalchemy.ext.asyncio import AsyncSession

router = APIRouter(tags=["inbox"])


async def _detail(session: AsyncSession, item: InboxItem) -> InboxItemDetail:
    family = await family_of(session, household_id=item.household_id, guardian_id=item.guardian_id)
    messages = await inbox.thread(session, item_id=item.id)
    return InboxItemDetail(**InboxItemRead.model_validate(item).model_dump(), family=FamilyRead(**asdict(family)),
                           messages=[InboxMessageRead.model_validate(m) for m in messages])


@router.get("/inbox", response_model=list[InboxItemRead])
async def list_inbox(
    session: SessionDep,
    scope: ScopeDep,
    now: Now,
    cohort_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    state: Literal["asking", "open", "done"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[InboxItemRead]:
    """Items not done (the longest waiting first), unless a state is asked for."""
    items = await inbox.list_items(session, scope=scope, now=now, cohort_id=cohort_id, state=state, limit=limit)
    return [InboxItemRead.model_validate(i) for i in items]


@router.get("/inbox/{item_id}", response_model=InboxItemDetail)
async def read_inbox_item(item_id: IdPath, session: SessionDep, scope: ScopeDep, now: Now) -> InboxItemDetail:
    item = await inbox.read_item(session, scope=scope, item_id=item_id, now=now)
    return await _detail(session, item)


@router.post("/inbox/{item_id}/reply", response_model=InboxMessageRead, status_code=status.HTTP_201_CREATED)
async def reply(item_id: IdPath, data: ReplyCreate, session: SessionDep, scope: ScopeDep,
                now: Now) -> InboxMessageRead:
    """Relayed to the guardian as "（name）回复您：…"; status `undelivered` when they cannot be
    reached (blocked the bot, stopped, left)."""
    message = await inbox.reply(session, scope=scope, item_id=item_id, text=data.text, now=now)
    return InboxMessageRead.model_validate(message)


@router.post("/inbox/{item_id}/call-noted", response_model=InboxItemDetail)
async def call_noted(item_id: IdPath, session: SessionDep, scope: ScopeDep, now: Now) -> InboxItemDetail:
    item = await inbox.note_call(session, scope=scope, item_id=item_id, now=now)
    return await _detail(session, item)


@router.post("/inbox/{item_id}/done", response_model=InboxItemDetail)
async def done(item_id: IdPath, session: SessionDep, scope: ScopeDep, now: Now) -> InboxItemDetail:
    """Idempotent: an item already done stays as it was (who did it, when)."""
    item, _first = await inbox_flows.mark_done(session, scope=scope, item_id=item_id, now=now)
    return await _detail(session, item)
