"""Settings, read once per entry point from SHOUWANG_* environment variables and passed down."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TELEGRAM_API_BASE = "https://api.telegram.org"
SUPPORTED_LOCALES = ("zh-Hans", "en")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOUWANG_", env_file=".env", extra="ignore")

    # Where state lives. The default is the embedded SQLite file under ./var/.
    database_url: str = "sqlite+aiosqlite:///./var/shouwang.db"
    var_dir: Path = Path("./var")
    content_dir: Path = PROJECT_ROOT / "content"
    locales_dir: Path = PROJECT_ROOT / "locales"

    # Telegram. Without a token the bot is off; the API and scheduler still run.
    telegram_token: str | None = None
    telegram_api_base: str = DEFAULT_TELEGRAM_API_BASE
    telegram_bot_username: str | None = None

    # HTTP API.
    admin_token: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    # The public address of this system (https://shouwang.example.cn): the guardians' pages and the
    # links and QR codes that lead to them (invitation posters, staff-made sign-in links), and the
    # one-time console sign-in link. Never taken from a request's Host header (a client can forge
    # it). Unset: links use http://<host>:<port> (fine on one machine, useless on a poster) and
    # console sign-in messages carry only the six-digit code.
    public_url: str | None = None
    # `shouwang api` processes (uvicorn workers; PostgreSQL only: SQLite has one writer, so one
    # process). Together they open at most api_db_connections pooled connections (core.db.split_pool).
    api_workers: int = Field(default=1, ge=1, le=64)
    api_db_connections: int = Field(default=20, ge=2, le=1000)
    # Aggregate reports (funnel, delivery statistics) are served from a per-process cache for
    # this many seconds (and up to 3× that while one request recomputes): core.report_cache. 0: off.
    report_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    # Request bodies larger than this are refused (413) before they are read.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # This many failed sign-ins (401) from one address within the window → 429 until they age out.
    auth_failures_max: int = Field(default=20, ge=1)
    auth_failures_window_seconds: int = Field(default=60, ge=1)
    # Who a token belongs to and what they may see, remembered per API process for this long
    # (api.deps.AuthCache): a deactivation, a role or cohort change made elsewhere (the bot, the
    # CLI, another process) takes effect within it; one made through this process's API at once.
    auth_cache_seconds: float = Field(default=1.0, ge=0, le=5)
    # The console's sign-in form: failed sign-ins per client address, and per staff member (wrong
    # Telegram codes), within the window → a page saying when to try again.
    console_signin_failures_max: int = Field(default=20, ge=1)
    console_signin_staff_failures_max: int = Field(default=10, ge=1)
    console_signin_window_seconds: int = Field(default=900, ge=1)

    # Behaviour.
    default_locale: str = "zh-Hans"
    default_timezone: str = "Asia/Shanghai"
    tick_seconds: int = Field(default=15, ge=1, le=15)
    # Wrong invitation codes from one chat: at most this many per window before we slow them down.
    code_attempts_max: int = Field(default=5, ge=1)
    code_attempts_window_minutes: int = Field(default=15, ge=1)
    staff_link_code_days: int = Field(default=7, ge=1)
    household_invite_days: int = Field(default=7, ge=1)
    # Enrolment drafts nobody touched for this long are dropped by housekeeping.
    draft_expiry_days: int = Field(default=14, ge=1)
    # Outbox sender: messages per second for the whole bot (Telegram allows about 30; the rest is
    # left for interactive replies), and how often a network or 5xx failure is retried.
    # The rate is a ceiling: on a 429 the shared rate halves and creeps back up (AIMD), so a rate
    # set too high converges to what Telegram allows.
    send_rate: float = Field(default=25.0, gt=0, le=1000)
    send_max_attempts: int = Field(default=5, ge=1, le=20)
    # Replies to a person that Telegram rate-limits (429) wait `retry_after` and go again: this
    # many tries in all, and never a single wait longer than this (seconds).
    reply_retry_attempts: int = Field(default=5, ge=1, le=20)
    reply_retry_max_wait_seconds: float = Field(default=300.0, ge=0)
    # When Telegram cannot be reached (or refuses the token) the bot tries again after this
    # many seconds, doubling up to the maximum; a refused token is retried at the maximum.
    bot_retry_min_seconds: float = Field(default=5.0, gt=0)
    bot_retry_max_seconds: float = Field(default=300.0, gt=0)
    # Paid broadcast (Telegram's allow_paid_broadcast, billed in Stars per message): lessons,
    # campaigns and check-ins (lanes 1–2) go out at up to paid_broadcast_rate; safety messages,
    # alert cards and replies stay within send_rate and never pay.
    paid_broadcast: bool = False
    paid_broadcast_rate: float = Field(default=1000.0, gt=0, le=1000)
    # Closed cases (the pseudonymised child-protection record) are kept this long, then deleted.
    case_retention_days: int = Field(default=5 * 365, ge=30)
    log_level: str = "INFO"

    # Guardians' mobile pages (/m/) and the SMS channel (Aliyun Dysmsapi 2017-05-25).
    # The key for hashing phone numbers and sign-in codes and for web sessions; unset: generated
    # into var_dir/web_secret on first use (core.webauth.secret).
    web_secret: str | None = None
    # Session cookies are Secure (https only) unless switched off for a plain-http test rig.
    web_cookie_secure: bool = True
    web_session_days: int = Field(default=90, ge=1, le=366)
    web_code_minutes: int = Field(default=10, ge=1, le=60)
    web_code_tries: int = Field(default=5, ge=1, le=10)
    web_link_hours: int = Field(default=72, ge=1, le=24 * 30)
    # Sign-in codes asked for from one address per hour (the per-number limits mirror the provider's).
    web_codes_per_ip_hour: int = Field(default=20, ge=1)
    sms_access_key_id: str | None = None
    sms_access_key_secret: str | None = None
    sms_endpoint: str = "https://dysmsapi.aliyuncs.com"
    sms_region: str = "cn-hangzhou"
    sms_sign_name: str | None = None
    # Approved template per notice kind: {"sign_in_code": {"code": "SMS_1", "text": "您的验证码是${code}…"}}.
    # The text (as approved, without the signature) is only used to count segments before sending.
    sms_templates: dict[str, dict[str, str]] = Field(default_factory=dict)
    # Price of one 70-character segment in RMB (billed on submission), for the cost per cohort.
    sms_segment_price: float = Field(default=0.045, ge=0)
    # The secret path part of the delivery-receipt address configured in the SMS console.
    sms_receipt_token: str | None = None
    # Voice messages guardians record on the web pages (core.inbox.recordings): kept under this
    # directory (unset: var_dir/recordings; never inside the repository), owner-only files, at most
    # this many bytes each.
    recordings_dir: Path | None = None
    web_voice_max_bytes: int = Field(default=5 * 1024 * 1024, ge=64 * 1024, le=50 * 1024 * 1024)

    @field_validator("telegram_token", "admin_token", "telegram_bot_username", "web_secret", "sms_access_key_id",
                     "sms_access_key_secret", "sms_sign_name", "sms_receipt_token", "public_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def deep_link(self, code: str) -> str | None:
        """The Telegram bot's start link carrying `code` (an invitation or a staff link code);
        None while the bot's username is unknown."""
        if not self.telegram_bot_username:
            return None
        return f"https://t.me/{self.telegram_bot_username.lstrip('@')}?start={code}"

    @property
    def public_base(self) -> str:
        """Where links to the pages start: public_url, or this machine's own address."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @field_validator("telegram_api_base")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @property
    def recordings_root(self) -> Path:
        return self.recordings_dir if self.recordings_dir is not None else self.var_dir / "recordings"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
