"""Routers, one per module. Order matters: commands before a flow's typed answers, and the
fallback last so that nothing goes unanswered."""
from __future__ import annotations

from aiogram import F, Router

from bot.middlewares.refusals import RefusalMiddleware

from bot.handlers import (
    checkins,
    checknow,
    children,
    director,
    errors,
    fallback,
    flow,
    free_text,
    help,
    inbox,
    invite,
    leaving,
    lessons,
    mydata,
    newcomers,
    preferences,
    settings,
    start,
)


def get_routers() -> list[Router]:
    """Fresh routers on each call: a router can belong to one dispatcher only, and tests
    build a dispatcher per test."""
    modules = (start, help, settings, preferences, lessons, checkins, children, invite, mydata, leaving, inbox, director,
               checknow, newcomers, flow, free_text, fallback)
    routers = [module.make_router() for module in modules]
    refusals = RefusalMiddleware()
    for router in routers:
        # Guardians talk to the bot one to one; group chats are not ours to answer.
        router.message.filter(F.chat.type == "private")
        router.callback_query.filter(F.message.chat.type == "private")
        # A DomainError a handler does not catch itself becomes a clear reply (bot.middlewares.refusals).
        router.message.middleware(refusals)
        router.callback_query.middleware(refusals)
    return [errors.make_router(), *routers]
