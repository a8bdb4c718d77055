"""Fixtures for the Telegram adapter: compiled catalogs, the production dispatcher, a mocked
bot, a cohort with a director and an invitation, people who talk to the bot, and the outbox
sender speaking through the real messenger to the same mocked bot."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiogram import Dispatcher
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.factory import build_dispatcher
from bot.i18n import build_i18n, compile_catalogs
from bot.messenger import TelegramMessenger
from core.access import Scope
from core.clock import FrozenClock
from core.cohorts.schemas import CohortCreate
from core.cohorts.service import create_cohort
from core.config import PROJECT_ROOT, Settings
from core.delivery.ratelimit import TokenBucket
from core.flows.delivery import sender_hooks
from core.delivery.sender import Sender, SenderConfig
from core.enrolment.invitations import InvitationCreate, create_invitation
from core.models import Cohort
from core.models.enums import StaffRole
from core.staff.schemas import StaffCreate
from core.staff.service import create_staff
from harness import Person
from mocked_bot import MockedBot
from tests.core.test_outbox import FakeTime


@pytest.fixture(scope="session")
def compiled_locales(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed .po files compiled afresh: tests never depend on a prior `make`."""
    return compile_catalogs(PROJECT_ROOT / "locales", tmp_path_factory.mktemp("locales"))


@pytest.fixture
def settings(settings: Settings, compiled_locales: Path) -> Settings:
    return settings.model_copy(update={"locales_dir": compiled_locales})


@pytest.fixture
def bot() -> MockedBot:
    return MockedBot()


@pytest.fixture
def dp(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> Dispatcher:
    return build_dispatcher(settings=settings, sessionmaker=sessionmaker, clock=clock)


@dataclass
class World:
    cohort_id: int
    director_id: int
    admin_id: int
    invitation_code: str
    director_link_code: str


@pytest.fixture
async def world(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, loaded_content: None
) -> World:
    """A village cohort with a primary director (王主任) and an open invitation."""
    async with sessionmaker() as session, session.begin():
        cohort = await create_cohort(session, data=CohortCreate(name="石桥村"), now=clock())
        admin = await create_staff(
            session, data=StaffCreate(display_name="Admin", role=StaffRole.admin),
            actor_id=None, now=clock(), link_days=7,
        )
        director = await create_staff(
            session,
            data=StaffCreate(display_name="王主任", role=StaffRole.director, cohort_ids=[cohort.id],
                             primary_cohort_ids=[cohort.id]),
            actor_id=None, now=clock(), link_days=7,
        )
        scope = Scope(staff_id=admin.staff.id, role=StaffRole.admin, cohort_ids=None)
        invitation = await create_invitation(session, scope=scope, cohort_id=cohort.id,
                                             data=InvitationCreate(label="poster"), now=clock())
        return World(cohort_id=cohort.id, director_id=director.staff.id, admin_id=admin.staff.id,
                     invitation_code=invitation.code, director_link_code=director.link_code or "")


@pytest.fixture
def make_invitation(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, world: World):  # type: ignore[no-untyped-def]
    async def make(**fields: object) -> str:
        async with sessionmaker() as session, session.begin():
            scope = Scope(staff_id=world.admin_id, role=StaffRole.admin, cohort_ids=None)
            invitation = await create_invitation(session, scope=scope, cohort_id=world.cohort_id,
                                                 data=InvitationCreate(**fields), now=clock())
            return invitation.code

    return make


@pytest.fixture
def db(sessionmaker: async_sessionmaker[AsyncSession]):  # type: ignore[no-untyped-def]
    """Read rows back: `await db.all(Model)`, `await db.count(Model)`."""

    class Reader:
        async def all(self, model: type, *where: object) -> list:
            async with sessionmaker() as session:
                return list((await session.scalars(select(model).where(*where))).all())

        async def count(self, model: type, *where: object) -> int:
            async with sessionmaker() as session:
                return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    return Reader()


PersonFactory = Callable[..., Person]


@pytest.fixture
def person(dp: Dispatcher, bot: MockedBot) -> PersonFactory:
    chat_ids = iter(range(5001, 6000))

    def make(language_code: str | None = "zh-hans", chat_id: int | None = None) -> Person:
        return Person(dp, bot, chat_id or next(chat_ids), language_code)

    return make


Enrol = Callable[..., Awaitable[Person]]


@pytest.fixture
def enrol(person: PersonFactory, world: World) -> Enrol:
    """Walk a new guardian through enrolment with one child (or the children given)."""

    async def run(
        who: Person | None = None, *, code: str | None = None, locale: str = "zh-Hans",
        relationship: str = "grandmother", lives_with: bool = True, children: tuple[tuple[str, int, int, str], ...] = (("小明", 2018, 5, "boy"),),
        call_name: str = "王奶奶", phone: str | None = "138 1234 5678", village: str | None = "三组 村口小卖部旁",
    ) -> Person:
        who = who or person()
        await who.send(f"/start {code or world.invitation_code}")
        await who.choose(locale)
        await who.consent(True)
        await who.choose(relationship)
        await who.choose("with" if lives_with else "away")
        await who.identity(call_name, phone, village)
        for number, (nickname, year, month, sex) in enumerate(children):
            if number:
                await who.choose("more")
            await who.send(nickname)
            await who.choose(str(year))
            await who.choose(str(month))
            await who.choose(sex)
        await who.choose("done")
        await who.choose("yes")
        return who

    return run



@pytest.fixture
def sender(
    sessionmaker: async_sessionmaker[AsyncSession], bot: MockedBot, settings: Settings, clock: FrozenClock,
    tmp_path: Path,
) -> Sender:
    """The production Sender and TelegramMessenger, talking to the mocked bot, never sleeping."""
    messenger = TelegramMessenger(bot, build_i18n(settings), media_root=tmp_path / "media")
    config = SenderConfig()
    fake = FakeTime()
    return Sender(sessionmaker, messenger, hooks=sender_hooks(), clock=clock, config=config,
                  bucket=TokenBucket(config.rate, monotonic=fake.monotonic, sleep=fake.sleep))


@pytest.fixture
def schedule_lessons(sessionmaker: async_sessionmaker[AsyncSession], world: World):  # type: ignore[no-untyped-def]
    """Give the world's cohort a weekly lesson schedule, e.g. await schedule_lessons(["mon"], "20:00")."""

    async def set_schedule(days: list[str], at: str) -> None:
        async with sessionmaker() as session, session.begin():
            cohort = await session.get(Cohort, world.cohort_id)
            assert cohort is not None
            cohort.lesson_schedule = {"days": days, "time": at}

    return set_schedule
