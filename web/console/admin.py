"""Settings: cohorts, staff and their phones, console sessions (admins end them), and the
invitations of a cohort with a printable A4 poster (QR code, the programme's name and three
plain lines in Chinese). Admin pages need an admin; a cohort's invitations follow the cohort's
scope like the API (core.enrolment.invitations)."""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from pydantic import ValidationError

from core.campaigns import service as campaign_service
from core.campaigns.service import CampaignCreate
from core.cohorts.schemas import CohortCreate
from core.cohorts.service import checkin_schedule, create_cohort, get_cohort, lesson_schedule, list_cohorts
from core.enrolment import invitations
from core.enrolment.invitations import InvitationCreate, web_join_link
from core.errors import Invalid
from core.staff import service as staff_service
from core.staff import websessions
from core.staff.schemas import StaffCreate, StaffUpdate
from web.console.common import back, render
from web.console.deps import DB, Form, IdPath, Reader

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
async def revoke_session(request: Request, session_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    await websessions.revoke(session, scope=reader.scope, session_id=session_id, now=reader.now)
    return back(request, "/admin", done="revoked")


@router.post("/admin/staff/{staff_id}/phone")
async def staff_phone(request: Request, staff_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    reader.require_admin()
    phone = (form.get("phone") or "").strip()[:30] or None
    data = StaffUpdate(phone=phone, phone_visible=form.get("phone_visible") == "on")
    await staff_service.update_staff(session, staff_id=staff_id, data=data, actor_id=reader.staff.id, now=reader.now)
    return back(request, "/admin", done="saved")


@router.get("/cohorts/{cohort_id}/invitations", response_class=HTMLResponse)
async def invitation_list(request: Request, cohort_id: IdPath, reader: Reader, session: DB) -> Response:
    cohort = await get_cohort(session, scope=reader.scope, cohort_id=cohort_id)
    rows = await invitations.list_invitations(session, scope=reader.scope, cohort_id=cohort_id)
    return render(request, "console/invitations.html", reader=reader, cohort=cohort, rows=rows,
                  usable={i.id: invitations.invitation_problem(i, reader.now) is None for i in rows},
                  done=request.query_params.get("done"))


@router.post("/cohorts/{cohort_id}/invitations")
async def invitation_create(request: Request, cohort_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
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
async def poster(request: Request, invitation_id: IdPath, reader: Reader, session: DB) -> Response:
    """An A4 poster for the village notice board, always in Chinese (the families read it)."""
    invitation = await invitations.get_invitation(session, scope=reader.scope, invitation_id=invitation_id)
    cohort = await get_cohort(session, scope=reader.scope, cohort_id=invitation.cohort_id)
    # The web enrolment page, not Telegram's link: families inside mainland China scan it with
    # WeChat or the camera and it opens in any browser.
    settings = request.app.state.settings
    link = web_join_link(settings.public_base, invitation.code)
    qr = Markup(segno.make(link, error="m").svg_inline(scale=10, border=2, dark="#000", title=None))
    return render(request, "console/poster.html", reader=reader, invitation=invitation, cohort=cohort, link=link,
                  join_page=f"{settings.public_base}/m/join", qr=qr, local_only=settings.public_url is None,
                  locale="zh-Hans")


# ---------------------------------------------------------------- schedules and campaigns


@router.get("/schedules", response_class=HTMLResponse)
async def schedules(request: Request, reader: Reader, session: DB) -> Response:
    """Each cohort's lesson days and check-in calendar with the next slot; each cohort's name
    links to its settings page (web/console/cohort_settings.py), where they are changed."""
    rows = [(c, lesson_schedule(c, now=reader.now), await checkin_schedule(session, cohort=c, now=reader.now))
            for c in await list_cohorts(session, scope=reader.scope)]
    return render(request, "console/schedules.html", reader=reader, rows=rows)


@router.get("/campaigns", response_class=HTMLResponse)
async def campaigns(request: Request, reader: Reader, session: DB) -> Response:
    rows = await campaign_service.list_campaigns(session, scope=reader.scope)
    cohorts = await list_cohorts(session, scope=reader.scope)
    return render(request, "console/campaigns.html", reader=reader, rows=rows, cohorts=cohorts,
                  names={c.id: c.name for c in cohorts}, done=request.query_params.get("done"))


@router.post("/campaigns")
async def campaign_create(request: Request, reader: Reader, form: Form, session: DB) -> Response:
    """A one-off message on a date (5·25, 10·10, school start) to the chosen cohorts."""
    try:
        day = date.fromisoformat(form.get("date", ""))
        at = time.fromisoformat(form.get("time", "") or "19:00")
    except ValueError:
        raise Invalid("give a date and a time, e.g. 2026-12-25 and 19:00", field="send_at",
                      code="bad_date") from None
    zone = ZoneInfo(request.app.state.settings.default_timezone)
    texts = {loc: (form.get(f"text_{loc}") or "").strip() for loc in ("zh-Hans", "en")}
    texts = {loc: text for loc, text in texts.items() if text}
    raw_ids = (await request.form()).getlist("cohort_id")
    if not all(isinstance(v, str) and v.isdigit() for v in raw_ids):
        raise Invalid("must be cohort numbers", field="cohort_ids", code="bad_cohort")
    try:
        data = CampaignCreate(title=(form.get("title") or "").strip(), send_at=datetime.combine(day, at, zone),
                              texts=texts or None, cohort_ids=[int(v) for v in raw_ids] or None)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Invalid(str(first.get("msg")), field=".".join(str(p) for p in first.get("loc", ())) or None,
                      code="campaign_invalid") from None
    await campaign_service.create_campaign(session, scope=reader.scope, data=data, now=reader.now)
    return back(request, "/campaigns", done="saved")


@router.post("/campaigns/{campaign_id}/cancel")
async def campaign_cancel(request: Request, campaign_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    await campaign_service.cancel_campaign(session, scope=reader.scope, campaign_id=campaign_id, now=reader.now)
    return back(request, "/campaigns", done="cancelled")


# ---------------------------------------------------------------- cohorts and staff (admins)


def _validated(model, **values):  # type: ignore[no-untyped-def]
    """A pydantic model from a form, its first problem as a clear Invalid naming the field."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Invalid(str(first.get("msg")), field=".".join(str(p) for p in first.get("loc", ())) or None,
                      code="form_invalid") from None


@router.post("/admin/cohorts")
async def cohort_create(request: Request, reader: Reader, form: Form, session: DB) -> Response:
    reader.require_admin()
    data = _validated(CohortCreate, name=(form.get("name") or "").strip(), region=(form.get("region") or "").strip(),
                      timezone=request.app.state.settings.default_timezone)
    await create_cohort(session, data=data, now=reader.now)
    return back(request, "/admin", done="saved")


def _issued(request: Request, reader, issued) -> Response:  # type: ignore[no-untyped-def]
    """The link code, shown once: only its hash is kept."""
    link = request.app.state.settings.deep_link(issued.link_code) if issued.link_code else None
    return render(request, "console/staff_issued.html", reader=reader, staff=issued.staff, code=issued.link_code,
                  link=link, days=request.app.state.settings.staff_link_code_days)


@router.post("/admin/staff")
async def staff_create(request: Request, reader: Reader, form: Form, session: DB) -> Response:
    reader.require_admin()
    raw = (await request.form()).getlist("cohort_id")
    if not all(isinstance(v, str) and v.isdigit() for v in raw):
        raise Invalid("must be cohort numbers", field="cohort_ids", code="bad_cohort")
    cohort_ids = [int(v) for v in raw]
    role = form.get("role") or ""
    data = _validated(StaffCreate, display_name=form.get("display_name") or "", role=role, cohort_ids=cohort_ids,
                      primary_cohort_ids=cohort_ids if role == "director" and form.get("primary") == "on" else [],
                      locale=form.get("locale") or "zh-Hans")
    issued = await staff_service.create_staff(session, data=data, actor_id=reader.staff.id, now=reader.now,
                                              link_days=request.app.state.settings.staff_link_code_days)
    return _issued(request, reader, issued)


@router.post("/admin/staff/{staff_id}/link-code")
async def staff_link_code(request: Request, staff_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    reader.require_admin()
    issued = await staff_service.issue_link_code(session, staff_id=staff_id, actor_id=reader.staff.id, now=reader.now,
                                                 link_days=request.app.state.settings.staff_link_code_days)
    return _issued(request, reader, issued)
