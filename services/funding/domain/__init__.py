"""Funding's domain, pure: aggregates, the events they record, and the named errors of their rules.

One module per aggregate family: :mod:`.grants` (phases, grants and each
OSV's support history), :mod:`.rounds` (rounds, proposals, scoring) and
:mod:`.budgets` (participatory-budget submissions).
"""
