"""The API's documentation at /docs: swagger-ui's files served from this machine (the
fastapi-offline package ships them), a plain-words summary and description for every operation
that has none in its route, and examples on the main request bodies. Kept in one table here so
the routers stay short; a route's own docstring wins over this table's description."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/docs-assets"

# (method, path) → (summary, description)
OPERATIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/healthz"): ("Is the service healthy?", "Database reachable, the scheduler's last tick, the outbox "
                          "backlog per lane and the age of the oldest unsent urgent message. No sign-in needed."),
    ("GET", "/api/v1/me"): ("Who am I", "The staff member behind the token you sent: name, role and cohorts."),
    ("GET", "/api/v1/cohorts"): ("List cohorts", "The villages or school groups you can see (all of them for admins)."),
    ("POST", "/api/v1/cohorts"): ("Create a cohort", "A new village or school group with its time zone, language "
                                  "and lesson days. Admins only."),
    ("GET", "/api/v1/cohorts/{cohort_id}"): ("Read a cohort", "One cohort's settings. Another cohort is 404."),
    ("PATCH", "/api/v1/cohorts/{cohort_id}"): ("Change a cohort", "Send only the fields to change. Admins only."),
    ("GET", "/api/v1/staff"): ("List staff", "Admins see everyone; others see the staff of their own cohorts."),
    ("POST", "/api/v1/staff"): ("Add a staff member", "Creates an admin, supervisor or child director and shows "
                                "their API token and Telegram link code once (only hashes are kept). Admins only."),
    ("GET", "/api/v1/staff/{staff_id}"): ("Read a staff member", "Their role, cohorts and whether Telegram is linked."),
    ("PATCH", "/api/v1/staff/{staff_id}"): ("Change a staff member", "Name, cohorts, phone, language, or "
                                            "deactivate them. Admins only."),
    ("POST", "/api/v1/staff/{staff_id}/token"): ("Issue a new API token", "The old token stops working at once; "
                                                 "the new one is shown once. Admins only."),
    ("POST", "/api/v1/staff/{staff_id}/link-code"): ("Issue a new link code", "A one-time code to link Telegram "
                                                     "(or sign in to the console), valid for some days. Admins only."),
    ("POST", "/api/v1/cohorts/{cohort_id}/invitations"): ("Create an invitation", "A code families join the cohort "
                                                          "with, as a link and a QR poster."),
    ("GET", "/api/v1/cohorts/{cohort_id}/invitations"): ("List invitations", "The cohort's invitation codes, "
                                                         "with how often each was used."),
    ("GET", "/api/v1/invitations/{invitation_id}"): ("Read an invitation", "One invitation with its deep link."),
    ("GET", "/api/v1/invitations/{invitation_id}/qr.png"): ("The invitation's QR code", "A PNG of the link "
                                                            "to the web enrolment page (`target=web`, the default: "
                                                            "scanned with WeChat or a camera, it works inside China) "
                                                            "or of the Telegram deep link (`target=telegram`), for a "
                                                            "poster (the console prints an A4 poster too)."),
    ("POST", "/api/v1/invitations/{invitation_id}/revoke"): ("Stop an invitation", "Nobody can join with it any "
                                                             "more; families already in stay."),
    ("GET", "/api/v1/cohorts/{cohort_id}/households"): ("List households", "The cohort's families with their "
                                                        "guardians and children. Audited."),
    ("GET", "/api/v1/households/{household_id}"): ("Read a household", "One family. Another cohort's is 404. Audited."),
    ("PATCH", "/api/v1/children/{child_id}"): ("Correct a child's details", "Nickname, birth month or sex. "
                                               "Directors and admins; audited."),
    ("POST", "/api/v1/guardians/{guardian_id}/web-link"): ("Make a guardian's sign-in link", "A one-time link "
                                                            "(and QR code) that signs this guardian in to the mobile "
                                                            "pages without an SMS code: single use, expiring, no "
                                                            "names in it. Your own cohorts only; audited."),
    ("GET", "/api/v1/lessons"): ("List lessons", "The lesson library, newest version of each."),
    ("POST", "/api/v1/lessons"): ("Add or change a lesson", "Checked like a content file; a changed text becomes a "
                                  "new version."),
    ("GET", "/api/v1/lessons/{lesson_id}"): ("Read a lesson", "Its newest version in every language."),
    ("GET", "/api/v1/lessons/{lesson_id}/versions/{version}"): ("Read a lesson version", "Exactly what was sent "
                                                                "then."),
    ("POST", "/api/v1/lessons/{lesson_id}/retire"): ("Retire a lesson", "It is not sent any more; the history stays."),
    ("GET", "/api/v1/programmes"): ("List programmes", "Ordered lesson sequences by audience and age."),
    ("POST", "/api/v1/programmes"): ("Create a programme", "An ordered list of lessons for an audience and age band."),
    ("GET", "/api/v1/programmes/{programme_id}"): ("Read a programme", "Its newest version."),
    ("PUT", "/api/v1/programmes/{programme_id}"): ("Change a programme", "A new version; families keep their place."),
    ("GET", "/api/v1/programmes/{programme_id}/versions/{version}"): ("Read a programme version", "As it was then."),
    ("POST", "/api/v1/programmes/{programme_id}/retire"): ("Retire a programme", "No new families start it."),
    ("GET", "/api/v1/questionnaires/{questionnaire_id}"): ("Read a questionnaire", "Its newest version: items, "
                                                           "scales, cut-offs and rules."),
    ("GET", "/api/v1/questionnaires/{questionnaire_id}/versions/{version}"): (
        "Read a questionnaire version", "The exact version an answer or alert refers to."),
    ("POST", "/api/v1/questionnaires/{questionnaire_id}/retire"): ("Retire a questionnaire", "It is not sent any more."),
    ("GET", "/api/v1/campaigns"): ("List campaigns", "One-off broadcasts (5·25, 10·10, school start) to your cohorts."),
    ("POST", "/api/v1/campaigns"): ("Plan a campaign", "A message or lesson sent once, on a date, to some cohorts."),
    ("GET", "/api/v1/campaigns/{campaign_id}"): ("Read a campaign", "With its messages counted by state."),
    ("POST", "/api/v1/campaigns/{campaign_id}/cancel"): ("Cancel a campaign", "Messages not yet sent are taken back."),
    ("GET", "/api/v1/cohorts/{cohort_id}/deliveries/stats"): ("Message statistics", "What happened to the cohort's "
                                                              "lessons and campaigns, and what families said of them."),
    ("GET", "/api/v1/alerts/{alert_id}"): ("Read an alert", "Why it fired and where it stands. Audited."),
    ("GET", "/api/v1/cases/{case_id}"): ("Read a case", "The case (一人一案) with its alerts and every step taken. "
                                         "Audited."),
    ("POST", "/api/v1/cases/{case_id}/notes"): ("Add a note to a case", "Words for the record; the family never "
                                                "sees them."),
    ("POST", "/api/v1/cases/{case_id}/contacts"): ("Log a call or home visit", "Recorded on the case and in the "
                                                   "family's timeline."),
    ("GET", "/api/v1/inbox/{item_id}"): ("Read an inbox item", "A family's messages and the replies. Audited."),
    ("POST", "/api/v1/inbox/{item_id}/call-noted"): ("Note that you called", "On the item and, as a call, in the "
                                                     "family's timeline."),
}

# (method, path) → {example name: {"summary": …, "value": …}}
EXAMPLES: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("POST", "/api/v1/cohorts"): {"village": {"summary": "A village", "value": {
        "name": "东岭村", "region": "甘肃 陇南", "timezone": "Asia/Shanghai", "default_locale": "zh-Hans"}}},
    ("POST", "/api/v1/staff"): {"director": {"summary": "A child director of cohort 1", "value": {
        "display_name": "王主任", "role": "director", "cohort_ids": [1], "primary_cohort_ids": [1]}},
        "supervisor": {"summary": "A county supervisor of cohorts 1 and 2", "value": {
            "display_name": "李督导", "role": "supervisor", "cohort_ids": [1, 2]}}},
    ("POST", "/api/v1/cohorts/{cohort_id}/invitations"): {"poster": {"summary": "A poster at the village office",
                                                                     "value": {"label": "村委会门口", "max_uses": 200}}},
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): {"safe": {"summary": "The child is safe", "value": {
        "outcome": "safe_now", "note": "上门看过，孩子在家，奶奶会多留意。"}}},
    ("POST", "/api/v1/cases/{case_id}/notes"): {"note": {"summary": "A note", "value": {"text": "和班主任通了电话。"}}},
    ("POST", "/api/v1/cases/{case_id}/contacts"): {"visit": {"summary": "A home visit", "value": {
        "method": "visit", "note": "孩子情绪好一些了。"}}},
    ("POST", "/api/v1/cases/{case_id}/referrals"): {"school": {"summary": "To the school counsellor", "value": {
        "to": "school_counsellor", "note": "请学校心理老师跟进。"}}},
    ("POST", "/api/v1/inbox/{item_id}/reply"): {"reply": {"summary": "A reply to a grandmother",
                                                          "value": {"text": "奶奶您好，明天上午我来家里看看。"}}},
}


def install(app: FastAPI) -> None:
    """/docs with local assets, and the table above merged into the OpenAPI document."""
    import fastapi_offline

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount(ASSETS_PATH, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs():  # noqa: ANN202
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title="Shouwang API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True, "defaultModelsExpandDepth": 0})

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                                 description=app.description, routes=app.routes)
            for path, operations in schema.get("paths", {}).items():
                for method, op in operations.items():
                    key = (method.upper(), path)
                    if key in OPERATIONS:
                        op["summary"], description = OPERATIONS[key]
                        op.setdefault("description", description)
                        if not op["description"]:
                            op["description"] = description
                    body = op.get("requestBody", {}).get("content", {}).get("application/json")
                    if body is not None and key in EXAMPLES:
                        body["examples"] = EXAMPLES[key]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
