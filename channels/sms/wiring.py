"""Building the SMS channel from settings (called by cli, the composition root)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.sms.aliyun import AliyunSms
from channels.sms.messenger import SmsNotices
from channels.sms.receipts import build_app
from core.clock import Clock, system_clock
from core.config import Settings


def build_sms(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], app: Any = None,
              clock: Clock = system_clock) -> SmsNotices | None:
    """SmsNotices over Aliyun, and the receipt route mounted on `app` at /channels/sms — or None
    when no SMS account is configured."""
    if not (settings.sms_access_key_id and settings.sms_access_key_secret and settings.sms_sign_name):
        return None
    gateway = AliyunSms(access_key_id=settings.sms_access_key_id, access_key_secret=settings.sms_access_key_secret,
                        endpoint=settings.sms_endpoint, region=settings.sms_region, clock=clock)
    if app is not None and settings.sms_receipt_token:
        app.mount("/channels/sms", build_app(settings=settings, sessionmaker=sessionmaker, clock=clock))
    return SmsNotices(gateway=gateway, settings=settings, sessionmaker=sessionmaker, clock=clock)
