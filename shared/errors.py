"""Named errors the domains raise; the web layer maps each family to one status.

Pure Python: domain modules import these without pulling in any framework.
"""

from __future__ import annotations

from datetime import date


class DomainError(Exception):
    """Base of every business-rule error. ``field`` names the input at fault, if any."""

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.rule = rule


class NotFoundError(DomainError):
    """The thing named does not exist (404)."""


class ConflictError(DomainError):
    """The command contradicts the current state (409): twice, too late, already done."""


class RuleViolationError(DomainError):
    """The input breaks a business rule (422)."""


class DateBeforeError(RuleViolationError):
    """A date that would make a record's history go backwards: ``field`` is before ``earlier_field``."""

    def __init__(self, field: str, given: date, earlier_field: str, earlier: date) -> None:
        super().__init__(
            f"{field} {given.isoformat()} is before {earlier_field} {earlier.isoformat()}",
            field=field,
            rule=f"not_before_{earlier_field}",
        )
