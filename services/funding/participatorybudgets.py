"""Participatory-budget submissions and the municipalities' decisions on them (the :class:`Funding` application's).

A mixin of :class:`~services.funding.application.Funding` (``self`` is the application: its store, its OSV directory,
its municipalities and scope checks), kept apart from :mod:`services.funding.application` by concern, as engagement's
field work is. The rules are the domain's (:mod:`services.funding.domain.budgets`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from services.funding.domain.budgets import (
    BudgetOutcome,
    OSVParticipatoryBudgets,
    ParticipatoryBudgetSubmission,
    SubmissionNotFoundError,
    SubmissionTakenError,
    submit_participatory_budget,
)
from shared.money import Currency
from shared.roles import ALL_LIMA, MunicipalScope
from shared.store import retried_on_collision


class ParticipatoryBudgets:
    """:class:`~services.funding.application.Funding`'s participatory budgets (a mixin: ``self`` is the application)."""

    @retried_on_collision
    def submit_participatory_budget(
        self,
        osv_id: UUID,
        municipality_id: str,
        cycle_year: int,
        project_title: str,
        amount_requested: Decimal,
        currency: Currency,
        submitted_on: date,
    ) -> ParticipatoryBudgetSubmission:
        """Record the OSV's project submitted to the participatory budget of its district's municipality or of the MML.

        422 ``lima_municipality`` when ``municipality_id`` names none of Lima's, 422 ``municipality_of_the_osv`` when
        it names another district's: that municipality's focal point and partner would never see the submission; 503
        ``osv_district_in_table`` when it is a district's ubigeo of Lima the table lacks while OSVs known here are in
        districts it lacks (another replica, or registry, has the fuller districts file).
        Submissions recorded before this rule stay as they were.
        """
        osv = self.osvs.require_active(osv_id, on=submitted_on, dated="submitted_on")
        district = self.osvs.district_ubigeo(osv.district)
        self.municipalities.require_here(
            municipality_id, self.districts_lacking, "funding"
        )  # 503 for a ubigeo it may lack
        municipality_id = self.municipalities.require_of_osv(
            municipality_id, district, "submits to the participatory budget of"
        ).id
        if ParticipatoryBudgetSubmission.id_for(osv_id, municipality_id, cycle_year) in self.repository:
            raise SubmissionTakenError(municipality_id, cycle_year)
        submission = submit_participatory_budget(
            osv_id,
            osv.registered_on,
            municipality_id,
            cycle_year,
            project_title,
            amount_requested,
            currency,
            submitted_on,
            self.municipalities,
        )
        index = self.find_participatory_budget_index(osv_id) or OSVParticipatoryBudgets(osv_id=osv_id)
        index.add(submission.id)
        self.save(submission, index)
        return submission

    @retried_on_collision
    def decide_participatory_budget(
        self, submission_id: UUID, outcome: BudgetOutcome, amount_funded: Decimal | None, decided_on: date
    ) -> ParticipatoryBudgetSubmission:
        submission = self.get_participatory_budget(submission_id)
        submission.decide(outcome, amount_funded, decided_on)
        self.save(submission)
        return submission

    def get_participatory_budget(
        self, submission_id: UUID, scope: MunicipalScope = ALL_LIMA
    ) -> ParticipatoryBudgetSubmission:
        """The submission; 404 when there is none or its OSV's municipality is outside ``scope``."""
        submission = self.load(submission_id, ParticipatoryBudgetSubmission, SubmissionNotFoundError)
        if not self.in_scope(submission.osv_id, scope):
            raise SubmissionNotFoundError(submission_id)
        return submission

    def participatory_budgets_of(
        self, osv_id: UUID, scope: MunicipalScope = ALL_LIMA
    ) -> list[ParticipatoryBudgetSubmission]:
        """The OSV's submissions, latest cycle first; none for an OSV outside ``scope``."""
        index = self.find_participatory_budget_index(osv_id) if self.in_scope(osv_id, scope) else None
        submissions = [self.get_participatory_budget(i) for i in index.submission_ids] if index else []
        return sorted(submissions, key=lambda s: (s.cycle_year, s.submitted_on), reverse=True)

    def list_participatory_budgets(self, scope: MunicipalScope = ALL_LIMA) -> list[ParticipatoryBudgetSubmission]:
        """Every submission of an OSV in ``scope`` (a focal point's district's OSVs, to their district's budget or the
        MML's), latest cycle first, then latest submitted: the programme records a few a cycle, not thousands."""
        submissions = (self.get_participatory_budget(i) for i in self.ids_created_by(ParticipatoryBudgetSubmission.ParticipatoryBudgetSubmitted))
        return sorted(
            (s for s in submissions if self.in_scope(s.osv_id, scope)), key=lambda s: (s.cycle_year, s.submitted_on), reverse=True
        )

    def find_participatory_budget_index(self, osv_id: UUID) -> OSVParticipatoryBudgets | None:
        return self.find(OSVParticipatoryBudgets.id_for(osv_id), OSVParticipatoryBudgets)
