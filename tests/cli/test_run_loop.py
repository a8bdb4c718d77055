"""cli.roles.run_loop: `shouwang run`, `api`, `bot` and `worker` serve on uvloop's event loop
(with uvicorn's httptools parser), where both are installed — the project depends on them."""
from __future__ import annotations

import asyncio

import uvicorn.config

from cli.roles import run_loop


def test_runs_the_coroutine_on_uvloop_and_returns_its_value() -> None:
    import uvloop

    async def main() -> tuple[type, int]:
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop()), 7

    loop_type, value = run_loop(main())
    assert value == 7
    assert issubclass(loop_type, uvloop.Loop)


def test_an_exception_propagates() -> None:
    async def main() -> None:
        raise LookupError("inside")

    try:
        run_loop(main())
    except LookupError as exc:
        assert str(exc) == "inside"
    else:  # pragma: no cover
        raise AssertionError("the exception was swallowed")


def test_uvicorn_picks_httptools() -> None:
    config = uvicorn.config.Config(app=lambda *a: None, http="auto")
    config.load()
    assert config.http_protocol_class.__module__.endswith("httptools_impl")
