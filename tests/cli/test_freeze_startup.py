"""Once started, a Shouwang process moves its start-up heap out of the garbage collector's
sight (cli.roles.freeze_startup_objects); what it makes later is collected as before."""
from __future__ import annotations

import gc

from cli.roles import freeze_startup_objects


def test_the_start_up_heap_is_frozen_and_later_garbage_still_collected() -> None:
    assert gc.get_freeze_count() == 0 or gc.unfreeze() is None
    built_at_start = [object() for _ in range(1000)]
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() >= len(built_at_start)

        class Cycle:
            pass

        later = Cycle()
        later.me = later  # type: ignore[attr-defined]  # a reference cycle: only the collector frees it
        del later
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
