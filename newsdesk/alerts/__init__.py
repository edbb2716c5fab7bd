"""Alerts on saved views: a new matching story, or a story spreading to N outlets, countries or languages."""
