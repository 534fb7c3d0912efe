"""A programme's events as the services publish them, generated: two years of mappings, RUOS steps, grants, members,
corrections and merges, recorded up to months late (:func:`programme_log`), and delivered as NATS might
(:func:`arriving_out_of_order`); for the tests that compare reporting's checkpointed reports with a full recomputation."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from shared.clock import LIMA

DISTRICTS = [("Comas", "Lima Norte"), ("Los Olivos", "Lima Norte"), ("Ate", "Lima Este"), ("San Juan de Lurigancho", "Lima Este"),
             ("Villa El Salvador", "Lima Sur"), ("Chorrillos", "Lima Sur"), ("Breña", "Lima Centro"), ("La Victoria", "Lima Centro")]
START = datetime(2021, 1, 4, 9, tzinfo=timezone.utc)

STRESSED = {"merges": 0.04, "corrections": 0.03, "joinings": 0.03, "ahead": 0.2}
"""The stress case of helper 283 (``test_reporting_as_of_corrections``): every kind of fact that reaches back, dated
ahead a fifth of the time."""


def cloudevent(source: str, position: int, event_type: str, subject: str, time: datetime, /, **data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"{source}:{position}",
        "source": f"urn:osv-platform:{source}",
        "type": event_type,
        "subject": subject,
        "time": time.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "position": position,
        "data": data,
    }


def programme_log(
    count: int, seed: int = 1, merges: float = 0.0, corrections: float = 0.0, joinings: float = 0.0, ahead: float = 0.0,
    withdrawals: float = 0.0,
) -> list[dict[str, Any]]:
    """A programme's events as the services would publish them, recorded over two years, facts entered up to months late.

    Causal order holds (an OSV is mapped before anyone speaks of it, an
    activity is reported before it is withdrawn); phase 2 is opened months
    after facts in it were recorded. With ``merges``, that share of the steps
    merges an OSV into another (drawn apart: the other steps are as without);
    funding and engagement go on with what the record holds (tranches,
    departures, withdrawals). With ``corrections``, that share of the steps rectifies a member's nationality or sex
    (drawn apart too): engagement's ``MemberNationalityCorrected`` or ``MemberSexCorrected``, the member's later facts
    carrying the corrected value. With ``joinings``, that share of the steps moves a membership's joining date back
    (``MemberJoiningDateCorrected``, drawn apart too: a paper list typed in with the typing day), later corrections
    carrying the corrected day. With ``ahead``, that share of the facts is dated the day after the one it is recorded
    on in Lima (drawn apart too), as the date rule's day of margin lets staff date a joining or a grant. With
    ``withdrawals``, that share of the steps withdraws an RUOS observation entered in error (``RUOSObservationWithdrawn``,
    drawn apart too: one observation not withdrawn yet of an OSV not merged away, as registry takes it, dated the day it
    is recorded on).

    Projects enrol as engagement and funding let them (:func:`enrollable`), never what they refuse: the stress case
    ``programme_log(1200, seed=103, merges=0.04, corrections=0.03, joinings=0.03, ahead=0.2)`` once enrolled a member
    twice in one project, and a checkpoint's report counted them in a phase the full fold did not (helper 283). Whom
    and in which project, and whom a withdrawal ends, are drawn apart: the other steps are as when any member
    enrolled in any project. Grants are paid out as funding takes it (``paid_out``): it paid tranches and goods after a
    closing, on the other kind of grant, beyond the grant and in another currency (session 65's note).
    """
    rng = random.Random(seed)
    merging = random.Random(seed + 1)
    correcting = random.Random(seed + 2)
    moving = random.Random(seed + 3)
    dating = random.Random(seed + 4)
    enrolling = random.Random(seed + 5)
    withdrawing = random.Random(seed + 6)
    places: dict[str, tuple[str, str, str]] = {}
    positions = {"registry": 0, "funding": 0, "engagement": 0}
    out: list[dict[str, Any]] = []
    now = START
    ids = iter(range(10**9))

    def new_id(prefix: str) -> str:
        return f"{prefix}-{next(ids)}"

    def emit(source: str, event_type: str, subject: str, /, **data: Any) -> None:
        positions[source] += 1
        out.append(cloudevent(source, positions[source], event_type, subject, now, **data))

    def day() -> str:
        if ahead and dating.random() < ahead:
            return (now.astimezone(LIMA).date() + timedelta(days=1)).isoformat()
        lag = rng.choice([0, 0, 1, 3, 10, 40]) if rng.random() > 0.03 else 150  # a few facts entered very late
        return max(date(2021, 1, 1), (now - timedelta(days=lag)).date()).isoformat()

    def phase(code: str, starts: str, ends: str) -> None:
        emit("funding", "PhaseOpened", new_id("phase"), phase_id=new_id("phase"), code=code, name=f"Fase {code}",
             starts_on=starts, ends_on=ends, occurred_on=starts)

    def paid_out(grant: str, osv: str, on: str) -> None:
        """A payout as funding takes it (:meth:`~services.funding.domain.grants.Grant.disburse`, ``deliver_goods``): the
        next tranche of a seed fund, goods of a goods grant (422 ``seed_fund_grant``, ``goods_grant``), on a grant not
        closed (409 ``grant_open``), within its amount and in its currency (409 ``within_grant_amount``), not before the
        grant nor its last payout (422 ``not_before_granted_on``, ``not_before_previous_tranche``); none when it would
        not be taken."""
        kind, granted_on = granted[grant]
        amount, currency = terms[grant]
        value = Decimal("500.00") if kind == "seed_fund" else Decimal("120.00")
        tranches, last = payouts.get(grant, ((), granted_on))
        if grant in closings or sum(tranches, Decimal("0.00")) + value > amount:
            return
        on = max(on, last)
        payouts[grant] = ((*tranches, value), on)
        if kind == "seed_fund":
            emit("funding", "DisbursementMade", grant, grant_id=grant, osv_id=osv, disbursement_id=new_id("d"),
                 tranche=len(tranches) + 1, amount=str(value), currency=currency, disbursed_on=on, occurred_on=on)
        else:
            emit("funding", "GoodsDelivered", grant, grant_id=grant, osv_id=osv, delivery_id=new_id("g"),
                 items=[{"item": "paint", "quantity": 3, "unit_value": "40.00"}], total_value=str(value), currency=currency,
                 delivered_on=on, occurred_on=on)

    phase("F1", "2021-01-01", "2021-06-30")
    osvs: list[str] = []
    registered: set[str] = set()
    observations: list[tuple[str, str, str, list[str]]] = []  # osv, application, observed on, reasons: not withdrawn yet
    members: list[tuple[str, str, str, str]] = []
    joined: dict[str, str] = {}
    departed: list[tuple[str, str, str, str, str]] = []  # member, osv, nationality, sex, left on
    grants: list[tuple[str, str]] = []
    granted: dict[str, tuple[str, str]] = {}  # grant -> its kind, granted on
    closings: dict[str, str] = {}  # grant -> closed on
    terms: dict[str, tuple[Decimal, str]] = {}  # grant -> its amount and currency
    payouts: dict[str, tuple[tuple[Decimal, ...], str]] = {}  # grant -> its tranches' or deliveries' values, the last one's day
    participations: list[tuple[str, str, str, str, str]] = []
    enrolments: dict[tuple[str, str], str] = {}  # (member, grant) -> enrolled on: once, whatever came after
    drawn = 0  # the participations the steps draw from, as when any member enrolled in any project: the draws stay as they were
    activities: list[tuple[str, str, str]] = []
    actions: list[tuple[str, str]] = []
    submissions: list[tuple[str, str]] = []
    currencies: dict[str, str] = {}  # each submission's: every other one in dollars
    phase_two_opened = False
    while len(out) < count:
        now += timedelta(minutes=rng.randrange(30, 900))
        if not phase_two_opened and now > datetime(2021, 9, 15, tzinfo=timezone.utc):
            phase("F2", "2021-07-01", "2021-12-31")
            phase_two_opened = True
            continue
        if merges and len(osvs) > 4 and merging.random() < merges:
            duplicate, survivor = merging.sample(osvs, 2)
            osvs.remove(duplicate)
            district, zone, mapped_on = places[duplicate]
            emit("registry", "OSVMerged", duplicate, osv_id=duplicate, into_osv_id=survivor, merged_on=now.date().isoformat(),
                 district=district, zone=zone, mapped_on=mapped_on, occurred_on=now.date().isoformat())
            continue
        if corrections and len(members) + len(departed) > 4 and correcting.random() < corrections:
            who = correcting.randrange(len(members) + len(departed))
            member, osv, nationality, sex, *gone = members[who] if who < len(members) else departed[who - len(members)]
            today = now.date().isoformat()
            which = {"member_id": member, "membership_id": member, "osv_id": osv, "joined_on": joined[member],
                     "left_on": gone[0] if gone else None, "corrected_on": today, "occurred_on": today}
            if correcting.random() < 0.6:
                corrected = correcting.choice([n for n in ("VE", "PE", "CO", "EC") if n != nationality])
                emit("engagement", "MemberNationalityCorrected", member, previous_nationality=nationality, nationality=corrected, **which)
                nationality = corrected
            else:
                corrected = "F" if sex == "M" else "M"
                emit("engagement", "MemberSexCorrected", member, previous_sex=sex, sex=corrected, **which)
                sex = corrected
            if who < len(members):
                members[who] = (member, osv, nationality, sex)
            else:
                departed[who - len(members)] = (member, osv, nationality, sex, *gone)
            participations[:] = [(m, g, o, nationality, sex) if m == member else (m, g, o, n, s) for m, g, o, n, s in participations]
            continue
        if joinings and members and moving.random() < joinings:
            member, osv, nationality, sex = moving.choice(members)
            was = date.fromisoformat(joined[member])
            corrected_on = max(date(2021, 1, 1), was - timedelta(days=moving.randrange(1, 200)))
            if corrected_on < was:
                today = now.date().isoformat()
                emit("engagement", "MemberJoiningDateCorrected", member, member_id=member, membership_id=member, osv_id=osv,
                     previous_joined_on=was.isoformat(), joined_on=corrected_on.isoformat(), left_on=None,
                     nationality=nationality, sex=sex, corrected_on=today, occurred_on=today)
                joined[member] = corrected_on.isoformat()
            continue
        standing = [o for o in observations if o[0] in osvs]  # registry takes nothing on a record merged away
        if withdrawals and standing and withdrawing.random() < withdrawals:
            osv, application, observed_on, reasons = withdrawing.choice(standing)
            observations.remove((osv, application, observed_on, reasons))
            today = now.date().isoformat()
            emit("registry", "RUOSObservationWithdrawn", osv, osv_id=osv, application_id=application, municipality_id="150110",
                 observed_on=observed_on, observation_reasons=reasons, status="submitted", withdrawn_on=today, occurred_on=today)
            continue
        roll = rng.random()
        on = day()
        if roll < 0.12 or len(osvs) < 3:
            osv = new_id("osv")
            district, zone = rng.choice(DISTRICTS)
            emit("registry", "OSVMapped", osv, osv_id=osv, name="OSV", district=district, zone=zone, mapped_on=on, occurred_on=on)
            osvs.append(osv)
            places[osv] = (district, zone, on)
        elif roll < 0.17:
            osv = rng.choice(osvs)
            if osv not in registered:
                registered.add(osv)
                emit("registry", "RUOSRegistered", osv, osv_id=osv, ruos_number=new_id("R"), registered_on=on, occurred_on=on)
            else:
                application, reasons = new_id("app"), rng.sample(["missing_minutes", "board_incomplete", "id_document_refused"], rng.randint(1, 2))
                emit("registry", "RUOSApplicationObserved", osv, osv_id=osv, application_id=application, observed_on=on,
                     reasons=reasons, amend_by=on, occurred_on=on)
                observations.append((osv, application, on, reasons))
        elif roll < 0.19:
            osv = rng.choice(osvs)
            emit("registry", "ContactLost" if rng.random() < 0.8 else "OSVDissolved", osv, osv_id=osv, since=on,
                 dissolved_on=on, occurred_on=on)
        elif roll < 0.27:
            osv, grant = rng.choice(osvs), new_id("grant")
            kind = "seed_fund" if rng.random() < 0.7 else "goods"
            amount, currency = rng.choice(["1500.00", "800.50"]), "PEN" if rng.random() < 0.8 else "USD"
            emit("funding", "FundGranted", grant, grant_id=grant, osv_id=osv, amount=amount, currency=currency, kind=kind,
                 granted_on=on, proposal_id=None, round_id=None, support="first_time", occurred_on=on)
            grants.append((grant, osv))
            granted[grant] = (kind, on)
            terms[grant] = (Decimal(amount), currency)
        elif roll < 0.31 and grants:
            grant, osv = rng.choice(grants)
            which = rng.random()
            if which < 0.7:
                if which >= 0.4:
                    rng.choice(["PEN", "USD"])  # a delivery's currency was drawn: the draws stay as they were
                paid_out(grant, osv, on)
            elif grant not in closings:  # funding closes a grant once (409 ``grant_open``)
                # not before the grant, its last tranche or delivery, nor its project's last enrolment (422
                # ``not_before_granted_on``, ``not_before_last_record``, 409 ``closed_after_enrolments``)
                on = max([on, payouts.get(grant, ((), granted[grant][1]))[1], *(day for (_, g), day in enrolments.items() if g == grant)])
                closings[grant] = on
                emit("funding", "GrantClosed", grant, grant_id=grant, osv_id=osv, outcome="completed",
                     final_report_reference="FR-1", closed_on=on, occurred_on=on)
        elif roll < 0.33:
            osv = rng.choice(osvs)
            if submissions and rng.random() < 0.5:
                submission, osv = rng.choice(submissions)
                outcome = rng.choice(["accepted", "not_accepted", "funded"])
                emit("funding", "ParticipatoryBudgetDecided", submission, submission_id=submission, osv_id=osv,
                     municipality_id="mml", cycle_year=2021, outcome=outcome,
                     amount_funded="2000.00" if outcome == "funded" else None, currency=currencies[submission], decided_on=on,
                     occurred_on=on)
            else:
                submission = new_id("pb")
                submissions.append((submission, osv))
                currencies[submission] = "USD" if len(submissions) % 2 else "PEN"  # not drawn: the draws stay as they were
                emit("funding", "ParticipatoryBudgetSubmitted", submission, submission_id=submission, osv_id=osv,
                     municipality_id="mml", cycle_year=2021, project_title="Parque", amount_requested="3000.00",
                     currency=currencies[submission], submitted_on=on, occurred_on=on)
        elif roll < 0.50:
            osv, member = rng.choice(osvs), new_id("member")
            nationality, sex = rng.choice(["VE", "VE", "PE", "CO"]), rng.choice(["F", "M"])
            if members and rng.random() < 0.25:
                member, osv, nationality, sex = members.pop(rng.randrange(len(members)))
                departed.append((member, osv, nationality, sex, on))
                emit("engagement", "MemberLeft", member, member_id=member, membership_id=member, osv_id=osv, nationality=nationality,
                     sex=sex, age_band="30-44", left_on=on, reason=rng.choice(["moved_abroad", "withdrew", "other"]), occurred_on=on)
            else:
                members.append((member, osv, nationality, sex))
                joined[member] = on
                emit("engagement", "MemberJoined", member, member_id=member, membership_id=member, osv_id=osv, role="member",
                     nationality=nationality, sex=sex, age_band="30-44", joined_on=on, occurred_on=on)
        elif roll < 0.60 and members and grants:
            if drawn and rng.random() < 0.3:
                rng.randrange(drawn)
                drawn -= 1
                if not participations:
                    continue
                member, grant, osv, nationality, sex = participations.pop(enrolling.randrange(len(participations)))
                on = max(on, enrolments[(member, grant)])  # not before the enrolment (422 ``not_before_enrolled_on``)
                emit("engagement", "ParticipantWithdrew", member, member_id=member, grant_id=grant, osv_id=osv,
                     nationality=nationality, sex=sex, age_band="30-44", withdrew_on=on, occurred_on=on)
            else:
                rng.choice(members), rng.choice(grants)
                drawn += 1
                pairs = enrollable(members, grants, granted, closings, enrolments)
                if not pairs:
                    continue
                (member, _, nationality, sex), (grant, osv) = enrolling.choice(pairs)
                on = max(on, granted[grant][1], joined[member])  # 422 ``not_before_granted_on``, ``not_before_joined_on``
                enrolments[(member, grant)] = on
                participations.append((member, grant, osv, nationality, sex))
                emit("engagement", "ParticipantEnrolled", member, member_id=member, grant_id=grant, osv_id=osv,
                     nationality=nationality, sex=sex, age_band="30-44", enrolled_on=on, occurred_on=on)
        elif roll < 0.75:
            osv, activity = rng.choice(osvs), new_id("activity")
            district, zone = rng.choice(DISTRICTS)
            if activities and rng.random() < 0.1:
                activity, osv, held = activities.pop(rng.randrange(len(activities)))
                emit("engagement", "ActivityWithdrawn", activity, activity_id=activity, osv_id=osv, held_on=held, withdrawn_on=on,
                     occurred_on=on)
            else:
                activities.append((activity, osv, on))
                emit("engagement", "ActivityReported", activity, activity_id=activity, osv_id=osv, held_on=on, kind="mural_painting",
                     district=district, zone=zone, indirect_beneficiaries=rng.randrange(0, 60), grant_id=None,
                     direct_beneficiaries=[{"nationality": rng.choice(["VE", "PE", "EC"]), "sex": rng.choice(["F", "M"]),
                                            "count": rng.randrange(1, 20)}],
                     outputs=[{"kind": rng.choice(["mural", "public_space_recovered", "workshop"]), "count": 1}], occurred_on=on)
        elif roll < 0.90:
            osv = rng.choice(osvs)
            if actions and rng.random() < 0.4:
                action, osv = actions.pop(rng.randrange(len(actions)))
                emit("engagement", "ActionItemCompleted", action, osv_id=osv, meeting_id="m", action_id=action, due_on=on,
                     completed_on=on, occurred_on=on)
            else:
                agreed = [new_id("action") for _ in range(rng.randrange(0, 3))]
                actions.extend((a, osv) for a in agreed)
                emit("engagement", "FollowUpMeetingHeld", osv, osv_id=osv, meeting_id=new_id("meeting"), held_on=on, mode="virtual",
                     attendee_count=5, topics=["other"], action_items=[{"action_id": a, "due_on": on} for a in agreed], occurred_on=on)
        else:
            osv = rng.choice(osvs)
            emit("engagement", "TechnicalAssistanceGiven", osv, osv_id=osv, assistance_id=new_id("ta"), given_on=on, hours=2,
                 occurred_on=on)
    return out[:count]


def enrollable(
    members: list[tuple[str, str, str, str]], grants: list[tuple[str, str]], granted: dict[str, tuple[str, str]],
    closings: dict[str, str], enrolments: dict[tuple[str, str], str],
) -> list[tuple[tuple[str, str, str, str], tuple[str, str]]]:
    """Whom engagement would enrol in which project now, as ``(member, (grant, osv))`` pairs: an active member of the OSV
    the grant went to (422 ``member_of_granted_osv``), in a seed fund's project (422 ``seed_funded_project``) not closed
    yet (here none dated by its closing and typed in after it, which engagement takes), once (409 ``enrol_once``,
    ``Member.enrol`` in ``services/engagement/domain/members.py``: a member's participations are kept by grant, and so
    since engagement first published ``ParticipantEnrolled``).

    A second enrolment in one project is what no service publishes, and what a tally restored from a checkpoint read
    otherwise than the full fold (helper 283, ``agents_of_change.by_sex`` in F2 of the stress case): folding every fact,
    the tally took it for the participation going on (``AgentsOfChange._enrol``) and the member's withdrawal ended that
    one; restored, it recalled the member's enrolments knowing the project's closing (the checkpoint's ``closures``), so
    took the second for a new participation, which the withdrawal ended while the first ran on to the closing.
    """
    of_osv: dict[str, list[tuple[str, str, str, str]]] = {}
    for member in members:
        of_osv.setdefault(member[1], []).append(member)
    return [
        (member, (grant, osv)) for grant, osv in grants if granted[grant][0] == "seed_fund" and grant not in closings
        for member in of_osv.get(osv, ()) if (member[0], grant) not in enrolments
    ]


def arriving_out_of_order(events: list[dict[str, Any]], seed: int, batch: int = 25) -> list[list[dict[str, Any]]]:
    """Batches as NATS might deliver them: each service's events in order, the services interleaved at random."""
    rng = random.Random(seed)
    queues = {s: [e for e in events if e["source"].endswith(s)] for s in ("registry", "funding", "engagement")}
    batches = []
    while any(queues.values()):
        source = rng.choice([s for s, q in queues.items() if q])
        take = rng.randrange(1, batch)
        batches.append(queues[source][:take])
        queues[source] = queues[source][take:]
    return batches
