"""The staff console (/console/)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def entry(request: Request) -> HTMLResponse:
    return request.app.state.pages.render(request, "console/entry.html")
