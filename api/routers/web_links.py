"""One-time sign-in links to the guardians' mobile pages, which staff hand a guardian (as a link
or a QR code shown on their phone). Random, stored hashed, expiring, single use; the link carries
nothing but its token — no name, score or word about risk."""
from __future__ import annotations

import base64
from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel

from api.deps import IdPath, Now, ScopeDep, SessionDep, SettingsDep
from core import audit
from core.enrolment.invitations import qr_png
from core.webauth.keys import load_secret
from core.webauth.service import create_link

router = APIRouter(tags=["guardians"])


class WebLinkRead(BaseModel):
    url: str
    expires_at: datetime
    qr_png_base64: str  # the same link as a QR code, for the guardian's phone camera


@router.post("/guardians/{guardian_id}/web-link", response_model=WebLinkRead, status_code=status.HTTP_201_CREATED)
async def make_web_link(guardian_id: IdPath, session: SessionDep, scope: ScopeDep, settings: SettingsDep,
                        now: Now) -> WebLinkRead:
    token, expires, cohort_id = await create_link(session, scope=scope, guardian_id=guardian_id,
                                                  secret=load_secret(settings), now=now, hours=settings.web_link_hours)
    audit.record(session, staff_id=scope.staff_id, action="create", entity="web_link", entity_id=guardian_id,
                 cohort_id=cohort_id, now=now)
    url = f"{settings.public_base}/m/link/{token}"
    return WebLinkRead(url=url, expires_at=expires, qr_png_base64=base64.b64encode(qr_png(url, scale=6)).decode())
