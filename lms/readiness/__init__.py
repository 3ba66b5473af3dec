"""Enablement readiness: the rubric and tier rules from content/, pure scoring, gaps and
forecasts.

The pure core (facts, loader, scoring, gaps, forecast) touches no database: facts are
gathered for all organisations at once by set-based SQL elsewhere and passed in.
"""
