"""Check-ins: questionnaires answered by guardians, scored, and turned into alerts.

Pure parts (no I/O): scoring.py (answers → scale scores), rules.py (scores and answers → fired
rules with their evidence), risk.py (free text → risk-lexicon hits). service.py reads and writes
the rows around them: questionnaire versions, planning, answers, completion, expiry, alerts.
"""
