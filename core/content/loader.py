"""`shouwang content check` and `load`: validate everything in content/, report every problem at
once as `file: field: reason`, and load all or nothing."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from core.content.texts import TextFile, load_texts


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.reason}"


@dataclass
class ContentBundle:
    texts: list[TextFile] = field(default_factory=list)


class ContentInvalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


def _read_yaml(path: Path, rel: str, problems: list[Problem]) -> object | None:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        problems.append(Problem(rel, "-", "not UTF-8 text"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "-"
        problems.append(Problem(rel, where, f"not valid YAML: {getattr(exc, 'problem', exc)}"))
    return None


def _validation_problems(rel: str, exc: ValidationError) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "-"
        msg = err["msg"].removeprefix("Value error, ")
        out.append(Problem(rel, loc, msg))
    return out


def check_content(root: Path) -> tuple[ContentBundle, list[Problem]]:
    bundle = ContentBundle()
    problems: list[Problem] = []
    if not root.is_dir():
        return bundle, [Problem(str(root), "-", "content directory not found")]

    texts_dir = root / "texts"
    seen: dict[str, str] = {}
    for path in sorted(texts_dir.glob("*.y*ml")) if texts_dir.is_dir() else []:
        rel = str(path.relative_to(root))
        raw = _read_yaml(path, rel, problems)
        if raw is None:
            if path.stat().st_size == 0:
                problems.append(Problem(rel, "-", "empty file"))
            continue
        if not isinstance(raw, dict):
            problems.append(Problem(rel, "-", "expected a mapping at the top level"))
            continue
        try:
            doc = TextFile.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_validation_problems(rel, exc))
            continue
        if doc.id != path.stem:
            problems.append(Problem(rel, "id", f"must equal the file name ({path.stem!r})"))
            continue
        if doc.kind in seen:
            problems.append(Problem(rel, "kind", f"{doc.kind!r} is already defined in {seen[doc.kind]}"))
            continue
        seen[doc.kind] = rel
        bundle.texts.append(doc)
    if "consent" not in seen and not any(p.file.startswith("texts/") for p in problems):
        problems.append(Problem("texts/", "consent", "a consent text is required"))
    return bundle, problems


async def load_content(session: AsyncSession, *, root: Path, now: datetime) -> dict[str, int]:
    """Validate everything first; write only when there is no problem at all."""
    bundle, problems = check_content(root)
    if problems:
        raise ContentInvalid(problems)
    return {"texts": await load_texts(session, files=bundle.texts, now=now)}
