from __future__ import annotations

from core.delivery.ratelimit import TokenBucket
from tests.core.test_outbox import FakeTime


async def test_bucket_paces_to_rate_after_burst() -> None:
    fake = FakeTime()
    bucket = TokenBucket(10, burst=1, monotonic=fake.monotonic, sleep=fake.sleep)
    for _ in range(101):
        await bucket.acquire()
    assert abs(fake.t - 10.0) < 1e-6  # 1 at once, then 100 more at 10 per second


async def test_pause_holds_everyone_back() -> None:
    fake = FakeTime()
    bucket = TokenBucket(1000, burst=1, monotonic=fake.monotonic, sleep=fake.sleep)
    await bucket.acquire()
    bucket.pause(5)
    await bucket.acquire()
    assert fake.t >= 5.0


async def test_long_runs_do_not_stall_on_rounding() -> None:
    fake = FakeTime()
    fake.t = 1e9  # large clock values: tiny waits would vanish in float arithmetic
    bucket = TokenBucket(30, monotonic=fake.monotonic, sleep=fake.sleep)
    for _ in range(1000):
        await bucket.acquire()
    assert fake.t > 1e9


def test_default_burst_stays_small_within_telegrams_free_limit() -> None:
    from core.delivery.ratelimit import default_burst

    assert default_burst(25) == 2.5 and default_burst(30) == 3.0 and default_burst(5) == 1.0
    assert default_burst(1000) == 250.0


async def test_no_second_carries_more_than_cap_plus_burst() -> None:
    fake = FakeTime()
    bucket = TokenBucket(25, monotonic=fake.monotonic, sleep=fake.sleep)
    stamps = []
    for _ in range(200):
        await bucket.acquire()
        stamps.append(fake.t)
    worst = max(sum(1 for t in stamps if start <= t < start + 1) for start in stamps)
    assert worst <= 25 + 2.5
