"""Read shapes of campaigns (CampaignCreate lives beside the service that checks it)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from core.access import Scope
from core.models import Campaign


class CampaignRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    cohort_ids: list[int]  # only the cohorts the reader covers
    send_at: datetime
    lesson_id: str | None
    lesson_version: int | None
    texts: dict[str, Any]
    state: str  # scheduled | planned | cancelled
    created_by_staff_id: int | None
    created_at: datetime
    planned_at: datetime | None
    cancelled_at: datetime | None

    @classmethod
    def for_scope(cls, campaign: Campaign, scope: Scope) -> CampaignRead:
        # A campaign an admin sent to every cohort must not tell a director which others exist.
        read = cls.model_validate(campaign)
        read.cohort_ids = [cid for cid in campaign.cohort_ids if scope.sees(cid)]
        return read


class CampaignDetail(CampaignRead):
    deliveries: dict[str, int]  # messages by state (pending, sending, sent, …), in the reader's cohorts


class CampaignCancelled(BaseModel):
    campaign: CampaignRead
    withdrawn: int  # pending messages taken back; those already sent stay sent
