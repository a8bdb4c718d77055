"""`shouwang content check` and `load`: validate everything in content/, report every problem at
once as `file: field: reason`, and load all or nothing."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from core.content.lessons import LessonFile, ProgrammeFile, audio_problem
from core.content.questionnaires import QuestionnaireFile
from core.content.questionnaires import clean_loc as questionnaire_loc
from core.content.risk import LexiconFile
from core.content.risk_model import ModelFile
from core.content.texts import TextFile


_NAMED_FIELD = re.compile(r"^([\w.-]+): (.+)$", re.DOTALL)
Loc = tuple[str | int, ...]
CleanLoc = Callable[[Loc], Loc]


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
    lessons: list[LessonFile] = field(default_factory=list)
    programmes: list[ProgrammeFile] = field(default_factory=list)
    questionnaires: list[QuestionnaireFile] = field(default_factory=list)  # validated, not loaded yet
    lexicon: LexiconFile | None = None  # risk/lexicon.yaml
    model: ModelFile | None = None  # risk/model.json, the statistical orange net (optional)


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


def _validation_problems(rel: str, exc: ValidationError, clean_loc: CleanLoc | None = None) -> list[Problem]:
    out = []
    for err in exc.errors():
        parts = tuple(err["loc"])
        if clean_loc is not None:
            parts = clean_loc(parts)
        loc = ".".join(str(p) for p in parts) or "-"
        msg = err["msg"].removeprefix("Value error, ")
        # Whole-file checks name their field themselves ("texts.en.body: 91 words, …"), one
        # problem per line when they report several at once.
        lines = msg.split("\n")
        if loc == "-" and all(_NAMED_FIELD.match(line) for line in lines):
            for line in lines:
                named = _NAMED_FIELD.match(line)
                out.append(Problem(rel, named.group(1), named.group(2)))  # type: ignore[union-attr]
            continue
        named = _NAMED_FIELD.match(msg)
        if loc == "-" and named:
            loc, msg = named.group(1), named.group(2)
        out.append(Problem(rel, loc, msg))
    return out


def _boolean_keys(node: object, path: tuple[str, ...]) -> Iterator[tuple[str, bool]]:
    """Keys YAML turned into booleans (`on:`, `no:`), with where they are."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, bool):
                yield ".".join(path) or "-", key
            yield from _boolean_keys(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _boolean_keys(value, (*path, str(index)))


def _read_files(root: Path, folder: str, model: type[BaseModel], problems: list[Problem],
                clean_loc: CleanLoc | None = None) -> list[Any]:
    """Parse and validate every YAML file of one folder; the id must equal the file name."""
    out: list[Any] = []
    directory = root / folder
    if not directory.is_dir():
        return out
    for path in sorted(directory.glob("*.y*ml")):
        rel = str(path.relative_to(root))
        raw = _read_yaml(path, rel, problems)
        if raw is None:
            if path.stat().st_size == 0:
                problems.append(Problem(rel, "-", "empty file"))
            continue
        if not isinstance(raw, dict):
            problems.append(Problem(rel, "-", "expected a mapping at the top level"))
            continue
        boolean_keys = list(_boolean_keys(raw, ()))
        if boolean_keys:
            problems.extend(Problem(rel, where, f"{key!r} is not a name: YAML reads an unquoted on/off/yes/no "
                                                "as true/false; put it in quotes") for where, key in boolean_keys)
            continue
        try:
            doc: Any = model.model_validate(raw)  # every content file model has an id
        except ValidationError as exc:
            problems.extend(_validation_problems(rel, exc, clean_loc))
            continue
        if doc.id != path.stem:
            problems.append(Problem(rel, "id", f"must equal the file name ({path.stem!r})"))
            continue
        out.append((rel, doc))
    return out


def _audio_problems(root: Path, rel: str, field: str, audio: Mapping[str, str] | None,
                    texts: Mapping[str, object]) -> list[Problem]:
    """A recording per locale (a lesson's, a question's): the file is there, its first bytes are
    the audio its name says, and there is a text in that locale for it to read."""
    found: list[Problem] = []
    for locale, name in (audio or {}).items():
        file = root / "media" / name
        if not file.is_file():
            found.append(Problem(rel, f"{field}.{locale}", f"file not found: media/{name}"))
        elif (why := audio_problem(file.read_bytes()[:16], name)) is not None:
            found.append(Problem(rel, f"{field}.{locale}", why))
        elif locale not in texts:
            found.append(Problem(rel, f"{field}.{locale}", "no text in this locale"))
    return found


def check_content(root: Path) -> tuple[ContentBundle, list[Problem]]:
    bundle = ContentBundle()
    problems: list[Problem] = []
    if not root.is_dir():
        return bundle, [Problem(str(root), "-", "content directory not found")]

    seen: dict[str, str] = {}
    for rel, doc in _read_files(root, "texts", TextFile, problems):
        if doc.kind in seen:
            problems.append(Problem(rel, "kind", f"{doc.kind!r} is already defined in {seen[doc.kind]}"))
            continue
        seen[doc.kind] = rel
        bundle.texts.append(doc)
    versions = {doc.kind: (doc.version, rel) for rel, doc in
                ((seen[d.kind], d) for d in bundle.texts if d.kind in ("consent", "consent_web"))}
    if len(versions) == 2 and versions["consent"][0] == versions["consent_web"][0]:
        problems.append(Problem(versions["consent_web"][1], "version",
                                f"{versions['consent'][0]} is also the version of {versions['consent'][1]}; "
                                "consent versions are one sequence shared by the bot's and the web's wording"))
    for required, why in (("consent", "a consent text is required"),
                          ("safety", "a safety message is required (sent after a red answer)")):
        if required not in seen and not any(p.file.startswith("texts/") for p in problems):
            problems.append(Problem("texts/", required, why))

    lessons: dict[str, LessonFile] = {}
    for rel, lesson in _read_files(root, "lessons", LessonFile, problems):
        for kind in ("image", "voice"):
            media = getattr(lesson.media, kind, None) if lesson.media else None
            if media and not (root / "media" / media).is_file():
                problems.append(Problem(rel, f"media.{kind}", f"file not found: media/{media}"))
        problems.extend(_audio_problems(root, rel, "media.audio", lesson.media.audio if lesson.media else None,
                                        lesson.texts))
        lessons[lesson.id] = lesson
        bundle.lessons.append(lesson)

    for rel, programme in _read_files(root, "programmes", ProgrammeFile, problems):
        for index, lesson_id in enumerate(programme.lessons):
            lesson = lessons.get(lesson_id)
            where = f"lessons.{index}"
            if lesson is None:
                problems.append(Problem(rel, where, f"unknown lesson {lesson_id!r}"))
            elif programme.audience not in lesson.audience:
                problems.append(Problem(rel, where, f"lesson {lesson_id!r} is not for {programme.audience}"))
            elif programme.age_band not in lesson.age_bands:
                problems.append(Problem(rel, where, f"lesson {lesson_id!r} is not for ages {programme.age_band}"))
        bundle.programmes.append(programme)

    # Questionnaires: validated here (every locale, references, ranges); loaded as immutable
    # versions by core.checkin.service.load_questionnaires.
    for rel, questionnaire in _read_files(root, "questionnaires", QuestionnaireFile, problems, questionnaire_loc):
        for i, item in enumerate(questionnaire.items):
            problems.extend(_audio_problems(root, rel, f"items.{i}.audio", item.audio, item.texts))
        for r, rule in enumerate(questionnaire.rules):
            for k, lesson_id in enumerate(rule.lessons):
                if lesson_id not in lessons:
                    problems.append(Problem(rel, f"rules.{r}.lessons.{k}", f"unknown lesson {lesson_id!r}"))
        bundle.questionnaires.append(questionnaire)

    for _rel, lexicon in _read_files(root, "risk", LexiconFile, problems):
        bundle.lexicon = lexicon
    model = root / "risk" / "model.json"
    if model.is_file():
        rel = str(model.relative_to(root))
        try:
            bundle.model = ModelFile.model_validate_json(model.read_bytes())
        except ValidationError as exc:
            problems.extend(_validation_problems(rel, exc))
        else:
            if bundle.lexicon is None:
                problems.append(Problem(rel, "-", "a risk model without a lexicon beside it"))
    return bundle, problems
