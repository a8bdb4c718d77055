"""Messaging adapters other than Telegram (SMS first, later WeChat and WeCom): each implements the
core Messenger port and turns its provider's callbacks into core inbound events."""
