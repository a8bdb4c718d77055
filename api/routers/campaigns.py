"""Campaigns: one-off lessons or messages on a date. Directors for their cohorts, admins for
all; supervisors read them."""
from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import IdPath, Now, ScopeDep, SessionDep
from core.campaigns import service
from core.campaigns.schemas import CampaignCancelled, CampaignDetail, CampaignRead
from core.campaigns.service import CampaignCreate

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


@router.post("", response_model=CampaignRead, status_code=status.HTTP_201_CREATED)
async def create_campaign(data: CampaignCreate, session: SessionDep, scope: ScopeDep, now: Now) -> CampaignRead:
    campaign = await service.create_campaign(session, scope=scope, data=data, now=now)
    return CampaignRead.for_scope(campaign, scope)


@router.get("", response_model=list[CampaignRead])
async def list_campaigns(session: SessionDep, scope: ScopeDep) -> list[CampaignRead]:
    return [CampaignRead.for_scope(c, scope) for c in await service.list_campaigns(session, scope=scope)]


@router.get("/{campaign_id}", response_model=CampaignDetail)
async def read_campaign(campaign_id: IdPath, session: SessionDep, scope: ScopeDep) -> CampaignDetail:
    campaign = await service.get_campaign(session, scope=scope, campaign_id=campaign_id)
    counts = await service.delivery_counts(session, scope=scope, campaign=campaign)
    return CampaignDetail(**CampaignRead.for_scope(campaign, scope).model_dump(), deliveries=counts)


@router.post("/{campaign_id}/cancel", response_model=CampaignCancelled)
async def cancel_campaign(campaign_id: IdPath, session: SessionDep, scope: ScopeDep, now: Now) -> CampaignCancelled:
    campaign, withdrawn = await service.cancel_campaign(session, scope=scope, campaign_id=campaign_id, now=now)
    return CampaignCancelled(campaign=CampaignRead.for_scope(campaign, scope), withdrawn=withdrawn)
