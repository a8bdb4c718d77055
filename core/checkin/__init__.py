"""Check-ins: questionnaires answered by guardians, scored, and turned into alerts.

Pure parts (no I/O): schedule.py (a cohort's calendar → slots and cycle keys), scoring.py
(answers → scale scores), rules.py (scores and answers → fired rules with their evidence),
risk.py (free text → risk-lexicon hits), views.py (what a guardian sees of a question).

Over the database: service.py (questionnaire versions, opening check-ins, answers, completion,
expiry), planning.py (the tick: rounds, reminders, expiry notices), outgoing.py (what the outbox
sends for a check-in), conversation.py (a guardian answering, step by step, for the bot),
free_text.py (notes and messages scanned for risk), safety.py (the safety message), suggest.py
(a fitting lesson), authoring.py and history.py (the API's questionnaires and histories).
"""
