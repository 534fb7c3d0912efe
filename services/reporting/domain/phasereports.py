"""A phase's report as the programme's leads plan and sign it: targets per indicator, and sign-offs. Pure: no I/O.

These are reporting's own facts, the only ones it records: every other
figure it shows is projected from the other services' events. One
:class:`PhaseReport` per phase code holds

- the **targets**: per indicator, a baseline and a target, each as parts of
  the figure (``value`` for a plain figure; ``total``, ``by_sex.F``,
  ``by_nationality.VE``… for a disaggregated one; see :func:`parts_of`),
  recorded as ``TargetsSet`` each time a lead sets them;
- the **sign-offs**: the figures of the phase a lead signed, with the
  recorded-time cut they came from and their digest (:func:`digest_of`),
  recorded as ``PhaseSignedOff``. Facts learned later never change them; the
  application compares them with the current figures (a restatement).

Each event carries the moment it was recorded (``set_at``, ``signed_at``):
what was planned and signed "as of" a moment is read by it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.reporting.domain.indicators import BY_NAME, DERIVED, flatten
from shared.errors import NotFoundError, RuleViolationError, raise_first

CODES = {"by_sex": ("F", "M", "X"), "by_nationality": ("VE", "PE", "other")}
"""The codes a disaggregated part may take: the engagement service's sexes, and the practice's nationality groups."""


class UnknownIndicatorError(NotFoundError):
    def __init__(self, name: str) -> None:
        super().__init__(f"No indicator is called '{name}'.", field="indicator", rule="known_indicator")


class TargetPartError(RuleViolationError):
    def __init__(self, field: str, part: str, indicator: str, allowed: tuple[str, ...]) -> None:
        use = f"use {', '.join(allowed)}" if allowed else f"{indicator} takes no targets (its parts are open codes, such as reasons)"
        if coded := [name for name in allowed if name.startswith(f"{part}.")]:  # "by_sex": {"F": 60} (tester 171 F2)
            use = f"its parts are {', '.join(coded)}, each a key of its own (\"{coded[0]}\": 60), not an object; {use}"
        super().__init__(f"'{part}' is not a part of {indicator}: {use}", field=f"{field}.{part}", rule="indicator_part")


class TargetValueError(RuleViolationError):
    def __init__(self, field: str, value: object, expected: str) -> None:
        super().__init__(f"{value} is not {expected}", field=field, rule="target_value")


class TargetPartsAboveTotalError(RuleViolationError):
    """A group of parts (:func:`part_groups`) adding up to more than the figure's total: named by its one part given, or by
    the group (``target.by_sex``)."""

    def __init__(self, field: str, group: str, given: Mapping[str, str], total: str) -> None:
        if len(given) == 1:
            [(named, value)] = given.items()
            said = f"{named} is {value}"
        else:
            named, said = group, f"{' + '.join(given)} add up to {sum(Decimal(value) for value in given.values())}"
        super().__init__(
            f"{said}, more than the total, {total}: a group's parts are shares of the total and add up to it at most "
            "(some may be left out)",
            field=f"{field}.{named}",
            rule="parts_within_total",
        )


class TargetMissingError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__("a target needs at least one part", field="target", rule="not_empty")


class SignOffCutError(RuleViolationError):
    def __init__(self, cut: datetime, now: datetime) -> None:
        super().__init__(
            f"as_of {cut.isoformat()} is after now ({now.isoformat()}): sign off what was recorded", field="as_of", rule="not_in_future"
        )


SUB_COUNTS = frozenset({"new", "aggregate"})
"""Parts that say how much of the total is of a kind (agents of change new in the phase, direct beneficiaries
counted from totals only), not a disaggregation of it: no target sets them (and IATI's file leaves them out)."""


def parts_of(indicator: str) -> tuple[str, ...]:
    """The parts a target of this indicator may set: ``value``, or ``total``, ``by_sex.F``… (a part with open codes, none;
    no :data:`SUB_COUNTS` part)."""
    try:
        template = BY_NAME[indicator].template
    except KeyError:
        raise UnknownIndicatorError(indicator) from None
    if not isinstance(template, Mapping):
        return ("value",)
    out: list[str] = []
    for key, value in template.items():
        if key in SUB_COUNTS:
            continue
        if not isinstance(value, Mapping):
            out.append(key)
        else:
            out.extend(f"{key}.{code}" for code in CODES.get(key, ()))
    return tuple(out)


def money_parts(indicator: str) -> frozenset[str]:
    """The parts of the indicator's figure that are money, kept to the cent (``seed_funds_granted_pen``'s ``value``,
    ``participatory_budget``'s ``amount_funded_pen``); none for an indicator of counts or rates, or of no such name.
    On the way in, a money part is written as every amount is, a decimal string (:class:`~services.reporting.schemas.TargetsUpdate`)."""
    known = BY_NAME.get(indicator)
    template = known.template if known is not None else None
    if isinstance(template, Decimal):
        return frozenset({"value"})
    if isinstance(template, Mapping):
        return frozenset(part for part, value in template.items() if isinstance(value, Decimal))
    return frozenset()


def part_groups(indicator: str) -> dict[str, tuple[str, ...]]:
    """The groups of parts a target's ``total`` is split into, each adding up to it at most (422 ``parts_within_total``):
    one per disaggregation (``by_sex``: ``by_sex.F``, ``by_sex.M``, ``by_sex.X``), and the kinds the total is of, named by
    them (``first_time+repeat``: in a phase, an OSV supported is one of the two). None for a figure with no total that is
    a count or money: a plain figure, a rate (never added up), ``participatory_budget`` (submitted, accepted, funded are
    steps, not shares of one). :data:`SUB_COUNTS` are set by no target. :class:`UnknownIndicatorError` for no such name."""
    allowed = parts_of(indicator)
    template = BY_NAME[indicator].template
    if not isinstance(template, Mapping) or not _adds_up(template.get("total")):
        return {}
    groups: dict[str, tuple[str, ...]] = {}
    kinds = [part for part, value in template.items() if part in allowed and part != "total" and _adds_up(value)]
    for key, value in template.items():
        if isinstance(value, Mapping) and (coded := tuple(part for part in allowed if part.startswith(f"{key}."))):
            groups[key] = coded
    if kinds:
        groups["+".join(kinds)] = tuple(kinds)
    return groups


def _adds_up(template: object) -> bool:
    """Whether a part of this template is a count or money, which add up; a rate (``"0.0000"``) does not."""
    return isinstance(template, int | Decimal) and not isinstance(template, bool)


MAX_FIGURE = 10**12
"""A part's value is a trillion at most: the schema's bound (422 ``at_most_1000000000000``). A part above it is refused
there alone, and left out of its group's sum (told "more than the total" instead of its bound: tester 176 F3)."""
RATE_PLACES = Decimal("0.0001")
"""A rate's target or baseline is kept to 4 decimal places (0.3333); one given with more is refused, never rounded."""
CENTS = Decimal("0.01")


def checked_parts(indicator: str, field: str, given: Mapping[str, Any]) -> dict[str, str]:
    """A baseline's or target's parts, checked and written as the figures are: counts as integers, money with 2 places, a rate in [0, 1]
    with 4; a figure with more places than it is kept with is refused (422 ``target_value``), never rounded, and a group of
    parts adding up to more than the total (422 ``parts_within_total``). The first of :func:`part_mistakes` is raised."""
    raise_first(part_mistakes(indicator, field, given))
    return {part: _part_written(indicator, field, part, raw) for part, raw in given.items()}


def part_mistakes(indicator: str, field: str, given: Mapping[str, Any]) -> Iterator[RuleViolationError]:
    """Every part of ``given`` (``field``: ``baseline`` or ``target``) that is not one of the indicator's, or whose value is
    not what it is kept as (422 ``indicator_part``, ``target_value``), one each, then every group of its parts adding up to
    more than its total (422 ``parts_within_total``, :func:`part_groups`; of the parts whose values were taken): the API
    lists them all in one answer (tester 133 F3: one a round). :class:`UnknownIndicatorError` for an indicator of no such name."""
    written: dict[str, str] = {}
    for part, raw in given.items():
        try:
            written[part] = _part_written(indicator, field, part, raw)
        except RuleViolationError as mistake:
            yield mistake
    if (total := written.get("total")) is None:
        return
    for group, parts in part_groups(indicator).items():
        shares = {part: written[part] for part in parts if part in written and Decimal(written[part]) <= MAX_FIGURE}
        if sum(Decimal(value) for value in shares.values()) > Decimal(total):
            yield TargetPartsAboveTotalError(field, group, shares, total)


def _part_written(indicator: str, field: str, part: str, raw: object) -> str:
    """One part's value as the figures write it, or its mistake raised (:func:`checked_parts`)."""
    allowed = parts_of(indicator)
    if part not in allowed:
        raise TargetPartError(field, part, indicator, allowed)
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise TargetValueError(f"{field}.{part}", raw, "a number") from None
    if isinstance(raw, bool) or not value.is_finite() or value.is_signed():  # -0 too: it was published as "-0.00"
        raise TargetValueError(f"{field}.{part}", raw, "a number of zero or more")
    if value > MAX_FIGURE:  # the schema's to refuse, alone (its bound, or decimal_text past 20 characters); past 28 digits
        return str(value)  # a decimal cannot even be cut to the cent: that was a 500 (tester 233 F2)
    if BY_NAME[indicator].kind == DERIVED:
        if value > 1:
            raise TargetValueError(f"{field}.{part}", raw, "a rate between 0 and 1")
        if value != value.quantize(RATE_PLACES):  # 1e-7 was kept as 0.0000 (tester 36d F4)
            raise TargetValueError(f"{field}.{part}", raw, "a rate of at most 4 decimal places, as it is kept")
        return str(value.quantize(RATE_PLACES))
    if part in money_parts(indicator):
        if value != value.quantize(CENTS):
            raise TargetValueError(f"{field}.{part}", raw, "an amount of at most 2 decimal places (cents), as it is kept")
        return f"{value:.2f}"
    if value != value.to_integral_value():
        raise TargetValueError(f"{field}.{part}", raw, "a whole number (it counts people or things)")
    return str(int(value))


def parts_as_figures(indicator: str, parts: Mapping[str, str]) -> dict[str, int | str]:
    """A baseline's or target's parts (as kept: decimal strings) written as the indicator's figures are: a count as a JSON
    integer, money (PEN or USD, 2 places) and a rate (4 places) as the decimal strings they are kept as. A target of
    ``"100"`` people beside an actual of ``28`` had a client compare a string with a number (tester 218 F3)."""
    kept_as_text = BY_NAME[indicator].kind == DERIVED
    money = money_parts(indicator)
    return {part: value if kept_as_text or part in money else int(value) for part, value in parts.items()}


def share_reached(actual: Any, target: Mapping[str, str]) -> dict[str, str | None]:
    """Per part of the target, the actual over the target, 4 places; None where the target is 0."""
    parts = flatten(actual)
    out: dict[str, str | None] = {}
    for part, aim in target.items():
        goal = Decimal(aim)
        have = Decimal(str(parts.get(part, 0)))
        out[part] = None if goal == 0 else str((have / goal).quantize(Decimal("0.0001")))
    return out


def digest_of(phase: str, cut: datetime, figures: Mapping[str, Any]) -> str:
    """SHA-256 (hex) over the phase's code, the cut (UTC, RFC 3339) and its figures, as canonical JSON (keys sorted, no spaces)."""
    text = json.dumps({"phase": phase, "cut": utc_text(cut), "figures": figures}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def as_signed(signed: Mapping[str, Any], figures: Mapping[str, Any]) -> dict[str, Any]:
    """A phase's ``figures`` (``GET /indicators``' ``indicators``) in the shape of the ``signed`` ones: each part an
    indicator's signed figure lacks altogether is left out (a disaggregation added after the sign-off, such as
    ``members_joined``'s and ``members_left``'s ``by_sex``, tester 184 F5). What the lead never signed is neither a
    restatement nor a reason the cut no longer reproduces the sign-off; a part signed empty (``"by_sex": {}``) is kept."""
    out = dict(figures)
    for name, figure in figures.items():
        then = signed.get(name)
        if isinstance(figure, Mapping) and isinstance(then, Mapping):
            out[name] = {part: value for part, value in figure.items() if part in then}
    return out


def intact(signed: Mapping[str, Any]) -> bool:
    """Whether a recorded sign-off's figures, with its phase and cut, still give its own ``digest`` (:func:`digest_of`).

    False for a sign-off changed in the store after it was signed (its figures, cut or digest): its figures are
    then not the ones the lead signed, and no difference from them is a restatement.
    """
    try:
        return digest_of(signed["phase"], signed["cut"], signed["figures"]) == signed["digest"]
    except (KeyError, TypeError, ValueError, AttributeError):  # a record too damaged to recompute: not intact either
        return False


def utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class PhaseReport(Aggregate):
    """A phase's targets and sign-offs. Its id follows from the phase's code (:meth:`id_for`)."""

    @staticmethod
    def create_id(phase: str, **_: object) -> UUID:
        return PhaseReport.id_for(phase)

    @staticmethod
    def id_for(phase: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"urn:osv-platform:phase-report:{phase}")

    @event("PhaseReportStarted")
    def __init__(self, phase: str) -> None:
        self.phase = phase
        self.targets: list[dict[str, Any]] = []
        self.sign_offs: list[dict[str, Any]] = []

    def set_targets(self, indicator: str, baseline: Mapping[str, Any], target: Mapping[str, Any], set_by: str, set_at: datetime) -> bool:
        """Check and record an indicator's baseline and target (``TargetsSet``); False when they are already so (nothing recorded)."""
        base, aim = checked_parts(indicator, "baseline", baseline), checked_parts(indicator, "target", target)
        if not aim:
            raise TargetMissingError
        current = self.targets_as_of(None).get(indicator)
        if current is not None and (current["baseline"], current["target"]) == (base, aim):
            return False
        self._targets_set(indicator=indicator, baseline=base, target=aim, set_by=set_by, set_at=set_at)
        return True

    @event("TargetsSet")
    def _targets_set(self, indicator: str, baseline: dict[str, str], target: dict[str, str], set_by: str, set_at: datetime) -> None:
        self.targets.append({"indicator": indicator, "baseline": baseline, "target": target, "set_by": set_by, "set_at": set_at})

    def targets_as_of(self, moment: datetime | None) -> dict[str, dict[str, Any]]:
        """Each indicator's latest targets set by ``moment`` (all, if None)."""
        out: dict[str, dict[str, Any]] = {}
        for targets in self.targets:
            if moment is None or targets["set_at"] <= moment:
                out[targets["indicator"]] = targets
        return out

    def sign_off(self, cut: datetime, figures: Mapping[str, Any], signed_by: str, signed_at: datetime) -> dict[str, Any]:
        """Record the phase's figures from the facts recorded by ``cut`` as signed (``PhaseSignedOff``), with their digest.

        Signing the same figures from the same cut again records nothing and
        answers the first sign-off: a retried request never signs twice.
        """
        if cut > signed_at:
            raise SignOffCutError(cut, signed_at)
        digest = digest_of(self.phase, cut, figures)
        for signed in self.sign_offs:
            if signed["digest"] == digest:
                return signed
        self._signed_off(cut=cut, figures=dict(figures), digest=digest, signed_by=signed_by, signed_at=signed_at)
        return self.sign_offs[-1]

    @event("PhaseSignedOff")
    def _signed_off(self, cut: datetime, figures: dict[str, Any], digest: str, signed_by: str, signed_at: datetime) -> None:
        self.sign_offs.append({"phase": self.phase, "cut": cut, "figures": figures, "digest": digest, "signed_by": signed_by,
                               "signed_at": signed_at})

    def sign_offs_as_of(self, moment: datetime | None) -> list[dict[str, Any]]:
        """The sign-offs recorded by ``moment`` (all, if None), oldest first."""
        return [s for s in self.sign_offs if moment is None or s["signed_at"] <= moment]

    def standing_sign_off(self, moment: datetime | None) -> dict[str, Any] | None:
        """The phase's sign-off as of ``moment`` (now, if None), the one a donor is given (the IATI file's): of those
        recorded by then, the one from the latest cut; of several from one cut, the one signed last. None before any.

        Not the one signed last: a lead who signs an older cut again, to reproduce a report given out before, would
        have every reader told the phase's figures as of that older cut from then on (tester 271 F3)."""
        signed = self.sign_offs_as_of(moment)
        return max(reversed(signed), key=lambda s: s["cut"], default=None)
