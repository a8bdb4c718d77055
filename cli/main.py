"""`shouwang`: the console script and composition root — the only package that wires both the
bot and the API adapters.

  shouwang run              everything in one process (the embedded default)
  shouwang api | bot | worker   the same code as separate roles, for PostgreSQL at scale
  shouwang api --workers N      N API processes (PostgreSQL)
  shouwang db upgrade | backup [PATH]
  shouwang content check [DIR] | load [DIR]
  shouwang risk scan [--lexicon FILE]   messages on stdin, one per line → one JSON object per line
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from core.config import Settings

log = logging.getLogger("shouwang")


def _settings() -> Settings:
    return Settings()


def cmd_content_check(args: argparse.Namespace) -> int:
    from core.content.loader import check_content

    root = Path(args.dir) if args.dir else _settings().content_dir
    bundle, problems = check_content(root)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {root}", file=sys.stderr)
        return 1
    print(f"content ok: {len(bundle.texts)} text(s), {len(bundle.lessons)} lesson(s), "
          f"{len(bundle.programmes)} programme(s), {len(bundle.questionnaires)} questionnaire(s), "
          f"{'a' if bundle.lexicon else 'no'} risk lexicon"
          f"{f' and a risk model ({len(bundle.model.weights)} n-grams)' if bundle.model else ''} in {root}")
    return 0


def cmd_risk_scan(args: argparse.Namespace) -> int:
    """For content authors: try the risk lexicon on your own examples, one message per line."""
    from core.checkin.risk import LexiconInvalid, load_scanner

    path = Path(args.lexicon) if args.lexicon else _settings().content_dir / "risk" / "lexicon.yaml"
    try:
        scanner = load_scanner(path, model=not args.no_model)
    except LexiconInvalid as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        print(json.dumps(scanner.scan(text).as_json(), ensure_ascii=False), flush=True)
    return 0


def cmd_content_load(args: argparse.Namespace) -> int:
    from cli.bootstrap import prepare_database
    from core.db import make_engine

    settings = _settings()
    if args.dir:
        settings.content_dir = Path(args.dir)

    async def main() -> None:
        engine = make_engine(settings.database_url)
        try:
            await prepare_database(engine, settings, admin_token=None)
        finally:
            await engine.dispose()

    asyncio.run(main())
    print(f"content loaded from {settings.content_dir}")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from cli.bootstrap import ensure_var_dir
    from core.db import make_engine
    from core.migrate import current_revision, upgrade

    settings = _settings()
    ensure_var_dir(settings)

    async def main() -> str | None:
        engine = make_engine(settings.database_url)
        try:
            await upgrade(engine)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    print(f"database at revision {asyncio.run(main())}")
    return 0


def cmd_db_backup(args: argparse.Namespace) -> int:
    from cli.backup import backup

    target = backup(_settings(), Path(args.path) if args.path else None)
    print(f"backup written to {target}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from cli.roles import run_all, run_loop

    return run_loop(run_all(_settings(), api=True, bot=True, worker=True))


SQLITE_ONE_PROCESS = (
    "shouwang api --workers {n}: SQLite has a single writer, so the API runs as one process on it.\n"
    "  Run `shouwang api` (one process), or set SHOUWANG_DATABASE_URL to a PostgreSQL database\n"
    "  (postgresql+asyncpg://…) to run several API processes."
)


def cmd_api(args: argparse.Namespace) -> int:
    from cli.roles import run_all, run_loop, serve_api_workers

    settings = _settings()
    if args.workers is not None:
        settings.api_workers = args.workers
    if settings.api_workers > 1:
        if settings.is_sqlite:
            print(SQLITE_ONE_PROCESS.format(n=settings.api_workers), file=sys.stderr)
            return 2
        return serve_api_workers(settings)
    return run_loop(run_all(settings, api=True, bot=False, worker=False))


def _workers(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {value!r}") from None
    if not 1 <= number <= 64:
        raise argparse.ArgumentTypeError("must be between 1 and 64")
    return number


def cmd_bot(args: argparse.Namespace) -> int:
    from cli.roles import run_all, run_loop

    return run_loop(run_all(_settings(), api=False, bot=True, worker=False))


def cmd_worker(args: argparse.Namespace) -> int:
    from cli.roles import run_all, run_loop

    return run_loop(run_all(_settings(), api=False, bot=False, worker=True))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shouwang", description="Shouwang (守望) — watch over left-behind children")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("run", help="API, bot and scheduler in one process (embedded default)").set_defaults(func=cmd_run)
    api = sub.add_parser("api", help="HTTP API only")
    api.add_argument("--workers", type=_workers, default=None,
                     help="API processes (PostgreSQL only; default SHOUWANG_API_WORKERS, 1)")
    api.set_defaults(func=cmd_api)
    sub.add_parser("bot", help="Telegram bot only (long polling: run exactly one)").set_defaults(func=cmd_bot)
    sub.add_parser("worker", help="scheduler tick only").set_defaults(func=cmd_worker)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    backup = db.add_parser("backup", help="write a consistent copy of the database")
    backup.add_argument("path", nargs="?")
    backup.set_defaults(func=cmd_db_backup)

    content = sub.add_parser("content", help="lessons, questionnaires and texts").add_subparsers(
        dest="content_command", required=True
    )
    check = content.add_parser("check", help="validate content/ and print every problem")
    check.add_argument("dir", nargs="?")
    check.set_defaults(func=cmd_content_check)
    load = content.add_parser("load", help="validate and load content/ into the database")
    load.add_argument("dir", nargs="?")
    load.set_defaults(func=cmd_content_load)

    risk = sub.add_parser("risk", help="the free-text risk lexicon").add_subparsers(dest="risk_command", required=True)
    scan = risk.add_parser("scan", help="scan messages from stdin, one per line; print one JSON object per line")
    scan.add_argument("--lexicon", help="lexicon file (default: <content dir>/risk/lexicon.yaml)")
    scan.add_argument("--no-model", action="store_true", help="without the statistical net (model.json beside the lexicon)")
    scan.set_defaults(func=cmd_risk_scan)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=_settings().log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Their start-up chatter would bury the banner; warnings and errors still show.
    for noisy in ("alembic", "apscheduler", "aiogram.event"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:  # Ctrl+C before the signal handlers were installed
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
