"""Questionnaire files: the shipped instruments are valid and carry their published wording,
scoring and cut-offs; every broken file is reported as `file: field: reason`, all at once."""
from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml

from cli.main import main as cli_main
from core.config import PROJECT_ROOT
from core.content.loader import check_content
from core.content.questionnaires import AnswerIn, QuestionnaireFile

SHIPPED = PROJECT_ROOT / "content"


def _t(zh: str, en: str) -> dict[str, str]:
    return {"zh-Hans": zh, "en": en}


def good_questionnaire() -> dict:  # type: ignore[type-arg]
    """A small questionnaire that uses every feature: reverse items, a multiplier, both missing
    policies, the form-level blank rule, cut-offs on raw and scaled scores, every rule kind."""
    return {
        "id": "mood_check",
        "version": 1,
        "respondent": "guardian",
        "subject": "child",
        "child_age": {"min": 6, "max": 12},
        "source": {"citation": "Written for the tests of Shouwang", "url": "https://example.org/mood"},
        "licence": {"text": "CC BY-NC-SA 4.0", "verified": "written for these tests"},
        "translation": {
            "zh-Hans": {"status": "original", "note": "written for the tests"},
            "en": {"status": "original", "note": "written for the tests"},
        },
        "texts": {
            "zh-Hans": {"title": "心情", "intro": "问问{nickname}的心情。", "stem": "关于{nickname}："},
            "en": {"title": "Mood", "intro": "About {nickname}'s mood.", "stem": "About {nickname}:"},
        },
        "choice_sets": {
            "freq": [
                {"value": 0, "labels": _t("从不", "Never")},
                {"value": 1, "labels": _t("有时", "Sometimes")},
                {"value": 2, "labels": _t("常常", "Often")},
                {"value": 3, "labels": _t("总是", "Always")},
            ],
            "yes_no": [
                {"value": 0, "labels": _t("没有", "No")},
                {"value": 1, "labels": _t("有", "Yes")},
            ],
        },
        "items": [
            {"id": "sad", "choices": "freq", "texts": _t("{nickname}难过", "{nickname} feels sad")},
            {"id": "worried", "choices": "freq", "texts": _t("{nickname}担心", "{nickname} worries")},
            {"id": "happy", "choices": "freq", "texts": _t("{nickname}开心", "{nickname} is happy")},
            {"id": "sleeps", "choices": "freq", "texts": _t("{nickname}睡得好", "{nickname} sleeps well")},
            {"id": "safety", "choices": "yes_no", "texts": _t("有人伤害{nickname}吗？", "Has anyone hurt {nickname}?")},
        ],
        "invalid_from_blanks": 3,
        "scales": [
            {   # sad + worried + (3 − happy): 0–9
                "id": "distress", "labels": _t("困扰", "Distress"), "items": ["sad", "worried", "happy"],
                "reverse": ["happy"], "missing": "count_as_zero",
                "cutoffs": [{"id": "high", "direction": "at_least", "threshold": 6, "labels": _t("高", "High")}],
            },
            {   # (happy + sleeps) × 5: 0–30
                "id": "wellbeing", "labels": _t("状态", "Wellbeing"), "items": ["happy", "sleeps"],
                "multiplier": 5, "missing": "not_scored",
                "cutoffs": [{"id": "low", "direction": "at_most", "threshold": 10, "score": "scaled",
                             "labels": _t("低", "Low")}],
            },
        ],
        "rules": [
            {"id": "hurt", "kind": "answer_in", "item": "safety", "values": [1], "severity": "red",
             "audience": "child", "reasons": _t("有人伤害孩子", "Someone hurt the child")},
            {"id": "distress_high", "kind": "scale_at_least", "scale": "distress", "threshold": 6,
             "severity": "orange", "audience": "child", "reasons": _t("困扰高", "High distress")},
            {"id": "wellbeing_low", "kind": "scale_at_most", "scale": "wellbeing", "threshold": 10,
             "score": "scaled", "severity": "yellow", "audience": "child", "reasons": _t("状态差", "Low wellbeing")},
            {"id": "distress_up", "kind": "increase_since_last_at_least", "scale": "distress", "points": 3,
             "severity": "yellow", "audience": "child", "reasons": _t("困扰上升", "Distress rose")},
            {"id": "wellbeing_down", "kind": "decrease_since_last_at_least", "scale": "wellbeing", "points": 10,
             "score": "scaled", "severity": "yellow", "audience": "child", "reasons": _t("状态下降", "Wellbeing fell")},
            {"id": "any_low", "kind": "any_item_at_most", "items": ["happy", "sleeps"], "value": 0,
             "severity": "yellow", "audience": "child", "reasons": _t("有一项很低", "An item is very low")},
            {"id": "silent", "kind": "unanswered_cycles_at_least", "n": 2, "severity": "yellow",
             "audience": "child", "reasons": _t("连续没回答", "Unanswered twice")},
        ],
    }


def build(data: dict | None = None) -> QuestionnaireFile:  # type: ignore[type-arg]
    return QuestionnaireFile.model_validate(data or good_questionnaire())


def write(root: Path, name: str, data: object) -> None:
    (root / "questionnaires").mkdir(parents=True, exist_ok=True)
    (root / "questionnaires" / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                                                encoding="utf-8")


@pytest.fixture
def library(tmp_path: Path) -> Path:
    shutil.copytree(SHIPPED / "texts", tmp_path / "texts")
    write(tmp_path, "mood_check.yaml", good_questionnaire())
    return tmp_path


def shipped() -> dict[str, QuestionnaireFile]:
    bundle, problems = check_content(SHIPPED)
    assert problems == []
    return {q.id: q for q in bundle.questionnaires}


# -- the shipped instruments -----------------------------------------------------------------


def test_shipped_questionnaires_pass_content_check() -> None:
    assert set(shipped()) == {"psc17", "weekly_checkin", "who5"}


def test_a_minimal_library_with_every_rule_kind_is_valid(library: Path) -> None:
    bundle, problems = check_content(library)
    assert problems == []
    assert {r.kind for r in bundle.questionnaires[0].rules} == {
        "answer_in", "scale_at_least", "scale_at_most", "increase_since_last_at_least",
        "decrease_since_last_at_least", "any_item_at_most", "unanswered_cycles_at_least",
    }


def test_every_instrument_cites_its_source_licence_and_translation() -> None:
    for q in shipped().values():
        assert q.source.citation.strip() and q.licence.text.strip() and q.licence.verified.strip()
        assert set(q.translation) == {"zh-Hans", "en"}
        for item in q.items:  # every item and every answer in every locale
            assert item.texts["zh-Hans"] and item.texts["en"]
            for choice in q.choice_sets[item.choices]:
                assert choice.labels["zh-Hans"] and choice.labels["en"]


# PSC-17, official form order with its subscale (DOMAIN.md; Gardner et al. 1999).
PSC17_FORM = [
    ("fidgety", "Fidgety, unable to sit still", "attention"),
    ("sad", "Feels sad, unhappy", "internalising"),
    ("daydreams", "Daydreams too much", "attention"),
    ("refuses_to_share", "Refuses to share", "externalising"),
    ("others_feelings", "Does not understand other people's feelings", "externalising"),
    ("hopeless", "Feels hopeless", "internalising"),
    ("concentrating", "Has trouble concentrating", "attention"),
    ("fights", "Fights with other children", "externalising"),
    ("down_on_self", "Is down on him or herself", "internalising"),
    ("blames_others", "Blames others for his or her troubles", "externalising"),
    ("less_fun", "Seems to be having less fun", "internalising"),
    ("rules", "Does not listen to rules", "externalising"),
    ("motor", "Acts as if driven by a motor", "attention"),
    ("teases", "Teases others", "externalising"),
    ("worries", "Worries a lot", "internalising"),
    ("takes_things", "Takes things that do not belong to him or her", "externalising"),
    ("distracted", "Distracted easily", "attention"),
]


def test_psc17_is_the_published_instrument() -> None:
    q = shipped()["psc17"]
    assert (q.respondent, q.subject) == ("guardian", "child")
    assert q.child_age is not None and (q.child_age.min, q.child_age.max) == (4, 16)
    assert [(i.id, i.texts["en"]) for i in q.items] == [(i, text) for i, text, _ in PSC17_FORM]
    for name in ("internalising", "attention", "externalising"):
        assert set(q.scales_by_id[name].items) == {i for i, _, scale in PSC17_FORM if scale == name}
    assert set(q.scales_by_id["total"].items) == {i for i, _, _ in PSC17_FORM}
    assert [(c.value, c.labels["en"]) for c in q.choice_sets["never_sometimes_often"]] == [
        (0, "Never"), (1, "Sometimes"), (2, "Often")]
    cutoffs = {(s.id, c.direction, c.threshold) for s in q.scales for c in s.cutoffs}
    assert cutoffs == {("total", "at_least", 15), ("internalising", "at_least", 5),
                       ("attention", "at_least", 7), ("externalising", "at_least", 7)}
    assert {s.id: q.scale_range(s.id) for s in q.scales} == {
        "total": (0, 34), "internalising": (0, 10), "attention": (0, 10), "externalising": (0, 14)}
    assert q.invalid_from_blanks == 4 and {s.missing for s in q.scales} == {"count_as_zero"}
    assert not any(s.reverse for s in q.scales)
    assert "freely reproduced" in q.licence.text
    assert q.translation["zh-Hans"].status == "own_unvalidated" and "NOT validated" in q.translation["zh-Hans"].note
    severities = {r.id: (r.kind, r.severity) for r in q.rules}
    assert severities == {
        "total_positive": ("scale_at_least", "orange"),
        "internalising_positive": ("scale_at_least", "orange"),
        "attention_positive": ("scale_at_least", "yellow"),
        "externalising_positive": ("scale_at_least", "yellow"),
        "total_increase": ("increase_since_last_at_least", "yellow"),
    }


def test_who5_is_the_published_instrument_and_supports_the_guardian() -> None:
    q = shipped()["who5"]
    assert (q.respondent, q.subject, q.child_age) == ("guardian", "self", None)
    assert [i.texts["en"] for i in q.items] == [
        "I have felt cheerful and in good spirits",
        "I have felt calm and relaxed",
        "I have felt active and vigorous",
        "I woke up feeling fresh and rested",
        "My daily life has been filled with things that interest me",
    ]
    assert q.texts["en"].stem == "Over the last two weeks"
    assert [(c.value, c.labels["en"]) for c in q.choice_sets["frequency"]] == [
        (5, "All of the time"), (4, "Most of the time"), (3, "More than half of the time"),
        (2, "Less than half of the time"), (1, "Some of the time"), (0, "At no time")]
    scale = q.scales_by_id["wellbeing"]
    assert (q.scale_range("wellbeing"), q.scale_range("wellbeing", "scaled")) == ((0, 25), (0, 100))
    assert scale.multiplier == 4 and scale.missing == "not_scored"
    assert {r.audience for r in q.rules} == {"guardian"}  # support for the guardian, never a child alarm
    assert "ALTERED VERSION" in q.translation["zh-Hans"].note and "ALTERED VERSION" in q.translation["en"].note
    assert q.translation["zh-Hans"].status == "own_unvalidated"


def test_weekly_checkin_is_short_plain_and_any_yes_on_safety_is_red() -> None:
    q = shipped()["weekly_checkin"]
    assert len(q.items) <= 6
    assert {i.id for i in q.items} == {"mood", "sleep_appetite", "school", "parent_contact", "upsetting_event",
                                       "safety"}
    for item in q.items:
        assert "{nickname}" in item.texts["zh-Hans"] and "{nickname}" in item.texts["en"]
    assert q.items_by_id["safety"].text("zh-Hans", nickname="小明").startswith("最近，小明有没有说过想伤害自己")
    yes = [c.value for c in q.choice_sets["safety"] if c.labels["en"].startswith("Yes")]
    red = {v for r in q.rules if isinstance(r, AnswerIn) and r.item == "safety" and r.severity == "red" for v in r.values}
    assert yes and red == set(yes)
    assert "CC BY-NC-SA 4.0" in q.licence.text
    silent = [r for r in q.rules if r.kind == "unanswered_cycles_at_least"]
    assert [(r.n, r.severity) for r in silent] == [(3, "yellow")]  # type: ignore[union-attr]


def test_content_check_cli_counts_questionnaires(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["content", "check"]) == 0
    assert "3 questionnaire(s)" in capsys.readouterr().out


# -- broken files ------------------------------------------------------------------------------


def broken(change):  # type: ignore[no-untyped-def]
    data = copy.deepcopy(good_questionnaire())
    change(data)
    return data


F = "questionnaires/mood_check.yaml"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # field by field
        (broken(lambda d: d.pop("version")), f"{F}: version: Field required"),
        (broken(lambda d: d.update(colour="red")), f"{F}: colour: Extra inputs are not permitted"),
        (broken(lambda d: d.update(id="other")), f"{F}: id: must equal the file name ('mood_check')"),
        (broken(lambda d: d.update(respondent="teacher")), f"{F}: respondent: Input should be 'guardian'"),
        (broken(lambda d: d["items"][1]["texts"].pop("en")), f"{F}: items.1.texts: missing text for en"),
        (broken(lambda d: d["choice_sets"]["freq"][2]["labels"].update({"zh-Hans": " "})),
         f"{F}: choice_sets.freq.2.labels: missing text for zh-Hans"),
        (broken(lambda d: d["choice_sets"]["freq"][0]["labels"].update(en="x" * 49)),
         f"{F}: choice_sets.freq.0.labels: longer than 48 characters in en"),
        (broken(lambda d: d["scales"][0].pop("missing")), f"{F}: scales.0.missing: Field required"),
        (broken(lambda d: d["rules"][1].update(kind="scale_above")), f"{F}: rules.1: Input tag 'scale_above'"),
        (broken(lambda d: d["rules"][1].update(threshold="high")), f"{F}: rules.1.threshold: Input should be a valid integer"),
        (broken(lambda d: d["rules"][1].update(severity="purple")), f"{F}: rules.1.severity: Input should be 'red', 'orange' or 'yellow'"),
        (broken(lambda d: d["rules"][0].update(formula="a > 1")), f"{F}: rules.0.formula: Extra inputs are not permitted"),
        (broken(lambda d: d["child_age"].update(min=13)), f"{F}: child_age: min 13 is above max 12"),
        # whole file
        (broken(lambda d: d.pop("child_age")), f"{F}: child_age: required for a questionnaire about a child"),
        (broken(lambda d: d["translation"].pop("zh-Hans")), f"{F}: translation: missing locale zh-Hans"),
        (broken(lambda d: d["texts"].update(fr=d["texts"]["en"])), f"{F}: texts: unknown locale fr"),
        (broken(lambda d: d["items"][0].update(choices="frequency")), f"{F}: items.0.choices: unknown choice set 'frequency'"),
        (broken(lambda d: d["items"][1].update(id="sad")), f"{F}: items: item id 'sad' is used twice"),
        (broken(lambda d: d["items"][0]["texts"].update(en="{name} feels sad")),
         f"{F}: items.0.texts.en: unknown placeholder {{name}}; only {{nickname}} is filled in"),
        (broken(lambda d: d["choice_sets"]["freq"][1].update(value=0)), f"{F}: choice_sets.freq: value 0 is listed twice"),
        (broken(lambda d: d["choice_sets"].update(spare=d["choice_sets"]["yes_no"])), f"{F}: choice_sets.spare: not used by any item"),
        (broken(lambda d: d["scales"][0]["items"].append("angry")), f"{F}: scales.0.items.3: unknown item 'angry'"),
        (broken(lambda d: d["scales"][0].update(reverse=["sleeps"])), f"{F}: scales.0.reverse.0: 'sleeps' is not an item of this scale"),
        (broken(lambda d: d["scales"][0]["cutoffs"][0].update(threshold=10)),
         f"{F}: scales.0.cutoffs.0.threshold: 10 is never reached (raw 0–9)"),
        (broken(lambda d: d["scales"][0]["cutoffs"][0].update(threshold=0)),
         f"{F}: scales.0.cutoffs.0.threshold: 0 is always reached (raw 0–9)"),
        (broken(lambda d: d["scales"][1]["cutoffs"][0].update(threshold=30)),
         f"{F}: scales.1.cutoffs.0.threshold: 30 is always reached (scaled 0–30)"),
        (broken(lambda d: d["rules"][0].update(values=[2])), f"{F}: rules.0.values.0: 2 is not a choice of item 'safety' (0, 1)"),
        (broken(lambda d: d["rules"][0].update(item="danger")), f"{F}: rules.0.item: unknown item 'danger'"),
        (broken(lambda d: d["rules"][1].update(scale="anxiety")), f"{F}: rules.1.scale: unknown scale 'anxiety'"),
        (broken(lambda d: d["rules"][1].update(threshold=12)), f"{F}: rules.1.threshold: 12 is never reached (raw 0–9)"),
        (broken(lambda d: d["rules"][2].update(threshold=40)), f"{F}: rules.2.threshold: 40 is always reached (scaled 0–30)"),
        (broken(lambda d: d["rules"][3].update(points=10)), f"{F}: rules.3.points: 10 is more than the scale can change (raw 0–9)"),
        (broken(lambda d: d["rules"][5].update(items=["happy", "mood"])), f"{F}: rules.5.items.1: unknown item 'mood'"),
        (broken(lambda d: d["rules"][5].update(value=3)), f"{F}: rules.5.value: 3 on item 'happy' is never or always reached"),
        (broken(lambda d: d["rules"][6].update(id="hurt")), f"{F}: rules: rule id 'hurt' is used twice"),
        (broken(lambda d: d.update(invalid_from_blanks=6)), f"{F}: invalid_from_blanks: 6 is more than the 5 item(s)"),
    ],
)
def test_broken_questionnaires(library: Path, data: dict, expected: str) -> None:  # type: ignore[type-arg]
    write(library, "mood_check.yaml", data)
    problems = [str(p) for p in check_content(library)[1]]
    assert any(p.startswith(expected) for p in problems), problems


def test_a_questionnaire_about_the_guardian_never_raises_a_child_alert(library: Path) -> None:
    data = good_questionnaire()
    data["subject"] = "self"
    write(library, "mood_check.yaml", data)
    problems = [str(p) for p in check_content(library)[1]]
    assert f"{F}: child_age: only for questionnaires about a child; leave it out for subject: self" in problems
    assert any(p.startswith(f"{F}: rules.0.audience: a questionnaire about the guardian themself") for p in problems)
    assert f"{F}: texts.en.intro: {{nickname}} is only for questionnaires about a child" in problems
    assert f"{F}: items.0.texts.zh-Hans: {{nickname}} is only for questionnaires about a child" in problems


def test_every_cross_check_problem_is_reported_at_once(library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = good_questionnaire()
    data["scales"][0]["items"].append("angry")
    data["rules"][0]["values"] = [7]
    data["rules"][1]["scale"] = "anxiety"
    data["items"][0]["choices"] = "nope"
    write(library, "mood_check.yaml", data)
    assert cli_main(["content", "check", str(library)]) == 1
    out = capsys.readouterr().out.splitlines()
    for line in (f"{F}: scales.0.items.3: unknown item 'angry'",
                 f"{F}: rules.0.values.0: 7 is not a choice of item 'safety' (0, 1)",
                 f"{F}: rules.1.scale: unknown scale 'anxiety'",
                 f"{F}: items.0.choices: unknown choice set 'nope'"):
        assert line in out, out


def test_a_yaml_boolean_key_is_caught(library: Path) -> None:
    """`on:` and `no` are booleans in YAML 1.1 — one reason the field is called `score`."""
    (library / "questionnaires" / "mood_check.yaml").write_text(
        yaml.safe_dump(good_questionnaire(), allow_unicode=True).replace("score: scaled", "on: scaled"),
        encoding="utf-8")
    problems = [str(p) for p in check_content(library)[1]]
    assert f"{F}: scales.1.cutoffs.0: True is not a name: YAML reads an unquoted on/off/yes/no as true/false; " \
           "put it in quotes" in problems, problems


def test_text_renders_the_nickname_and_nothing_else() -> None:
    q = build()
    assert q.items_by_id["sad"].text("en", nickname="Lily") == "Lily feels sad"
    assert q.items_by_id["sad"].text("zh-Hans", nickname="小红") == "小红难过"
    assert q.choice_label("safety", 1, "zh-Hans") == "有"
