"""`alembic upgrade head` on an empty database works, and the models and migrations agree."""
from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import Base, make_engine
from core.migrate import downgrade, upgrade
from core.models.delivery import ref_columns
from core.migrate import current_revision
from core.migrate import alembic_config
from alembic.script import ScriptDirectory


async def test_upgrade_head_reaches_latest_revision(engine: AsyncEngine) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert await current_revision(engine) == head


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


# ---------------------------------------------------------------- 0015: typed delivery references

REFS = {
    # ref → (ref_kind, ref_id) the backfill must give it (the rule of ref_columns)
    "checkin:12": ("checkin", 12),
    "checkin:7:q3": ("checkin", 7),
    "alert:5:901": ("alert", 5),
    "campaign:3": ("campaign", 3),
    "lesson_followup:44": ("lesson_followup", 44),
    "household:123456789": ("household", 123456789),
    "schedule": (None, None),
    "request": (None, None),
    "checkin:": (None, None),
    "checkin:x1": (None, None),
    "checkin:1234567890": (None, None),  # not an INTEGER id
    ":5": (None, None),
    "Alert:5": (None, None),
}


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    from tests.conftest import PG_URL, _create_private_database, _drop_private_database

    if not PG_URL:
        pytest.skip("PostgreSQL path: set SHOUWANG_TEST_DATABASE_URL to run it")
    name = f"shouwang_test_backfill_{os.getpid()}"
    yield await _create_private_database(PG_URL, name)
    await _drop_private_database(PG_URL, name)


async def _insert(conn: Any, table: str, **values: Any) -> None:
    await conn.execute(text(f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join(':' + k for k in values)})"),
                       values)


async def test_typed_refs_and_sent_check_ins_are_backfilled_from_existing_rows(empty_url: str) -> None:
    """A database with deliveries and check-ins from before 0015 (at 0014f): (ref_kind, ref_id) are filled
    by the same rule new rows get from ref_columns, a check-in whose first message reached a
    guardian gets its sent_at, and from then on the database keeps sent_at itself, on insert
    and on update of a delivery. It downgrades again."""
    engine = make_engine(empty_url)
    sqlite = empty_url.startswith("sqlite")
    at = datetime(2026, 11, 1, tzinfo=timezone.utc)
    stamp = at.replace(tzinfo=None) if sqlite else at  # raw SQL: SQLite stores UTC naive
    try:
        await upgrade(engine, "0014f")
        async with engine.begin() as conn:
            await _insert(conn, "cohorts", id=1, name="c", region="", timezone="Asia/Shanghai", default_locale="zh-Hans",
                          lesson_schedule="{}", checkin_schedule="{}", programmes="[]", safety_lines="[]",
                          alert_policy="{}", created_at=stamp)
            await _insert(conn, "households", id=1, cohort_id=1, created_at=stamp)
            await _insert(conn, "guardians", id=1, household_id=1, chat_id=1, locale="zh-Hans", relationship="mother",
                          lives_with_children=True, status="active", consent_version=1, consented_at=stamp,
                          quiet_start="21:30", quiet_end="08:00", created_at=stamp, updated_at=stamp)
            await _insert(conn, "questionnaires", id="q", version=1, subject="self", doc="{}", sha256="0" * 64,
                          loaded_at=stamp)
            for checkin_id in (1, 2, 3):
                await _insert(conn, "check_ins", id=checkin_id, questionnaire_id="q", questionnaire_version=1,
                              household_id=1, subject_key=f"guardian:{checkin_id}", cohort_id=1, cycle="1",
                              state="open", cursor=0, created_at=stamp, due_at=stamp, expires_at=stamp, reminded_count=0)
            deliveries = [(ref, "checkin", "sent", 1) for ref in REFS] + [
                ("checkin:1", "checkin", "sent", 1), ("checkin:2", "checkin", "failed", 1),
                ("checkin:3", "checkin", "sent", None), ("checkin:3", "checkin_reminder", "sent", 1)]
            for n, (ref, kind, state, guardian_id) in enumerate(deliveries):
                await _insert(conn, "deliveries", chat_id=1000 + n, guardian_id=guardian_id, kind=kind, ref=ref,
                              cycle="1", lane=1, state=state, due_at=stamp, attempts=1, payload="{}",
                              created_at=stamp, sent_at=stamp if state == "sent" else None)
        await upgrade(engine, "0016s")  # the schema these raw inserts know (0017e renamed chat_id)
        async with engine.connect() as conn:
            got = {ref: (kind, ref_id) for ref, kind, ref_id in
                   await conn.execute(text("SELECT ref, ref_kind, ref_id FROM deliveries"))}
            sent = dict((await conn.execute(text("SELECT id, sent_at IS NOT NULL FROM check_ins"))).all())
        assert got == {**REFS, "checkin:1": ("checkin", 1), "checkin:2": ("checkin", 2), "checkin:3": ("checkin", 3)}
        assert {ref: tuple(ref_columns(ref).values()) for ref in REFS} == REFS  # one rule, two places
        assert sent == {1: True, 2: False, 3: False}  # 2 failed; 3 reached nobody (no guardian), a reminder is no first message

        # From now on the database keeps it: a sent first message written as such (insert) ...
        async with engine.begin() as conn:
            await _insert(conn, "deliveries", chat_id=5000, guardian_id=1, kind="checkin", ref="checkin:2",
                          ref_kind="checkin", ref_id=2, cycle="2", lane=1, state="sent", due_at=stamp, attempts=1,
                          payload="{}", created_at=stamp, sent_at=stamp)
            # ... or one that becomes sent (update); a pending one changes nothing.
            await _insert(conn, "deliveries", chat_id=5001, guardian_id=1, kind="checkin", ref="checkin:3",
                          ref_kind="checkin", ref_id=3, cycle="2", lane=1, state="pending", due_at=stamp, attempts=0,
                          payload="{}", created_at=stamp)
            assert (await conn.scalar(text("SELECT sent_at FROM check_ins WHERE id = 3"))) is None
            await conn.execute(text("UPDATE deliveries SET state = 'sent', sent_at = :at WHERE chat_id = 5001"),
                               {"at": stamp})
            sent = dict((await conn.execute(text("SELECT id, sent_at IS NOT NULL FROM check_ins"))).all())
        assert sent == {1: True, 2: True, 3: True}

        await downgrade(engine, "0014f")
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM deliveries")) == len(deliveries) + 2
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- 0017e: endpoints


async def test_chat_ids_become_endpoints_and_addresses_with_every_row_kept(empty_url: str) -> None:
    """A database at 0016s with guardians (one blocked), staff (one linked, one blocked, one not
    linked; one both staff and guardian on the same chat), deliveries with Telegram message ids,
    lesson feedback (a child row of deliveries and guardians: SQLite's table rebuild must not
    cascade it away), drafts, code attempts, staff prompts, processed updates and inbox
    messages: after 0017e every row is there, each chat is an address "telegram:<id>", and the
    way back to 0016s restores the chat ids."""
    engine = make_engine(empty_url)
    sqlite = empty_url.startswith("sqlite")
    at = datetime(2026, 11, 1, tzinfo=timezone.utc)
    stamp = at.replace(tzinfo=None) if sqlite else at
    big = 7_000_000_001  # Telegram chat ids exceed 32 bits
    try:
        await upgrade(engine, "0016s")
        async with engine.begin() as conn:
            await _insert(conn, "cohorts", id=1, name="c", region="", timezone="Asia/Shanghai", default_locale="zh-Hans",
                          lesson_schedule="{}", checkin_schedule="{}", programmes="[]", safety_lines="[]",
                          alert_policy="{}", created_at=stamp)
            await _insert(conn, "households", id=1, cohort_id=1, created_at=stamp)
            for gid, chat, unreachable in ((1, 111, None), (2, big, stamp), (3, 333, None)):
                await _insert(conn, "guardians", id=gid, household_id=1, chat_id=chat, locale="zh-Hans",
                              relationship="mother", lives_with_children=True, status="active", consent_version=1,
                              consented_at=stamp, quiet_start="21:30", quiet_end="08:00", created_at=stamp,
                              updated_at=stamp, unreachable_at=unreachable)
            for sid, chat, blocked in ((1, 333, None), (2, 444, stamp), (3, None, None)):
                await _insert(conn, "staff", id=sid, display_name=f"s{sid}", role="director", token_hash=f"{sid:064d}",
                              telegram_chat_id=chat, telegram_blocked_at=blocked, locale="zh-Hans", active=True,
                              is_bootstrap=False, phone_visible=False, created_at=stamp)
            await _insert(conn, "deliveries", id=1, chat_id=111, guardian_id=1, cohort_id=1, kind="lesson",
                          ref="schedule", cycle="c1", lane=2, state="sent", due_at=stamp, attempts=1, payload="{}",
                          lesson_id="l1", lesson_version=1, telegram_message_id=98765, created_at=stamp, sent_at=stamp)
            await _insert(conn, "deliveries", id=2, chat_id=444, staff_id=2, kind="alert", ref="alert:1", cycle="1",
                          lane=0, state="pending", due_at=stamp, attempts=0, payload="{}", created_at=stamp)
            await _insert(conn, "lesson_feedback", id=1, delivery_id=1, guardian_id=1, cohort_id=1, lesson_id="l1",
                          lesson_version=1, question="helpful", answer="yes", answered_at=stamp)
            await _insert(conn, "drafts", id=1, chat_id=555, flow="enrol", step="consent", data="{}",
                          created_at=stamp, updated_at=stamp)
            await _insert(conn, "code_attempts", id=1, chat_id=555, attempted_at=stamp)
            await _insert(conn, "staff_prompts", id=1, chat_id=333, staff_id=1, kind="note", data="{}", created_at=stamp)
            await _insert(conn, "processed_updates", update_id=big, processed_at=stamp)
            await _insert(conn, "inbox_items", id=1, cohort_id=1, household_id=1, guardian_id=1, state="open",
                          created_at=stamp, last_message_at=stamp)
            await _insert(conn, "inbox_messages", id=1, item_id=1, direction="in", guardian_id=1, kind="voice",
                          chat_id=111, telegram_message_id=42, status="received", at=stamp)
            await _insert(conn, "inbox_messages", id=2, item_id=1, direction="out", staff_id=1, kind="text",
                          text="hi", status="queued", at=stamp)

        await upgrade(engine, "0017e")
        async with engine.connect() as conn:
            endpoints = {tuple(row) for row in await conn.execute(text(
                "SELECT owner, guardian_id, staff_id, channel, address, state, rank FROM endpoints"))}
            deliveries = set(map(tuple, await conn.execute(text(
                "SELECT id, address, provider_message_id FROM deliveries"))))
            feedback = await conn.scalar(text("SELECT count(*) FROM lesson_feedback"))
            drafts = (await conn.execute(text("SELECT id, address FROM drafts"))).all()
            attempts = (await conn.execute(text("SELECT id, address FROM code_attempts"))).all()
            prompts = (await conn.execute(text("SELECT id, address, staff_id FROM staff_prompts"))).all()
            processed = (await conn.execute(text("SELECT channel, event_id FROM processed_updates"))).all()
            inbox = set(map(tuple, await conn.execute(text(
                "SELECT id, address, provider_message_id FROM inbox_messages"))))
            counts = [await conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in ("guardians", "staff")]
        assert endpoints == {
            ("guardian", 1, None, "telegram", "telegram:111", "active", 0),
            ("guardian", 2, None, "telegram", f"telegram:{big}", "blocked", 0),
            ("guardian", 3, None, "telegram", "telegram:333", "active", 0),
            ("staff", None, 1, "telegram", "telegram:333", "active", 0),  # the same chat: staff and guardian
            ("staff", None, 2, "telegram", "telegram:444", "blocked", 0),
        }
        assert deliveries == {(1, "telegram:111", "98765"), (2, "telegram:444", None)}
        assert feedback == 1
        assert drafts == [(1, "telegram:555")] and attempts == [(1, "telegram:555")]
        assert prompts == [(1, "telegram:333", 1)]
        assert processed == [("telegram", str(big))]
        assert inbox == {(1, "telegram:111", "42"), (2, None, None)}
        assert counts == [3, 3]

        # The outbox still keys by (address, kind, ref, cycle) and 0015's trigger survived the rebuild.
        async with engine.begin() as conn:
            await _insert(conn, "questionnaires", id="q", version=1, subject="self", doc="{}", sha256="0" * 64,
                          loaded_at=stamp)
            await _insert(conn, "check_ins", id=1, questionnaire_id="q", questionnaire_version=1, household_id=1,
                          subject_key="guardian:1", cohort_id=1, cycle="1", state="open", cursor=0, created_at=stamp,
                          due_at=stamp, expires_at=stamp, reminded_count=0)
            await _insert(conn, "deliveries", id=3, address="sms:+8613800000000", guardian_id=1, kind="checkin",
                          ref="checkin:1", ref_kind="checkin", ref_id=1, cycle="1", lane=1, state="sent", due_at=stamp,
                          attempts=1, payload="{}", created_at=stamp, sent_at=stamp)
            assert await conn.scalar(text("SELECT sent_at IS NOT NULL FROM check_ins WHERE id = 1"))
        with pytest.raises(Exception):
            async with engine.begin() as conn:
                await _insert(conn, "deliveries", address="telegram:111", guardian_id=1, kind="lesson", ref="schedule",
                              cycle="c1", lane=2, state="pending", due_at=stamp, attempts=0, payload="{}",
                              created_at=stamp)
        with pytest.raises(Exception):  # never two guardians on one address
            async with engine.begin() as conn:
                await _insert(conn, "endpoints", owner="guardian", guardian_id=3, channel="telegram",
                              address="telegram:111", state="active", rank=1, state_changed_at=stamp, created_at=stamp)

        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM deliveries WHERE id = 3"))
        await downgrade(engine, "0016s")
        async with engine.connect() as conn:
            guardians = set(map(tuple, await conn.execute(text("SELECT id, chat_id, unreachable_at IS NOT NULL FROM guardians"))))
            staff = set(map(tuple, await conn.execute(text(
                "SELECT id, telegram_chat_id, telegram_blocked_at IS NOT NULL FROM staff"))))
            deliveries = set(map(tuple, await conn.execute(text("SELECT id, chat_id, telegram_message_id FROM deliveries"))))
            back = [await conn.scalar(text(f"SELECT chat_id FROM {t}")) for t in ("drafts", "code_attempts",
                                                                                 "staff_prompts")]
            update_id = await conn.scalar(text("SELECT update_id FROM processed_updates"))
            feedback = await conn.scalar(text("SELECT count(*) FROM lesson_feedback"))
        assert guardians == {(1, 111, False), (2, big, True), (3, 333, False)}
        assert staff == {(1, 333, False), (2, 444, True), (3, None, False)}
        assert deliveries == {(1, 111, 98765), (2, 444, None)}
        assert back == [555, 555, 333] and update_id == big and feedback == 1
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- 0022d: delivery day counts


async def test_delivery_day_counts_are_built_from_existing_rows_and_kept_after(empty_url: str) -> None:
    """A database with deliveries from before 0022d. On SQLite the upgrade counts them per cohort,
    UTC day, kind, state and lesson (a row at 23:30 UTC is that day's, one with no cohort is not
    counted) and from then on the triggers keep the counts. On PostgreSQL the table is created
    and stays empty (no triggers: core.delivery.stats counts the outbox there). The downgrade
    takes table (and triggers) away on both."""
    engine = make_engine(empty_url)
    sqlite = empty_url.startswith("sqlite")

    def stamp(at: datetime) -> Any:
        return at.replace(tzinfo=None) if sqlite else at  # raw SQL: SQLite stores UTC naive

    day1, late = datetime(2026, 11, 1, 8, tzinfo=timezone.utc), datetime(2026, 11, 1, 23, 30, tzinfo=timezone.utc)
    day2 = datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc)
    try:
        await upgrade(engine, "0021p")
        async with engine.begin() as conn:
            await _insert(conn, "cohorts", id=1, name="c", region="", timezone="Asia/Shanghai", default_locale="zh-Hans",
                          lesson_schedule="{}", checkin_schedule="{}", programmes="[]", safety_lines="[]",
                          alert_policy="{}", created_at=stamp(day1))
            rows = [(1, day1, "lesson", "sent", "a"), (1, late, "lesson", "sent", "a"), (1, day1, "lesson", "failed", "a"),
                    (1, day2, "lesson", "sent", "a"), (1, day2, "checkin", "pending", None), (None, day1, "alert", "sent", None)]
            for n, (cohort_id, at, kind, state, lesson_id) in enumerate(rows):
                await _insert(conn, "deliveries", address=f"telegram:{n}", cohort_id=cohort_id, kind=kind, ref=f"r{n}",
                              cycle="1", lane=2, state=state, due_at=stamp(at), attempts=0, payload="{}",
                              lesson_id=lesson_id, created_at=stamp(at))
        await upgrade(engine, "head")
        query = text("SELECT cohort_id, day, kind, state, lesson_id, n FROM delivery_day_counts WHERE n <> 0")

        async def counts() -> set[tuple[Any, ...]]:
            async with engine.connect() as conn:
                return {(c, str(d), k, s, lesson, n) for c, d, k, s, lesson, n in await conn.execute(query)}

        assert await counts() == ({(1, "2026-11-01", "lesson", "sent", "a", 2), (1, "2026-11-01", "lesson", "failed", "a", 1),
                                   (1, "2026-11-02", "lesson", "sent", "a", 1), (1, "2026-11-02", "checkin", "pending", "", 1)}
                                  if sqlite else set())
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE deliveries SET state = 'sent' WHERE kind = 'checkin'"))
            await conn.execute(text("DELETE FROM deliveries WHERE state = 'failed'"))
        assert await counts() == ({(1, "2026-11-01", "lesson", "sent", "a", 2), (1, "2026-11-02", "lesson", "sent", "a", 1),
                                   (1, "2026-11-02", "checkin", "sent", "", 1)} if sqlite else set())
        await downgrade(engine, "0021p")
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE deliveries SET state = 'pending'"))  # no trigger left behind
            assert await conn.scalar(text("SELECT count(*) FROM deliveries")) == 5
            assert await _triggers_on_deliveries(conn) == ({"trg_deliveries_checkin_sent_insert",
                                                            "trg_deliveries_checkin_sent_update"} if sqlite
                                                           else {"trg_deliveries_checkin_sent"})
            tables = "SELECT name FROM sqlite_master WHERE type = 'table'" if sqlite else \
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            assert "delivery_day_counts" not in set((await conn.execute(text(tables))).scalars())
    finally:
        await engine.dispose()


async def _triggers_on_deliveries(conn: Any) -> set[str]:
    if conn.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'deliveries'"
    else:
        query = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'deliveries'::regclass AND NOT tgisinternal"
    return set((await conn.execute(text(query))).scalars())


async def test_only_sqlite_counts_deliveries_per_day_by_triggers(engine: AsyncEngine) -> None:
    """The triggers on deliveries at head. On PostgreSQL only 0015's check-in trigger (it writes
    the delivery's own check-in row): no shared counter rows that every state change updates.
    Several senders record outcomes at once there; they would serialise on such rows, and batches
    touching them in different orders could deadlock, aborting a sender's write after the message
    went out. If you mean to add a trigger on deliveries on PostgreSQL, think of that first."""
    async with engine.connect() as conn:
        triggers = await _triggers_on_deliveries(conn)
        if engine.dialect.name == "sqlite":
            assert triggers == {"trg_deliveries_checkin_sent_insert", "trg_deliveries_checkin_sent_update",
                                "delivery_day_counts_insert", "delivery_day_counts_delete",
                                "delivery_day_counts_update"}
        else:
            assert triggers == {"trg_deliveries_checkin_sent"}
            assert not await conn.scalar(text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'delivery_day_counts%'"))
# ---------------------------------------------------------------- 0023w: send budget window


async def test_send_budget_window_column_keeps_the_rows(empty_url: str) -> None:
    """A send_budget row from before 0023w keeps its rate and pause through the upgrade (its
    window starts empty) and through the downgrade (the window goes)."""
    engine = make_engine(empty_url)
    sqlite = empty_url.startswith("sqlite")
    at = datetime(2026, 11, 1, 8, tzinfo=timezone.utc)
    stamp = at.replace(tzinfo=None) if sqlite else at
    try:
        await upgrade(engine, "0022d")
        async with engine.begin() as conn:
            await _insert(conn, "send_budget", name="telegram_paid", tokens=3.5, refilled_at=stamp, paused_until=stamp,
                          rate=640.0, decreased_at=None, cut_from=None)
        await upgrade(engine, "head")
        async with engine.begin() as conn:
            row = (await conn.execute(text("SELECT name, tokens, rate, grants FROM send_budget"))).one()
            assert tuple(row) == ("telegram_paid", 3.5, 640.0, None)
            await conn.execute(text("UPDATE send_budget SET grants = '1764748800000000:25'"))
        await downgrade(engine, "0022d")
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT name, tokens, rate FROM send_budget"))).all()
            assert [tuple(r) for r in rows] == [("telegram_paid", 3.5, 640.0)]
            columns = (await conn.execute(text("SELECT * FROM send_budget"))).keys()
            assert "grants" not in columns
    finally:
        await engine.dispose()
