"""`content check`: the shipped content passes; each broken file gives `file: field: reason`."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cli.main import main as cli_main
from core.clock import FrozenClock
from core.config import PROJECT_ROOT
from core.catalog.loading import load_content
from core.content.loader import ContentInvalid, check_content
from core.content.texts import current_consent, current_text
from core.errors import Conflict
from core.models import TextDocument

CONSENT = """id: consent
kind: consent
version: {version}
texts:
  zh-Hans: "{zh}"
  en: "{en}"
"""

SAFETY = """id: safety
kind: safety
version: 1
texts:
  zh-Hans: "{zh}"
  en: "{en}"
"""


def write(root: Path, name: str, text: str) -> None:
    path = root / "texts" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_shipped_content_is_valid() -> None:
    bundle, problems = check_content(PROJECT_ROOT / "content")
    assert problems == []
    assert [t.kind for t in bundle.texts] == ["consent", "consent_web", "safety"]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("consent.yaml", CONSENT.format(version=1, zh="", en="ok"), "texts/consent.yaml: texts: missing text for zh-Hans"),
        ("consent.yaml", CONSENT.format(version=0, zh="好", en="ok"), "texts/consent.yaml: version: Input should be greater than or equal to 1"),
        ("consent.yaml", CONSENT.format(version=1, zh="好", en="ok") + "extra: 1\n", "texts/consent.yaml: extra: Extra inputs are not permitted"),
        ("agree.yaml", CONSENT.format(version=1, zh="好", en="ok"), "texts/agree.yaml: id: must equal the file name ('agree')"),
        ("consent.yaml", "id: consent\nkind: [", "texts/consent.yaml: line 2: not valid YAML"),
        ("consent.yaml", "- a list\n", "texts/consent.yaml: -: expected a mapping at the top level"),
        ("consent.yaml", CONSENT.format(version=1, zh="好", en="x" * 1501), "texts/consent.yaml: texts: longer than 1500 characters in en"),
        ("consent.yaml", CONSENT.format(version=1, zh="好{lines}", en="ok"), "texts/consent.yaml: texts.zh-Hans: unknown placeholder {lines}"),
        ("safety.yaml", SAFETY.format(zh="打110", en="Call 110 {lines}"), "texts/safety.yaml: texts.zh-Hans: needs {lines} exactly once"),
        ("safety.yaml", SAFETY.format(zh="打110 {lines}", en="Call {director} {lines}"), "texts/safety.yaml: texts.en: unknown placeholder {director}; only {lines}"),
        ("safety.yaml", SAFETY.format(zh="打110 {lines} {lines}", en="Call {lines}"), "texts/safety.yaml: texts.zh-Hans: needs {lines} exactly once"),
        ("safety.yaml", SAFETY.format(zh="打110 {lines} }", en="Call {lines}"), "texts/safety.yaml: texts.zh-Hans: unbalanced braces"),
    ],
)
def test_broken_files_are_reported(tmp_path: Path, name: str, text: str, expected: str) -> None:
    write(tmp_path, name, text)
    _, problems = check_content(tmp_path)
    rendered = [str(p) for p in problems]
    assert any(r.startswith(expected) for r in rendered), rendered


def test_every_problem_reported_at_once_by_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "consent.yaml", CONSENT.format(version=0, zh="", en="ok"))
    write(tmp_path, "other.yaml", "id: other\nkind: warning\nversion: 1\ntexts: {}\n")
    assert cli_main(["content", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "texts/consent.yaml: version: Input should be greater than or equal to 1" in out
    assert "texts/consent.yaml: texts: missing text for zh-Hans" in out
    assert any(line.startswith("texts/other.yaml: kind:") for line in out)


def test_a_safety_text_is_required(tmp_path: Path) -> None:
    write(tmp_path, "consent.yaml", CONSENT.format(version=1, zh="好", en="ok"))
    problems = [str(p) for p in check_content(tmp_path)[1]]
    assert problems == ["texts/: safety: a safety message is required (sent after a red answer)"]


def test_cli_passes_on_shipped_content(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["content", "check"]) == 0
    assert "content ok" in capsys.readouterr().out


async def test_load_is_all_or_nothing_and_versions_are_immutable(
    tmp_path: Path, session: AsyncSession, clock: FrozenClock
) -> None:
    write(tmp_path, "consent.yaml", CONSENT.format(version=1, zh="好", en="ok"))
    write(tmp_path, "safety.yaml", SAFETY.format(zh="打110 {lines}", en="Call 110 {lines}"))
    assert await load_content(session, root=tmp_path, now=clock()) == {"texts": 2, "lessons": 0, "programmes": 0,
                                                                 "questionnaires": 0}
    # Loading the same thing again adds nothing.
    assert (await load_content(session, root=tmp_path, now=clock()))["texts"] == 0
    # A changed text under the same version is refused…
    write(tmp_path, "consent.yaml", CONSENT.format(version=1, zh="改了", en="ok"))
    with pytest.raises(Conflict, match="give the new text a new version"):
        await load_content(session, root=tmp_path, now=clock())
    # …a broken file loads nothing at all…
    write(tmp_path, "consent.yaml", CONSENT.format(version=2, zh="", en="ok"))
    with pytest.raises(ContentInvalid):
        await load_content(session, root=tmp_path, now=clock())
    # …and a new version is the new current text, the old one kept.
    write(tmp_path, "consent.yaml", CONSENT.format(version=2, zh="改了", en="changed"))
    await load_content(session, root=tmp_path, now=clock())
    current = await current_text(session, kind="consent")
    assert current is not None and current.version == 2 and current.texts["en"] == "changed"
    versions = (await session.scalars(select(TextDocument.version).where(TextDocument.kind == "consent")
                                      .order_by(TextDocument.version))).all()
    assert versions == [1, 2]


def test_chinese_texts_have_no_stray_spaces() -> None:
    """YAML's folded blocks (>-) join lines with a space: right for English, a visible gap in
    Chinese ("侵害， 应当"). Every offender in content/ at once. The risk lexicon's notes are left
    out: they are for content authors and quote messages as people type them, spaces and all."""
    import re

    import yaml

    gap = re.compile(r"[\u3000-\u9fff\uff00-\uffef] [\u3000-\u9fff\uff00-\uffef]")

    def walk(node, path):  # type: ignore[no-untyped-def]
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, f"{path}.{index}")
        elif isinstance(node, str) and gap.search(node) and not path.endswith(".note"):
            yield path

    offenders = [f"{f.relative_to(PROJECT_ROOT / 'content')}: {where}"
                 for f in sorted((PROJECT_ROOT / "content").rglob("*.yaml"))
                 for where in walk(yaml.safe_load(f.read_text(encoding="utf-8")), "")]
    assert offenders == []


def test_lesson_audio_per_locale_is_checked(tmp_path):
    """An .mp3/.m4a per locale under content/media/: missing, wrong kind, bad bytes and an unknown
    locale are each named with the file and field."""
    import shutil

    from core.config import PROJECT_ROOT
    from core.content.loader import check_content

    root = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", root)
    lesson = root / "lessons" / "calm_consequences.yaml"
    (root / "media" / "audio" / "lessons" / "fake.mp3").write_bytes(b"<html>not audio</html>")
    text = lesson.read_text(encoding="utf-8")
    lesson.write_text(text.replace("audio: {zh-Hans: audio/lessons/calm_consequences.zh-Hans.mp3}",
                                   "audio: {zh-Hans: audio/lessons/fake.mp3, en: audio/lessons/none.m4a}"),
                      encoding="utf-8")
    _, problems = check_content(root)
    found = {(p.file, p.field): p.reason for p in problems}
    assert "not an MP3" in found[("lessons/calm_consequences.yaml", "media.audio.zh-Hans")]
    assert "file not found" in found[("lessons/calm_consequences.yaml", "media.audio.en")]
    lesson.write_text(text.replace("audio/lessons/calm_consequences.zh-Hans.mp3", "audio/lessons/x.wav"),
                      encoding="utf-8")
    _, problems = check_content(root)
    assert any(p.file == "lessons/calm_consequences.yaml" and ".mp3 or .m4a" in p.reason for p in problems)


async def test_the_web_consent_wording_shares_the_version_sequence(
    tmp_path: Path, session: AsyncSession, clock: FrozenClock
) -> None:
    """The bot's and the web's consent wording are one sequence: a guardian's consent_version
    names exactly one text, whichever channel they enrolled on."""
    web = CONSENT.replace("id: consent\nkind: consent", "id: consent_web\nkind: consent_web")
    write(tmp_path, "consent.yaml", CONSENT.format(version=1, zh="发 /stop", en="send /stop"))
    write(tmp_path, "safety.yaml", SAFETY.format(zh="打110 {lines}", en="Call 110 {lines}"))
    write(tmp_path, "consent_web.yaml", web.format(version=1, zh="点「停止接收消息」", en="tap Stop messages"))
    _, problems = check_content(tmp_path)
    assert [f"{p.file}: {p.field}" for p in problems] == ["texts/consent_web.yaml: version"]
    write(tmp_path, "consent_web.yaml", web.format(version=2, zh="点「停止接收消息」", en="tap Stop messages"))
    await load_content(session, root=tmp_path, now=clock())
    shown_on_web = await current_consent(session, web=True)
    shown_in_bot = await current_consent(session, web=False)
    assert shown_on_web is not None and (shown_on_web.kind, shown_on_web.version) == ("consent_web", 2)
    assert shown_in_bot is not None and (shown_in_bot.kind, shown_in_bot.version) == ("consent", 1)
    # A site that already has web version 2 refuses a bot text numbered 2 as well.
    (tmp_path / "texts" / "consent_web.yaml").unlink()
    write(tmp_path, "consent.yaml", CONSENT.format(version=2, zh="新的", en="new"))
    with pytest.raises(Conflict, match="one sequence"):
        await load_content(session, root=tmp_path, now=clock())


def test_a_question_read_aloud_is_checked_and_reaches_the_page_view(tmp_path):
    """An item may carry its question read aloud per locale (for the mobile pages): a good file
    passes and the question's view carries its path; a missing file, bad bytes, a wrong suffix
    or a locale without text are each named with the file and field."""
    import shutil

    from core.checkin.views import question_view
    from core.config import PROJECT_ROOT
    from core.content.loader import check_content
    from scripts.make_sample_audio import silent_mp3

    root = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", root)
    weekly = root / "questionnaires" / "weekly_checkin.yaml"
    text = weekly.read_text(encoding="utf-8")
    (root / "media" / "audio" / "questions").mkdir(parents=True)
    (root / "media" / "audio" / "questions" / "mood.zh-Hans.mp3").write_bytes(silent_mp3(1))
    (root / "media" / "audio" / "questions" / "fake.mp3").write_bytes(b"<html>not audio</html>")

    def with_audio(audio: str) -> None:
        weekly.write_text(text.replace("  - id: mood\n    choices: mood\n",
                                       f"  - id: mood\n    choices: mood\n    audio: {audio}\n", 1), encoding="utf-8")

    with_audio("{zh-Hans: audio/questions/mood.zh-Hans.mp3}")
    bundle, problems = check_content(root)
    assert problems == []
    [q] = [q for q in bundle.questionnaires if q.id == "weekly_checkin"]
    view = question_view(q, checkin_id=1, index=0, locale="zh-Hans", nickname="小明", answers={})
    assert view.audio == "audio/questions/mood.zh-Hans.mp3"
    assert question_view(q, checkin_id=1, index=0, locale="en", nickname="Ming", answers={}).audio is None
    assert question_view(q, checkin_id=1, index=1, locale="zh-Hans", nickname="小明", answers={}).audio is None

    with_audio("{zh-Hans: audio/questions/fake.mp3, en: audio/questions/none.m4a}")
    found = {(p.file, p.field): p.reason for p in check_content(root)[1]}
    assert "not an MP3" in found[("questionnaires/weekly_checkin.yaml", "items.0.audio.zh-Hans")]
    assert "file not found" in found[("questionnaires/weekly_checkin.yaml", "items.0.audio.en")]
    with_audio("{zh-Hans: audio/questions/mood.wav}")
    assert any(p.file == "questionnaires/weekly_checkin.yaml" and ".mp3 or .m4a" in p.reason
               for p in check_content(root)[1])
