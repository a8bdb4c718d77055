"""Pure pieces of whom-to-call and erasure: the family label, note scrubbing, evidence cleaning."""
from __future__ import annotations

import pytest

from core.alerts.erasure import REDACTED, clean_evidence, scrub
from core.households.identity import Identity, family_label


@pytest.mark.parametrize(("people", "label"), [
    ([Identity("王奶奶", "+8613812345678", "三组 村口")], "王奶奶 · 13812345678 · 三组 村口"),
    ([Identity("王奶奶", None, "三组 村口"), Identity("王爸爸", "+447700900123", "三组 村口")],
     "王奶奶 / 王爸爸 · +447700900123 · 三组 村口"),
    ([Identity(None, "+8613812345678", None)], "13812345678"),
    ([Identity(None, None, "五组")], "五组"),
    ([Identity(None, None, None)], None),
    ([], None),
])
def test_family_label(people: list[Identity], label: str | None) -> None:
    assert family_label(people) == label


def test_scrub_replaces_known_identifiers_and_any_phone_number() -> None:
    note = "给柳奶奶打了电话 139-8765-4321，又打 +44 7700 900123，石头蛋在家"
    out = scrub(note, ["柳奶奶", "石头蛋"])
    assert out == f"给{REDACTED}打了电话 {REDACTED}，又打 {REDACTED}，{REDACTED}在家"


def test_clean_evidence_keeps_structure_and_drops_words_and_people() -> None:
    evidence = {"categories": ["suicide"], "terms": ["不想活"], "kind": "message", "free_text_id": 5,
                "written_by_guardian_id": 7, "free_text_ids": [5, 6],
                "first": {"terms": ["想死"], "written_by_guardian_id": 7, "categories": ["suicide"]}}
    assert clean_evidence(evidence, guardian_id=None) == {
        "categories": ["suicide"], "kind": "message", "free_text_ids": [], "redacted": True,
        "first": {"categories": ["suicide"], "redacted": True}}
    # Another guardian leaving: this evidence is not theirs, it stays as it is.
    assert clean_evidence(evidence, guardian_id=8)["terms"] == ["不想活"]
    scores = {"answers": {"safety": 2}, "scores": {"total": {"raw": 20}}, "check_in_ids": [3]}
    assert clean_evidence(scores, guardian_id=None) == scores
