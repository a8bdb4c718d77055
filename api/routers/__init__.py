"""Routers, one module per resource; v1_router gathers those served under /api/v1."""
from __future__ import annotations

from fastapi import APIRouter

from api.routers import (
    alerts, audit, campaigns, cases, checkins, children, cohorts, console_sessions, deliveries, health, households,
    inbox, invitations, lessons, me, programmes, questionnaires, reports, safety_floor, staff, web_links,
)

v1_router = APIRouter()
for _module in (me, cohorts, staff, invitations, households, children, checkins, lessons, programmes,
                questionnaires, campaigns, deliveries, alerts, cases, inbox, reports, audit, safety_floor, web_links,
                console_sessions):
    v1_router.include_router(_module.router)

__all__ = ["health", "v1_router"]
