"""Engagement's domain, pure: aggregates, the events they record, and the named errors of their rules.

One module per aggregate family: :mod:`.members` (people, memberships,
participations, the document index and each OSV's roster) and
:mod:`.followup` (follow-up, activities, needs).
"""
