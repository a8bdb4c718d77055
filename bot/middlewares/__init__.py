"""Context only: a database session per update, and who is talking. No business logic here."""
from bot.middlewares.context import ContextMiddleware
from bot.middlewares.session import SessionMiddleware

__all__ = ["ContextMiddleware", "SessionMiddleware"]
