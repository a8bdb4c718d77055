"""Alerts: what a fired rule or a risk word becomes for the child director. raising.py opens
them (or adds a repeat to the open one); service.py reads them for staff, scoped and audited."""
