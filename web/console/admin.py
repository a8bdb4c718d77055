"""Settings: cohorts, staff and their phones, console sessions (admins end them), and the
invitations of a cohort with a printable A4 poster (QR code, the programme's name and three
plain lines in Chinese). Admin pages need an admin; a cohort's invitations follow the cohort's
scope like the API (core.enrolment.invitations)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from core.cohorts.service import get_cohort, list_cohorts
from core.enrolment import invitations
from core.enrolment.invitations import InvitationCreate
from core.errors import Invalid
from core.staff import service as staff_service
from core.staff import websessions
from core.staff.schemas import StaffUpdate
from web.console.common import back, render
from web.console.deps import DB, Form, Reader

router = APIRouter()


@router.get("/admin", response_class=HTMLResponse)
async def admin_home(request: Request, reader: Reader, session: DB) -> Response:
    reader.require_admin()
    cohorts = await list_cohorts(session, scope=reader.scope)
    staff = await staff_service.list_staff(session, scope=reader.scope)
    sessions = await websessions.list_sessions(session, scope=reader.scope, now=reader.now)
    names = {c.id: c.name for c in cohorts}
    return render(request, "console/admin.html", reader=reader, cohorts=cohorts, staff=staff, sessions=sessions,
                  names=names, done=request.query_params.get("done"))


@router.post("/admin/sessions/{session_id}/revoke")
async def revoke_session(request: Request, session_id: int, reader: Reader, form: Form, session: DB) -> Response:
    await websessions.revoke(session, scope=reader.scope, session_id=session_id, now=reader.now)
    return back(request, "/admin", done="revoked")


@router.post("/admin/staff/{staff_id}/phone")
async def staff_phone(request: Request, staff_id: int, reader: Reader, form: Form, session: DB) -> Response:
    reader.require_admin()
    phone = (form.get("phone") or "").strip()[:30] or None
    data = StaffUpdate(phone=phone, phone_visible=form.get("phone_visible") == "on")
    await staff_service.update_staff(session, staff_id=staff_id, data=data, actor_id=reader.staff.id, now=reader.now)
    return back(request, "/admin", done="saved")


@router.get("/cohorts/{cohort_id}/invitations", response_class=HTMLResponse)
async def invitation_list(request: Request, cohort_id: int, reader: Reader, session: DB) -> Response:
    cohort = await get_cohort(session, scope=reader.scope, cohort_id=cohort_id)
    rows = await invitations.list_invitations(session, scope=reader.scope, cohort_id=cohort_id)
    return render(request, "console/invitations.html", reader=reader, cohort=cohort, rows=rows,
                  usable={i.id: invitations.invitation_problem(i, reader.now) is None for i in rows},
                  done=request.query_params.get("done"))


@router.post("/cohorts/{cohort_id}/invitations")
async def invitation_create(request: Request, cohort_id: int, reader: Reader, form: Form, session: DB) -> Response:
    await get_cohort(session, scope=reader.scope, cohort_id=cohort_id)
    uses = (form.get("max_uses") or "").strip()
    if uses and not uses.isdigit():
        raise Invalid("must be a whole number", field="max_uses", code="bad_number")
    if uses and not 1 <= int(uses) <= 1_000_000:
        raise Invalid("must be between 1 and 1000000", field="max_uses", code="bad_number")
    data = InvitationCreate(label=(form.get("label") or "").strip()[:200], max_uses=int(uses) if uses else None)
    created = await invitations.create_invitation(session, scope=reader.scope, cohort_id=cohort_id, data=data,
                                                  now=reader.now)
    return back(request, f"/invitations/{created.id}/poster")


@router.get("/invitations/{invitation_id}/poster", response_class=HTMLResponse)
async def poster(request: Request, invitation_id: int, reader: Reader, session: DB) -> Response:
    """An A4 poster for the village notice board, always in Chinese (the families read it)."""
    invitation = await invitations.get_invitation(session, scope=reader.scope, invitation_id=invitation_id)
    cohort = await get_cohort(session, scope=reader.scope, cohort_id=invitation.cohort_id)
    link = invitations.deep_link(request.app.state.settings.telegram_bot_username, invitation.code)
    qr = None
    if link is not None:
        import segno

        qr = Markup(segno.make(link, error="m").svg_inline(scale=10, border=2, dark="#000", title=None))
    return render(request, "console/poster.html", reader=reader, invitation=invitation, cohort=cohort, link=link,
                  qr=qr, locale="zh-Hans")
