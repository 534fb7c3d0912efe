"""Reporting's HTTP bodies: its health, the follow-up alerts, and the leads' targets and sign-offs.

The indicators' own answers are plain JSON documents (``GET /indicators``),
shaped by :mod:`services.reporting.domain.tally`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from services.reporting.domain.phasereports import (
    MAX_FIGURE,
    TargetMissingError,
    UnknownIndicatorError,
    money_parts,
    part_mistakes,
    parts_of,
)
from shared.health import MISSING_DISTRICTS, SourceHealth
from shared.schemas import MONEY_EXAMPLE, AsOf, Command, decimal_text_refusal


class ReportingHealth(BaseModel):
    status: str = Field(
        description="`ok`, or `degraded` when the read model cannot be reached (the answer is then a 503), "
        "NATS is unreachable, a consumer is failing, events are missing, or facts name districts its table lacks."
    )
    service: str
    store: str = Field(default="ok", description="`ok`, or `error: …` when the read model's database did not answer within the health timeout.")
    nats: str
    consumer_error: str | None = Field(description="The last error of any of the consumers (one per source's stream), if any.")
    parked: int = Field(description="Poison messages parked on the OSV_PARKED stream since the service started.")
    applied_positions: dict[str, int] = Field(
        description="Per source service, the floor: every event at or below this position is applied (or holds nothing to apply)."
    )
    sources: dict[str, SourceHealth] = Field(description="Per source: the floor, its feed, events fetched from it, and missing positions.")
    missing_districts: list[str] = Field(default_factory=list, description=MISSING_DISTRICTS)


class OverdueMeetingPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    osv_id: str = Field(description="The OSV's id.")
    name: str = Field(description="The OSV's name (an organisation, public).")
    district: str = Field(description="The OSV's district.")
    zone: str = Field(description="The district's zone.")
    last_met_on: date | None = Field(description="The day of the last follow-up meeting; null when it was never met.")
    counted_from: date = Field(description="The last meeting's day, or the day the OSV was mapped when never met.")
    days_without_meeting: int = Field(description="Days from `counted_from` to today.")


class BoardTermPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    osv_id: str = Field(description="The OSV's id.")
    name: str = Field(description="The OSV's name.")
    ruos_number: str = Field(description="The OSV's RUOS registration number.")
    term_ends_on: date = Field(description="When the board's term ends: from the registration, or the last renewal.")
    days_left: int = Field(description="Days from today to the term's end; negative once it ended.")
    status: Literal["ended", "expiring"] = Field(description="`ended`, or `expiring` within `within_days`.")
    municipality_id: str | None = Field(
        description='Whose RUOS holds the registration, whose focal point records the renewal: "mml" or the district\'s ubigeo '
        "(registry's `RUOSRegistered`; for one recorded directly before registrations named their municipality, the OSV's "
        "district's, as registry reads it). Null only when reporting's districts table lacks that district."
    )
    municipality_name: str | None = Field(description="That municipality's name, as `municipalities_without_focal_point` names it.")


class MissingFocalPointPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    municipality_id: str = Field(description='"mml" or the district\'s ubigeo.')
    name: str = Field(description="The municipality (for a district, the district's name).")
    zone: str | None = Field(description="The district's zone; null for the MML.")
    last_left_on: date | None = Field(description="When its last focal point left; null when it never had one.")


class RecordedAfterDissolutionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    osv_id: str = Field(description="The dissolved OSV's id.")
    name: str = Field(description="The dissolved OSV's name, as mapped.")
    district: str = Field(description="The dissolved OSV's district.")
    dissolved_on: date = Field(
        description="The day the OSV dissolved (registry's `OSVDissolved`): a fact dated that day is still the OSV's, and is not listed."
    )
    type: str = Field(
        description="The fact's event type (see the event catalogue): `FundGranted` (a grant, direct or from a proposal), "
        "`ProposalSubmitted`, `ProposalScored` (an evaluator's scoring), `ProposalApproved`, `DisbursementMade` (a tranche), `GoodsDelivered`, `ParticipatoryBudgetSubmitted`, "
        "`MemberJoined`, `MemberRoleChanged`, `ParticipantEnrolled`, `FollowUpMeetingHeld`, `TechnicalAssistanceGiven`, "
        "`ActivityReported` or `NeedsAssessed`. `ProposalSubmitted` and `ProposalScored`, the programme's deliberation, are "
        "listed to those who read proposals (staff, leads, auditors), never to a focal point."
    )
    date_field: str = Field(description="The fact's field that dates it (`granted_on`, `held_on`…; its `occurred_on`).")
    dated_on: date = Field(description="The fact's date: after `dissolved_on`.")
    amount: str | None = Field(
        description="The money the fact names, a decimal string in `currency`: granted, approved, a tranche paid, the value of goods "
        "handed over, or what a proposal or participatory-budget submission asked for; null for a fact about no money."
    )
    currency: str | None = Field(description="`PEN` or `USD`, the currency of `amount`; null when there is no amount.")
    event_id: str = Field(description="The fact's event, `<service>:<position>`, as that service's `GET /events` lists it.")
    merged_osv_id: str | None = Field(
        description="When the fact names a second record of the OSV, merged into it (`OSVMerged`), that record's id; "
        "null when it names the dissolved OSV itself."
    )
    merged_name: str | None = Field(
        default=None, description="That merged record's name, as registry mapped it; null when it names the dissolved OSV itself."
    )


class RecordedAfterMergePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    osv_id: str = Field(description="The OSV that stays: the one the record was merged into (merges followed to the last).")
    name: str = Field(description="That OSV's name, as mapped.")
    district: str = Field(description="That OSV's district: its focal point sees the item.")
    merged_osv_id: str = Field(description="The record the fact names, merged away (registry's `OSVMerged`).")
    merged_name: str | None = Field(description="That record's name, as registry mapped it.")
    merged_on: date = Field(description="The merge's `merged_on`.")
    merge_recorded_at: datetime = Field(description="When registry recorded the merge: from then on the record takes no new fact.")
    type: str = Field(
        description="The fact's event type: `FundGranted` (a grant, direct or from a proposal), `ProposalSubmitted`, "
        "`ParticipatoryBudgetSubmitted`, `MemberJoined`, `FollowUpMeetingHeld`, `TechnicalAssistanceGiven`, `ActivityReported` "
        "or `NeedsAssessed`: what funding and engagement refuse on a merged record whatever its date (409 `osv_not_merged`); "
        "`ProposalSubmitted` to those who read proposals alone."
    )
    date_field: str = Field(description="The fact's field that dates it (`granted_on`, `held_on`…; its `occurred_on`).")
    dated_on: date = Field(description="The fact's date: any, a backlog dated before the merge included.")
    recorded_at: datetime = Field(description="When funding or engagement recorded the fact: after `merge_recorded_at`.")
    amount: str | None = Field(description="As in `recorded_after_dissolution`: the money the fact names, a decimal string; null for none.")
    currency: str | None = Field(description="`PEN` or `USD`, the currency of `amount`; null when there is no amount.")
    event_id: str = Field(description="The fact's event, `<service>:<position>`, as that service's `GET /events` lists it.")


class AlertsPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    as_of: str | None = Field(
        description="The recorded-time cut the alerts were read at: the query's `as_of` in UTC (RFC 3339), as `GET /indicators`, "
        "`/targets` and `/sign-offs` state theirs; null for the latest (every fact recorded, counted to today)."
    )
    today: date = Field(description="The day (in Lima) the alerts are computed for: `as_of`'s, or today.")
    overdue_after_days: int = Field(description="An OSV is overdue after this many days without a meeting.")
    within_days: int = Field(description="A board term ending within this many days is flagged.")
    overdue_meetings: list[OverdueMeetingPublic] = Field(description="Active OSVs not met for too long, longest first.")
    board_terms: list[BoardTermPublic] = Field(
        description="Boards whose term ended or ends soon, soonest first: to a focal point, those of the OSVs registered in its "
        "municipality's RUOS (the MML's focal point: the MML's RUOS), whose renewals it records; to staff, leads and auditors, every one."
    )
    municipalities_without_focal_point: list[MissingFocalPointPublic] = Field(
        description="The MML and district municipalities with no current focal point."
    )
    recorded_after_dissolution: list[RecordedAfterDissolutionPublic] = Field(
        description="Facts dated after their OSV's dissolution, which funding and engagement refuse (409 `osv_not_dissolved`) once "
        "they know of it, and took meanwhile: they know of it from registry's `OSVDissolved`, a second or so later (longer while NATS "
        "is down), or the dissolution was recorded late, back-dated. An event store keeps what was taken: each stays listed for "
        "staff to follow up, but an activity engagement withdrew since (`ActivityWithdrawn`: reported by mistake), which leaves the "
        "list (as of a moment before its withdrawal, it is listed). A fact on a record merged into a dissolved OSV is judged by "
        "that OSV's dissolution. By the OSV's name, then the fact's date."
    )
    recorded_after_merge: list[RecordedAfterMergePublic] = Field(
        description="Facts recorded on an OSV record after registry recorded its merge into another, which funding and engagement "
        "refuse whatever their date (409 `osv_not_merged`, naming the OSV to record them on) once they know of the merge, and took "
        "meanwhile: they know of it from registry's `OSVMerged`, a second or so later (longer while NATS is down). Judged by the "
        "services' recorded times. Listed under the OSV that stays, for staff to record them there; one also dated after the "
        "dissolution that judges it is in `recorded_after_dissolution` alone, and an activity withdrawn since is not listed. By "
        "that OSV's name, then the fact's date."
    )


# The leads' phase reports: targets and sign-offs --------------------------------

FigurePart = Annotated[str, Field(min_length=1, max_length=60)]
_FIGURE_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)


def _figure_as_written(value: object) -> object:
    """A part's value as its JSON schema says: a JSON number, or a string of the digits 0-9 with a point ("1500.50"); what
    Python's ``Decimal`` takes beyond it ("-0", "+5", " 5", "5_000", "1e3", ".5", other scripts' digits) was taken and
    published ("-0.00" in the IATI file, tester 37c F3): 422 ``decimal_text``. ``true``/``false`` go on to pydantic's
    ``decimal_type``, as any value neither number nor string."""
    if isinstance(value, str) and (len(value) > 20 or not _FIGURE_TEXT.fullmatch(value)):
        raise PydanticCustomError(
            "decimal_text", 'must be a number: a string of the digits 0-9 and a point, such as "1500.50" (money is written so), '
            "or for a count or a rate a JSON number, such as 30 (at most 20 characters; no sign, exponent, spaces or separators)"
        )
    return value


FigureValue = Annotated[
    Decimal,
    BeforeValidator(_figure_as_written),
    Field(le=MAX_FIGURE),
    WithJsonSchema({"anyOf": [{"type": "number", "maximum": MAX_FIGURE}, {"type": "string", "maxLength": 20, "pattern": r"^\d+(\.\d+)?$"}]}),
]
"""A part's value: a count (whole, checked by the domain), an amount or a rate; never above a trillion."""
Figure = Annotated[dict[FigurePart, FigureValue], Field(max_length=40)]
"""A figure as parts (at most 40): a count up to everyone in Lima, an amount or a rate."""


class TargetsUpdate(Command):
    baseline: Figure = Field(
        default_factory=dict,
        description="The figure before the phase, as parts: `value` for a plain figure; `total`, `by_sex.F|M|X`, "
        "`by_nationality.VE|PE|other` for people; `total`, `first_time`, `repeat` for OSVs supported. Counts are whole numbers, "
        "money in the indicator's currency to the cent, a rate between 0 and 1 to 4 decimal places (more places: 422 `target_value`, never rounded). "
        "Money (`seed_funds_granted_pen`, `participatory_budget`'s `amount_funded_pen` and `amount_funded_usd`…) is a decimal string, as every amount the API "
        "takes (\"25000.00\"; a JSON number is 422 `decimal_text`); a count or a rate, a JSON number or a string of digits. "
        "Each part is a key of its own (`\"by_sex.F\": 60`; an object is 422 `indicator_part` naming the parts). "
        "A group of parts, shares of the total (`by_sex.*`, `by_nationality.*`; `first_time` with `repeat`), adds up to "
        "`total` at most, some may be left out (more: 422 `parts_within_total`, naming the group, as `baseline.by_sex`, or its one part given).",
    )
    target: Figure = Field(description="The figure the phase aims at, in the same parts as `baseline`; at least one part.")

    _sent: Mapping[str, Any] = PrivateAttr(default_factory=dict)
    """The body as it was sent (JSON numbers as numbers), for :meth:`money_written_as_numbers`."""

    @model_validator(mode="wrap")
    @classmethod
    def _keeping_what_was_sent(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        read = handler(data)
        if isinstance(data, Mapping):
            read._sent = data
        return read

    @property
    def sent(self) -> Mapping[str, Any]:
        """The body as it was sent: :func:`targets_body_mistakes` reads it."""
        return self._sent


def targets_body_mistakes(body: Mapping[str, Any], indicator: str) -> list[dict[str, Any]]:
    """Every mistake of a targets body as sent (valid to its schema or not) that needs the path's ``indicator`` to be
    told, as the errors of a :class:`fastapi.exceptions.RequestValidationError`: its money parts written as JSON numbers
    (:func:`money_written_as_numbers`), its parts that are not the indicator's (whatever their values: an object such as
    ``"by_sex": {"F": 60}`` is told the parts' names) or whose values are not what they are kept as, its groups of parts
    adding up to more than its total (:func:`~services.reporting.domain.phasereports.part_mistakes`), an empty target;
    all of them, with the schema's, in one 422 (tester 133 F3: one a round). None for an indicator of no such name: the
    route's 404."""
    try:
        allowed = parts_of(indicator)
    except UnknownIndicatorError:
        return []
    money = money_parts(indicator)
    refused = money_written_as_numbers(body, money)
    placed = {tuple(error["loc"]) for error in refused}
    for name in ("baseline", "target"):
        figure = body.get(name)
        if not isinstance(figure, Mapping):
            continue
        judged = {  # a value that is no number at all (true, an object, null) is the schema's to refuse, or money's rule's, but
            # a part the indicator lacks is told so whatever its value: "by_sex": {"F": 60} is told how its parts are written
            part: value for part, value in figure.items()
            if ("body", name, part) not in placed
            and (part not in allowed or isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool)))
        }
        for mistake in part_mistakes(indicator, name, judged):
            part = str(mistake.field).split(".", 1)[1]
            refused.append({"type": mistake.rule, "loc": ("body", name, part), "msg": mistake.message, "input": figure.get(part)})
    if isinstance(target := body.get("target"), Mapping) and not target:
        missing = TargetMissingError()
        refused.append({"type": missing.rule, "loc": ("body", "target"), "msg": missing.message, "input": target})
    return refused


def money_written_as_numbers(body: Mapping[str, Any], money: Collection[str]) -> list[dict[str, Any]]:
    """The parts among ``money`` (the indicator's money parts: :func:`~services.reporting.domain.phasereports.money_parts`)
    of a targets body as sent (``baseline``, ``target``) written as JSON numbers, each refused as every amount the API takes
    is (422 ``decimal_text``, :func:`shared.schemas.decimal_text_refusal`), as the errors of a
    :class:`fastapi.exceptions.RequestValidationError` naming ``baseline.<part>`` or ``target.<part>``; none when there are
    none. Read from the body itself, valid or not, so that a body with other mistakes gets these in the same 422."""
    refused = []
    for name in ("baseline", "target"):
        figure = body.get(name)
        if not isinstance(figure, Mapping):
            continue
        for part, value in figure.items():
            if part in money and not isinstance(value, str):  # a number, or no number at all (an object, null, true)
                if (refusal := decimal_text_refusal(value, MONEY_EXAMPLE)) is not None:
                    refused.append({"type": refusal.type, "loc": ("body", name, part), "msg": refusal.message(), "input": value})
    return refused


class SignOffCreate(Command):
    as_of: AsOf = Field(
        description="The recorded-time cut: sign the figures of the facts recorded by this moment (RFC 3339 with its offset), "
        "between 1970-01-01 and now, after the phase was opened (422 `phase_opened_by_cut` before) and after its last day "
        "in Lima (409 `phase_ended_by_cut` on or before it: a phase not ended, or not started, has no figures to sign yet)."
    )
