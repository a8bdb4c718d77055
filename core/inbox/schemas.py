"""What the API shows of inbox items: the item, where it stands, the family (the one label), and
its conversation."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class InboxMessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    direction: str  # in (the guardian) | out (a director's reply)
    kind: str
    text: str | None
    status: str  # in: received | forwarded | shown | not_shown; out: queued | delivered | undelivered
    staff_id: int | None
    file_unique_id: str | None
    media_type: str | None
    severity: str | None
    at: datetime


class FamilyRead(BaseModel):
    household_id: int | None
    relationship: str | None = None
    lives_with_children: bool | None = None


class InboxItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    cohort_id: int
    household_id: int
    guardian_id: int | None
    child_id: int | None
    state: str  # asking | open | done
    created_at: datetime
    last_message_at: datetime
    read_at: datetime | None
    call_noted_at: datetime | None
    call_noted_by_staff_id: int | None
    done_at: datetime | None
    done_by_staff_id: int | None
    alert_id: int | None
    escalation_alert_id: int | None
    case_id: int | None


class InboxItemDetail(InboxItemRead):
    family: FamilyRead
    messages: list[InboxMessageRead]


class ReplyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)
