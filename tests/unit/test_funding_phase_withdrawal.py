"""A phase withdrawn as entered in error, in funding's domain alone (no store, no HTTP): the calendar frees its days and
keeps its code taken; the phase is withdrawn once, and not when a round was opened in it."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from services.funding.domain.phases import (
    PhaseCalendar,
    PhaseCodeTakenError,
    PhaseHoldsRoundsError,
    PhasesOverlapError,
    PhaseWithdrawalReason,
    PhaseWithdrawnError,
)

TODAY = date(2026, 11, 20)


def test_the_calendar_frees_a_withdrawn_phases_days_and_keeps_its_code_taken_whatever_its_case() -> None:
    calendar = PhaseCalendar()
    mistake = calendar.open_phase("Prueba", "Prueba", date(2026, 12, 1), date(2026, 12, 1))
    with pytest.raises(PhasesOverlapError):
        calendar.open_phase("F4", "Fase 4", date(2026, 12, 1), date(2027, 6, 30))

    mistake.withdraw(PhaseWithdrawalReason.ENTERED_IN_ERROR, None, [], today=TODAY)
    calendar.withdraw_phase(mistake.code)
    assert calendar.phases == [] and calendar.withdrawn_codes == ["Prueba"]
    calendar.open_phase("F4", "Fase 4", date(2026, 12, 1), date(2027, 6, 30))
    for code in ("Prueba", "PRUEBA"):
        with pytest.raises(PhaseCodeTakenError, match="withdrawn") as refused:
            calendar.open_phase(code, "Prueba", date(2030, 1, 1), date(2030, 1, 2))
        assert refused.value.rule == "unique_code" and refused.value.field == "code"


def test_a_phase_is_withdrawn_once_and_never_after_a_round_was_opened_in_it() -> None:
    calendar = PhaseCalendar()
    phase = calendar.open_phase("F1", "Fase 1", date(2021, 1, 1), date(2021, 12, 31))
    with pytest.raises(PhaseHoldsRoundsError, match="'Fondos semilla 2021'") as refused:
        phase.withdraw(PhaseWithdrawalReason.WRONG_DATES, None, ["Fondos semilla 2021"], today=TODAY)
    assert (refused.value.field, refused.value.rule) == ("phase_id", "phase_without_rounds") and phase.withdrawal is None

    withdrawal = phase.withdraw(PhaseWithdrawalReason.WRONG_DATES, "tecleado mal", [], today=TODAY)
    assert (withdrawal.reason, withdrawal.withdrawn_on, withdrawal.noted) == (PhaseWithdrawalReason.WRONG_DATES, TODAY, True)
    for again in (
        lambda: phase.withdraw(PhaseWithdrawalReason.DUPLICATE, None, [], today=TODAY),
        lambda: phase.enter_round(uuid4()),
    ):
        with pytest.raises(PhaseWithdrawnError) as refused_again:
            again()
        assert (refused_again.value.field, refused_again.value.rule) == ("phase_id", "phase_not_withdrawn")
    phase.check_note_to_forget()  # a note was written: there is one to forget
