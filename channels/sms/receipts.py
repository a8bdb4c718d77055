"""The delivery-receipt route (Aliyun SmsReport, "HTTP batch push"): a JSON array of reports
POSTed to the address configured in the SMS console, which carries our secret token. Answer
{"code": 0} once stored; a 5xx makes the provider push again (after 1, 5 and 10 minutes)."""
from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from core.security import same_secret
from core.sms.service import Receipt, record_receipts

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")  # the provider reports Beijing time without a zone
router = APIRouter()


def parse_reports(body: object, *, now: datetime) -> list[Receipt]:
    if not isinstance(body, list):
        raise ValueError("the body must be a JSON array of reports")
    out = []
    for report in body:
        if not isinstance(report, dict) or not isinstance(report.get("biz_id"), str) or not report["biz_id"]:
            raise ValueError("every report needs a biz_id")
        try:
            at = datetime.strptime(str(report.get("report_time")), "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
        except ValueError:
            at = now
        size = str(report.get("sms_size") or "")
        out.append(Receipt(provider_id=report["biz_id"][:64], out_id=(str(report.get("out_id") or "") or None),
                           delivered=report.get("success") is True, code=str(report.get("err_code") or "")[:40],
                           segments=int(size) if size.isdigit() and 0 < int(size) < 100 else None,
                           reported_at=at))
    return out


@router.post("/aliyun/receipts/{token}")
async def receipts(token: str, request: Request) -> JSONResponse:
    expected = request.app.state.settings.sms_receipt_token
    if not expected or not same_secret(token, expected):
        raise HTTPException(status_code=404)
    now = request.app.state.clock()
    try:
        reports = parse_reports(await request.json(), now=now)
    except ValueError as exc:
        return JSONResponse({"code": 1, "msg": str(exc)}, status_code=400)
    async with request.app.state.sessionmaker() as session, session.begin():
        new = await record_receipts(session, receipts=reports, now=now)
    log.info("sms receipts: %d received, %d new", len(reports), new)
    return JSONResponse({"code": 0, "msg": "接收成功"})


def build_app(*, settings, sessionmaker, clock):  # type: ignore[no-untyped-def]
    """The receipt route as its own small app, for cli to mount at /channels/sms."""
    from fastapi import FastAPI

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings, app.state.sessionmaker, app.state.clock = settings, sessionmaker, clock
    app.include_router(router)
    return app
