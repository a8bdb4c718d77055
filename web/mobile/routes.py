"""Guardians' mobile pages (/m/): sign-in, check-ins (and, as they come, lessons and the inbox)."""
from __future__ import annotations

from fastapi import APIRouter

from web.mobile import auth, checkins, inbox, join, lessons, me

router = APIRouter()
router.include_router(auth.router)
router.include_router(checkins.router)
router.include_router(lessons.router)
router.include_router(inbox.router)
router.include_router(join.router)
router.include_router(me.router)
