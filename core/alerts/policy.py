"""How a cohort handles alerts: how long each severity may wait for an acknowledgement before it
escalates (defaults: red 1 h, orange 24 h, yellow 72 h), when the directors are nudged before
that, and the follow-up and home-visit intervals. Stored as `cohort.alert_policy` JSON; `{}`
means every default."""
from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

REMIND_AT = 0.75  # the directors' reminder comes when three quarters of the time has passed


class AckMinutes(BaseModel):
    model_config = ConfigDict(extra="forbid")

    red: int = Field(default=60, ge=5, le=7 * 24 * 60)
    orange: int = Field(default=24 * 60, ge=5, le=14 * 24 * 60)
    yellow: int = Field(default=72 * 60, ge=5, le=30 * 24 * 60)


class AlertPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ack_minutes: AckMinutes = Field(default_factory=AckMinutes)
    # Resolving a case schedules a follow-up check-in (随访) this many days later.
    followup_days: int = Field(default=14, ge=1, le=90)
    # /visits lists households not visited or called for this long (a setting: a strict national
    # monthly-visit rule is not confirmed).
    visit_days: int = Field(default=30, ge=7, le=180)

    @classmethod
    def of(cls, stored: dict | None) -> AlertPolicy:
        return cls.model_validate(stored or {})

    def ack_period(self, severity: str) -> timedelta:
        return timedelta(minutes=getattr(self.ack_minutes, severity))

    def deadlines(self, severity: str, since: datetime) -> tuple[datetime, datetime]:
        """(reminder for the directors, escalation) for an alert opened at `since`."""
        period = self.ack_period(severity)
        return since + period * REMIND_AT, since + period
