"""Registry's domain: the day an OSV was mapped, corrected. Pure.

A mapping's day is typed from a field form or a paper list, and typed wrong ("2024-11-03" for "2023-11-03"); it says in
which phase the programme identified the OSV (reporting's ``osvs_identified``), from when its meetings are overdue, and
that nothing of the OSV is dated before it. The correction is of a fact that was always so: every report made after it
counts the OSV in the corrected day's phase, past phases included (an ``as_of`` cut before it counts it as then known).
What registry holds of the OSV stays after its mapping: the corrected day is not after the first of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from eventsourcing.domain import Aggregate

from shared.errors import RuleViolationError


class MappedAfterError(RuleViolationError):
    """A mapping's day corrected to after something registry holds of the OSV (its RUOS papers, its registration…)."""

    def __init__(self, mapped_on: date, later_field: str, later: date, later_said: str) -> None:
        super().__init__(
            f"mapped_on {mapped_on.isoformat()} is after {later_said} on {later.isoformat()} ({later_field}): an OSV is mapped "
            "before what is recorded of it",
            field="mapped_on",
            rule=f"not_after_{later_field}",
        )


class MappingDateCorrections:
    """The OSV's mapping day corrected: a mixin of :class:`~.osvs.OSV`, one of its direct bases, so that its event is
    stored and published as the OSV's other events are (``OSV.OSVMappingDateCorrected``, as :class:`~.naming.NameCorrections`)."""

    mapped_on: date
    district: str
    zone: str

    class OSVMappingDateCorrected(Aggregate.Event):
        """The day the OSV was mapped was recorded wrong: ``mapped_on`` from now on, no longer ``previous_mapped_on``;
        ``corrected_on``: the day registry recorded it; ``district`` and ``zone``: where reporting counts it."""

        previous_mapped_on: date
        mapped_on: date
        corrected_on: date
        district: str
        zone: str

        def apply(self, aggregate: Any) -> None:
            aggregate.mapped_on = self.mapped_on

    def recorded_since_mapping(self) -> list[tuple[str, date, str]]:
        """What registry holds of the OSV dated from its mapping on, as (field, day, how a message says it): each a day of
        the OSV's life given by whoever recorded it. Its RUOS papers (``prepared_on``); each application's submission,
        observations, amendments and rejection; its registration (through an application or recorded directly), board
        renewals and changes of details (``updated_on``); the losses and returns of contact; and its dissolution.
        Not the days registry stamps on its own corrections (``corrected_on``, a deadline's ``moved_on``): they date a
        record, not the OSV's life.

        Of a kind recorded more than once, the first and the last day are both listed, whatever order they were recorded
        in: the earliest and latest change of details, the first loss and the current one, the last return of contact, each
        document's earliest and latest day (recorded again, tester 212 F4). The mapping-day correction goes by the first of
        them all, a dissolution by the last (:meth:`~.lifecycle.Lifecycle.dissolve`): before tester 212 F2 only the last
        change of details and the current loss were kept, and a mapping day was corrected past an earlier one."""
        recorded: list[tuple[str, date, str]] = []
        for document, days in self.documents_prepared.items():  # type: ignore[attr-defined]
            recorded.extend(("prepared_on", day, f"its {document} was prepared") for day in dict.fromkeys(days))
        for application in self.applications:  # type: ignore[attr-defined]
            recorded.append(("submitted_on", application.submitted_on, "its RUOS application was submitted"))
            for observation in application.observations:
                recorded.append(("observed_on", observation.observed_on, "its RUOS application was observed"))
                if observation.amended_on is not None:
                    recorded.append(("amended_on", observation.amended_on, "its RUOS application was amended"))
            if application.rejected_on is not None:
                recorded.append(("rejected_on", application.rejected_on, "its RUOS application was rejected"))
        for field, kept_as, said in (
            ("registered_on", "registered_on", "it was registered in the RUOS"),
            ("board_renewed_on", "board_renewed_on", "its board was renewed"),  # renewals go forward: the last
            ("updated_on", "details_first_updated_on", "its details were changed"),
            ("updated_on", "details_updated_on", "its details were changed"),
            ("contact_lost_since", "contact_first_lost_since", "contact with it was lost"),
            ("contact_lost_since", "contact_lost_since", "contact with it was lost"),
            ("contact_restored_on", "contact_last_restored_on", "contact with it was restored"),
            ("dissolved_on", "dissolved_on", "it dissolved"),
        ):
            day = getattr(self, kept_as)
            if day is not None and (field, day) not in {(f, d) for f, d, _ in recorded}:
                recorded.append((field, day, said))
        return recorded

    def correct_mapping_date(self, mapped_on: date, corrected_on: date, merged_in: Iterable[date] = ()) -> bool:
        """Record ``OSVMappingDateCorrected``; whether it did: the day it has already records nothing (a retry finds it
        done). 409 ``osv_not_merged`` on a record merged into another (its survivor is the organisation's record); 422
        ``not_after_<field>`` for a day after the first of what registry holds of it (:meth:`recorded_since_mapping`, and
        ``merged_in``: the days records were merged into it, ``merged_on``). The caller checks the day as any command's
        (not ahead of today in Lima, not before the earliest the programme records).

        Of a record merged into it, the day of the merge bounds it, not that record's own facts (tester 215 F4 looked
        for the gap a merge had with its dissolution): the merge was not dated before this OSV's mapping (the record
        was there to take the duplicate), so its mapping is not corrected past the merge; but the duplicate's papers
        and application are the history of the organisation's other mapping, often the earlier one, and this record
        may well have been mapped after them. The merge itself is no longer dated before them either
        (:meth:`~.lifecycle.Lifecycle.merge_into`)."""
        self.check_not_merged()  # type: ignore[attr-defined]
        if mapped_on == self.mapped_on:
            return False
        later = [*self.recorded_since_mapping(), *(("merged_on", day, "a record was merged into it") for day in merged_in)]
        if later:
            field, day, said = min(later, key=lambda recorded: recorded[1])
            if mapped_on > day:
                raise MappedAfterError(mapped_on, field, day, said)
        self.trigger_event(  # type: ignore[attr-defined]
            self.OSVMappingDateCorrected, previous_mapped_on=self.mapped_on, mapped_on=mapped_on, corrected_on=corrected_on,
            district=self.district, zone=self.zone,
        )
        return True
