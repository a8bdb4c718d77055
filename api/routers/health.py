"""GET /healthz: unauthenticated, for load balancers and monitoring."""
from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.deps import Now, SettingsDep, get_sessionmaker
from api.schemas import HealthRead
from core import health
from core.db import is_busy
from core.sms.service import channel_problems

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

# A monitor must get an answer even when the database hangs instead of refusing.
DB_TIMEOUT_SECONDS = 5.0


@router.get("/healthz", response_model=HealthRead, responses={503: {"model": HealthRead}})
async def healthz(
    settings: SettingsDep,
    now: Now,
    api_sessionmaker: Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)],
    request: Request,
) -> JSONResponse:
    # A pool of its own (core.db.HEALTH_POOL) when the CLI gives one: a busy API pool must not
    # read as "database unreachable".
    sessionmaker = request.app.state.health_sessionmaker or api_sessionmaker

    reached = False

    async def probe() -> tuple[float | None, dict[int, int], float | None, dict]:
        nonlocal reached
        async with sessionmaker() as session:
            await health.ping(session)
            reached = True  # it answers: from here on, slowness is load, not an outage
            return (
                await health.heartbeat_age_seconds(session, now=now),
                await health.lane_backlog(session, now=now),
                await health.oldest_urgent_age_seconds(session, now=now),
                await channel_problems(session),
            )

    bot: health.BotStatus | None = getattr(request.app.state, "bot_status", None)
    try:
        tick_age, backlog, urgent_age, channels = await asyncio.wait_for(probe(), DB_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - any other failure to reach the database is "unreachable"
        state = "busy" if reached or is_busy(exc) else "unreachable"
        log.warning("healthz: database %s (%s)", state, type(exc).__name__)
        body = HealthRead(status="degraded", database=state, tick_age_seconds=None,
                          bot=bot.state if bot else None, bot_reason=bot.reason if bot else None)
        return JSONResponse(_dump(body, bot), status_code=503)
    stale = health.tick_is_stale(tick_age, tick_seconds=settings.tick_seconds) or health.urgent_is_stale(urgent_age)
    body = HealthRead(
        status="degraded" if stale or channels or (bot is not None and bot.state == "down") else "ok", database="ok",
        tick_age_seconds=tick_age, backlog={str(lane): n for lane, n in backlog.items()},
        oldest_urgent_age_seconds=urgent_age, bot=bot.state if bot else None, bot_reason=bot.reason if bot else None,
        channels=channels or None,
    )
    return JSONResponse(_dump(body, bot))


def _dump(body: HealthRead, bot: health.BotStatus | None) -> dict[str, object]:
    # A process without a bot (`shouwang api`) says nothing about one.
    # Channels appear only when one has a problem.
    hidden = ({"bot", "bot_reason"} if bot is None else set()) | ({"channels"} if body.channels is None else set())
    return body.model_dump(exclude=hidden or None)
