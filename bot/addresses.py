"""Telegram chats as endpoint addresses ("telegram:<chat id>", core.models.endpoint): the one
place the adapter turns a chat id into an address and back."""
from __future__ import annotations

CHANNEL = "telegram"


def address_of(chat_id: int) -> str:
    return f"{CHANNEL}:{chat_id}"


def chat_of(address: str) -> int:
    """The chat id inside a Telegram address; ValueError for another channel's address."""
    channel, _, local = address.partition(":")
    if channel != CHANNEL:
        raise ValueError(f"not a Telegram address: {channel}")
    return int(local)


def is_telegram(address: str | None) -> bool:
    return bool(address) and address.partition(":")[0] == CHANNEL  # type: ignore[union-attr]
