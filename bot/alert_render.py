"""How alerts, cases and the roster look in a staff member's chat (HTML). Questionnaire and
lexicon wording comes from content in the reader's language; our frame is gettext; everything
that came from people (nicknames, notes, a guardian's words) is escaped."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.texts import STAFF_ROLES, relationship_label
from bot.texts import escape_text as escape
from core.alerts.queries import AlertLine, CaseHistory, RosterLine
from core.alerts.views import AlertCard


SEVERITY = {"red": __("🔴 Red alert"), "orange": __("🟠 Orange alert"), "yellow": __("🟡 Yellow alert")}
SEVERITY_DOT = {"red": "🔴", "orange": "🟠", "yellow": "🟡", "ok": "🟢"}
METHODS = {"call": __("📞 Phone call"), "visit": __("🏠 Home visit")}
REFERRALS = {
    "hospital_cmh": __("Hospital child mental-health clinic"),
    "school_counsellor": __("School counsellor"),
    "police": __("Police (mandatory report)"),
    "civil_affairs": __("Civil affairs"),
    "other": __("Other"),
}
OUTCOMES = {
    "safe_now": __("The child is safe now"),
    "family_supported": __("The family is getting support"),
    "referred": __("Referred on, and followed up"),
    "family_left": __("The family has left"),
    "false_alarm": __("A misunderstanding, no risk"),
    "other": __("Other"),
}
CATEGORIES = {  # the risk lexicon's categories (v4), and v3's for alerts raised before it
    "suicide": __("suicide"),
    "self_harm": __("self-harm"),
    "physical_abuse": __("physical abuse"),
    "sexual_abuse": __("sexual abuse"),
    "bullying": __("bullying"),
    "missing": __("missing or run away"),
    "guardian_crisis": __("the guardian's own crisis"),
    "child_distress": __("a child in distress"),
    "abuse": __("harm by someone"),
    "violence": __("violence"),
    "running_away": __("running away"),
}


def _sep() -> str:
    return "、" if I18n.get_current().current_locale.startswith("zh") else ", "


def _label(table: dict, key: str | None) -> str:  # type: ignore[type-arg]
    value = table.get(key or "")
    return str(value) if value is not None else (key or "")


def family_html(household_id: int | None, label: str | None) -> str:
    """The family as staff read it everywhere (cards, /roster, /visits, /case, inbox items): the
    label from core.households.identity.family_label — what the family calls the guardian, the
    number to call, where the house is — with the household's number; just the number when the
    family told us nothing. The phone is plain text: Telegram shows it as a tappable number
    (it does not accept tel: links in messages)."""
    number = _("household #{id}").format(id=household_id) if household_id else ""
    if label:
        return f"{escape(label)} ({number})" if number else escape(label)
    return number


def who_line(card: AlertCard) -> str:
    if card.subject == "child" and card.nickname:
        who = _("{nickname} ({age} years old)").format(nickname=escape(card.nickname), age=card.age)
    elif card.subject == "guardian":
        who = _("The guardian themself (their own wellbeing)")
    elif card.subject == "child":
        who = _("A child whose family has left")
    elif card.subject == "pending":
        who = _("A family that has not finished joining yet")
    else:
        who = _("A household (no child named)")
    family = family_html(card.household_id, card.family)
    return f"{who}\n{family}" if family else who


def respondent_line(card: AlertCard) -> str | None:
    if card.relationship is None:
        return None
    where = _("lives with the child") if card.lives_with_children else _("works away")
    return _("Answered by: {relationship} ({where})").format(relationship=relationship_label(card.relationship),
                                                            where=where)


def status_line(card: AlertCard) -> str:
    if card.status == "resolved":
        return _("✔️ Resolved by {name}: {outcome}").format(name=escape(card.resolved_by or "?"),
                                                           outcome=_label(OUTCOMES, card.outcome))
    if card.status == "acknowledged":
        return _("✅ Acknowledged by {name} at {time}").format(name=escape(card.acknowledged_by or "?"),
                                                              time=card.acknowledged_local or "")
    return _("⏳ Not acknowledged yet")


def card_html(card: AlertCard, *, level: int = 0) -> str:
    lines = []
    if level > 0:
        role = str(STAFF_ROLES["supervisor" if level == 1 else "admin"])
        lines.append(_("⚠️ Escalated: nobody acknowledged this alert in time. It comes to you as {role}.").format(
            role=role))
        lines.append("")
    head = f"<b>{_label(SEVERITY, card.severity)}</b>"
    if card.case_id:
        head += " · " + _("case #{id}").format(id=card.case_id)
    lines.append(head)
    lines.append(who_line(card))
    respondent = respondent_line(card)
    if respondent:
        lines.append(respondent)
    when = f"{escape(card.questionnaire)} · {card.opened_local}" if card.questionnaire else card.opened_local
    if card.occurrences > 1:
        when += " · " + _("seen {n} times").format(n=card.occurrences)
    lines.append(when)
    lines.append("")
    for question, answer in card.answers:
        lines.append(f"• {escape(question)} — <b>{escape(answer)}</b>")
    for score in card.scores:
        text = _("{scale}: {raw} (of {low}–{high})").format(scale=escape(score.label), raw=score.raw,
                                                          low=score.low, high=score.high)
        if score.scaled is not None:
            text += f" = {score.scaled}%"
        if score.cutoffs:
            text += " · " + ", ".join(escape(c) for c in score.cutoffs)
        if score.before is not None:
            text += " · " + _("last time {before}").format(before=score.before)
        lines.append("• " + text)
    if card.unanswered_cycles:
        lines.append("• " + _("Not answered {n} times in a row").format(n=card.unanswered_cycles))
    if card.categories:
        lines.append("• " + _("Risk words about: {what}").format(
            what=", ".join(_label(CATEGORIES, c) for c in card.categories)))
    if card.words:
        lines.append("“" + escape(card.words) + "”")
    lines.append("")
    lines.append(escape(card.reason))
    lines.append("")
    lines.append(status_line(card))
    return "\n".join(lines)


def reminder_html(card: AlertCard, *, escalate_local: str | None) -> str:
    if escalate_local:
        text = _("⏰ Reminder: this alert has not been acknowledged yet. If nobody acknowledges it by {time}, "
                 "it goes to the supervisor.").format(time=escalate_local)
    else:
        text = _("⏰ Reminder: this alert has not been acknowledged yet.")
    return text + "\n\n" + card_html(card)


def followup_result_html(content: dict) -> str:  # type: ignore[type-arg]
    who = escape(content.get("nickname") or "") or _("the guardian")
    if content.get("state") == "expired":
        return _("Follow-up for case #{case}: the questions about {who} were not answered. "
                 "Please call or visit.").format(case=content["case_id"], who=who)
    if content.get("severity"):
        return _("Follow-up for case #{case}: {who}'s answers raised a new {severity} alert. "
                 "Send /alerts to see it.").format(case=content["case_id"], who=who,
                                                   severity=_label(SEVERITY, content["severity"]))
    return _("Follow-up for case #{case}: {who}'s answers raised no concern.").format(case=content["case_id"], who=who)


def household_left_html(content: dict) -> str:  # type: ignore[type-arg]
    if content.get("case_ids"):
        cases = ", ".join(f"#{c}" for c in content["case_ids"])
        return _("A family of your group (household #{id}) has left Shouwang and erased its data. Their open "
                 "cases ({cases}) are kept without names, as the child-protection record.").format(
            id=content.get("household_id"), cases=cases)
    return _("A family of your group (household #{id}) has left Shouwang and erased its data.").format(
        id=content.get("household_id"))


def alert_list_html(lines: list[AlertLine], tz: ZoneInfo) -> str:
    if not lines:
        return _("No open alerts. Thank you for keeping watch.")
    out = [_("Open alerts, most severe first:"), ""]
    for line in lines:
        a = line.alert
        who = (_("{nickname} ({age} years old)").format(nickname=escape(line.nickname), age=line.age)
               if line.nickname else who_line(AlertCard(a.id, a.case_id, a.severity, a.status, 0, "",
                                                        a.subject_key.split(":")[0], None)))
        family = family_html(a.household_id, line.family)
        if family:
            who += " · " + family
        state = _("acknowledged") if a.status == "acknowledged" else _("not acknowledged")
        out.append(f"{SEVERITY_DOT[a.severity]} " + _("case #{id}").format(id=a.case_id) + f" · {who} · "
                   + a.created_at.astimezone(tz).strftime("%m-%d %H:%M") + f" · {state}")
    return "\n".join(out)


def _event_line(kind: str, detail: dict, name: str | None, note: str | None) -> str:  # type: ignore[type-arg]
    who = escape(name or _("the system"))
    if kind == "alert":
        text = _("{severity} raised").format(severity=_label(SEVERITY, detail.get("severity")))
    elif kind == "alert_repeat":
        text = _("the same concern again")
    elif kind == "acknowledged":
        text = _("acknowledged by {who}").format(who=who)
    elif kind == "contact":
        text = _("{method} by {who}").format(method=_label(METHODS, detail.get("method")), who=who)
    elif kind == "referral":
        text = _("referred to {to} by {who}").format(to=_label(REFERRALS, detail.get("to")), who=who)
    elif kind == "note":
        text = _("note by {who}").format(who=who)
    elif kind == "resolved":
        text = _("alert resolved by {who}: {outcome}").format(who=who, outcome=_label(OUTCOMES, detail.get("outcome")))
    elif kind == "closed":
        text = _("case closed by {who}: {outcome}").format(who=who, outcome=_label(OUTCOMES, detail.get("outcome")))
    elif kind == "reopened":
        text = _("case reopened by {who}").format(who=who)
    elif kind == "escalated":
        text = _("escalated to the {role}").format(role=str(STAFF_ROLES.get(detail.get("to", ""), detail.get("to"))))
    elif kind == "inbox_in":
        text = _("a message from the family (inbox #{id}; /inbox)").format(id=detail.get("inbox_item_id"))
    elif kind == "inbox_out":
        text = _("reply to the family by {who} (inbox #{id})").format(who=who, id=detail.get("inbox_item_id"))
    elif kind == "refiled":
        text = _("moved here: the family said which child it is about")
    elif kind == "reminded":
        text = _("reminder sent to the directors")
    elif kind == "followup_scheduled":
        due = (detail.get("due_at") or "")[:10]
        text = _("follow-up check-in scheduled for {date}").format(date=due)
    elif kind == "followup_result":
        if detail.get("state") == "expired":
            text = _("follow-up not answered")
        elif detail.get("severity"):
            text = _("follow-up answered: {severity}").format(severity=_label(SEVERITY, detail["severity"]))
        else:
            text = _("follow-up answered: no concern")
    else:
        text = kind
    if note:
        text += f": “{escape(note)}”"
    return text


def case_html(history: CaseHistory, tz: ZoneInfo) -> str:
    case = history.case
    state = _("open") if case.status == "open" else _("closed")
    family = family_html(case.household_id, history.family)
    if history.nickname:
        who = _("{nickname} ({age} years old)").format(nickname=escape(history.nickname), age=history.age)
    elif case.household_id is not None:
        who = _("the family")  # a household's or a guardian's case: the family line below says who
    else:
        who = _("no name kept")  # the family erased its data; the record stays pseudonymised
    lines = ["<b>" + _("Case #{id}").format(id=case.id) + f"</b> · {who} · {state}"]
    if family:
        lines.append(family)
    if history.responsible:
        lines.append(_("Responsible: {name}").format(name=escape(history.responsible)))
    lines.append("")
    for event, name in history.events:
        lines.append(event.at.astimezone(tz).strftime("%m-%d %H:%M") + " "
                     + _event_line(event.kind, event.detail or {}, name, event.note))
    return "\n".join(lines)


def _ago(at: datetime | None, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%m-%d") if at else _("never")


def roster_html(lines: list[RosterLine], tz: ZoneInfo) -> str:
    if not lines:
        return _("No families have joined yet.")
    out = [_("Your families ({n}):").format(n=len(lines)), ""]
    for line in lines:
        kids = _sep().join(f"{escape(c.nickname)} {c.age}" for c in line.children) or _("no children")
        parts = [family_html(line.household_id, line.family), kids]
        checkins = [c for c in line.children if c.last_checkin]
        if checkins:
            last = max(checkins, key=lambda c: c.last_checkin)  # type: ignore[arg-type, return-value]
            parts.append(_("last check-in {date}").format(date=_ago(last.last_checkin, tz)) + " "
                         + SEVERITY_DOT.get(last.last_band or "ok", ""))
        else:
            parts.append(_("no check-in yet"))
        if line.open_cases:
            parts.append(_("open case {cases}").format(cases=", ".join(f"#{c}" for c in line.open_cases)))
        parts.append(_("last visit or call {date}").format(date=_ago(line.last_contact, tz)))
        out.append("• " + " · ".join(parts))
    return "\n".join(out)


def visits_html(lines: list[RosterLine], tz: ZoneInfo) -> str:
    if not lines:
        return _("Every family has been visited or called recently. Thank you!")
    out = [_("These families have not been visited or called for a while:"), ""]
    for line in lines:
        kids = _sep().join(escape(c.nickname) for c in line.children) or _("no children")
        out.append("• " + family_html(line.household_id, line.family) + f" · {kids} · "
                   + _("last visit or call {date}").format(date=_ago(line.last_contact, tz)))
    out.append("")
    out.append(_("Tap a family below to log a visit or a call."))
    return "\n".join(out)


def staff_help() -> str:
    return _(
        "What you can send me:\n\n"
        "/alerts — open alerts, most severe first\n"
        "/inbox — messages from families, not yet done\n"
        "/case <number> — a case's history\n"
        "/roster — your families: last check-in, open cases, last visit\n"
        "/visits — families not visited or called for a while\n"
        "/checknow <household> <why> — send a family the check-in now\n"
        "/myphone <number> | show | hide — your phone number for families\n"
        "/help — show this list\n\n"
        "New alerts and families' messages come here by themselves, with buttons to act on them."
    )
