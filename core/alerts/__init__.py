"""Alerts and cases: what a fired rule or a risk word becomes for the child director, and what
people do about it.

raising.py opens an alert (or adds a repeat to the open one) and its case; notify.py tells the
directors, reminds them, and escalates to supervisors and admins; cases.py is what staff do
(acknowledge, contact, refer, note, resolve, close, reopen, follow-up); queries.py and views.py
are what they read on the phone; outgoing.py what the outbox sends them; service.py, schemas.py
and reports.py serve the API (lists, cases, the screening funnel); policy.py a cohort's
deadlines and intervals; prompts.py a staff member's pending "type a note".
"""
