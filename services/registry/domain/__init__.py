"""Registry's domain, pure: aggregates, the events they record, and the named errors of their rules.

One module per aggregate family: :mod:`.osvs` (the OSV and its RUOS
application), :mod:`.municipalities`, and the rules they use
(:mod:`.readiness`, :mod:`.workingdays`, :mod:`.deadlines`: the deadlines a
día no laborable decreed or revoked moves).
"""
