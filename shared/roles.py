"""Who may do what: the platform's roles, the one table of their permissions, and the caller a token names. Pure.

:func:`roles_from_claims` is the one place where an identity provider's claim
values become the platform's roles (:data:`DEFAULT_ROLE_MAP`, or the
``role_map`` setting); :data:`ROLE_PERMISSIONS` is the one table of what each
role may do; a :class:`Caller` knows its permissions and, for each, the
municipalities (ubigeos, or all of Lima) it covers. Checking tokens and
FastAPI's side are :mod:`shared.auth`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from shared.districts import UBIGEO as DISTRICT_UBIGEO
from shared.municipalities import MML_ID

UBIGEO = DISTRICT_UBIGEO.pattern
"""An INEI district code as a role holds it: six digits, the form a districts file gives (:data:`shared.districts.UBIGEO`)."""
ALL_OF_LIMA = MML_ID
#: The platform's roles. ``<ubigeo>`` is an INEI district code (6 digits) or ``mml``, all of Lima.
ROLE_PATTERN = re.compile(rf"^(staff|lead|evaluator|auditor|dpo|service|importer|(municipal|partner)-({UBIGEO}|{ALL_OF_LIMA}))$")


class Permission(StrEnum):
    """What a route may require. The value is what a 403 names and what the OpenAPI documents show."""

    PROGRAMME_READ = "programme:read"
    """Read OSVs, municipalities, RUOS processes, readiness, grants, follow-up, members masked (within municipal scope).

    Staff's free text in them only with ``personal-data:read`` too (:attr:`Caller.may_read_staff_text`), else ``[withheld]``."""
    PROGRAMME_WRITE = "programme:write"
    """Every programme command but the four of :attr:`SUBMISSIONS_RECORD`: apply, fund, correct, merge, dissolve, ..."""
    SUBMISSIONS_RECORD = "submissions:record"
    """Record what a field form's submission sends (:mod:`services.imports`), and nothing else: an OSV's mapping
    (``POST /osvs``), members' registration (``POST /members``), a follow-up meeting (``POST /osvs/{osv_id}/meetings``)
    and an activity (``POST /activities``). Staff hold it with every other command; the Kobo webhook holds it alone."""
    RUOS_RECORD = "ruos:record"
    """Record RUOS observations, registrations, rejections and board renewals (a focal point: for its municipality)."""
    MEMBERS_READ = "members:read"
    """Read a member's record and an OSV's members, masked (their OSVs, roles and dates; no personal data), within scope:
    the DPO checks whom a request is about before acting on it, a person without a document too."""
    PERSONAL_DATA_READ = "personal-data:read"
    """Read members' plain personal data, stating a purpose (each read is logged), and staff's free text, which may hold it."""
    MEMBERS_FIND = "members:find"
    """Look a person up by identity document (logged with its purpose; plain data only with ``personal-data:read``)."""
    PHASES_MANAGE = "phases:manage"
    """Open phases, set targets, sign a phase off."""
    ROUNDS_DECIDE = "rounds:decide"
    """Open and close rounds, assign their evaluators, approve or reject proposals."""
    EVALUATORS_READ = "evaluators:read"
    """Read who holds each evaluator code of a round, and whose account scored (``GET /rounds``, a round's history):
    leads, who assign them, and auditors, who check that no evaluator scored a proposal they have an interest in. Staff,
    who submit the OSVs' proposals, do not (an evaluator they could lobby), nor evaluators, who score blind (tester 30b,
    L3)."""
    PROPOSALS_READ = "proposals:read"
    """Read rounds and their proposals (an evaluator: those of the rounds assigned to it)."""
    PROPOSALS_SCORE = "proposals:score"
    """Score proposals (an evaluator: in the rounds assigned to it, under its assigned code)."""
    INDICATORS_READ = "indicators:read"
    """Read indicators, their evidence, exports, alerts and the dashboard (within municipal scope)."""
    AUDIT_READ = "audit:read"
    """Read an OSV's, a municipality's, a grant's or a phase's full stored history (staff's words in it only with
    ``personal-data:read``, else ``[withheld]``)."""
    AUDIT_VERIFY = "audit:verify"
    """Check each service's hash chain against the published heads (``GET /verify``, ``GET /chain``)."""
    EVENTS_READ = "events:read"
    """Read a service's ``GET /events`` feed (a partner: its municipality's events only)."""
    PERSONAL_DATA_ERASE = "personal-data:erase"
    """Erase a person's personal data."""
    PERSONAL_DATA_RECTIFY = "personal-data:rectify"
    """Correct a person's personal data (name, document, phone, birth year) at their request."""
    ACCESS_LOG_READ = "access-log:read"
    """Read the log of who read whose personal data, and why."""
    SUBJECT_ACCESS = "personal-data:subject-access"
    """Answer a person's access request (ARCO *acceso*, Ley 29733 art. 19): one member record's whole report, their
    personal data in clear, memberships, meetings, activities, access log and changes
    (``GET /members/{id}/subject-access``, each read logged with purpose ``data_subject_request``). Nothing else in
    clear: the DPO reads members masked elsewhere."""


P = Permission
_STAFF = frozenset(
    {P.PROGRAMME_READ, P.PROGRAMME_WRITE, P.SUBMISSIONS_RECORD, P.RUOS_RECORD, P.MEMBERS_READ, P.PERSONAL_DATA_READ, P.MEMBERS_FIND, P.PROPOSALS_READ}
    | {P.INDICATORS_READ, P.AUDIT_READ, P.PERSONAL_DATA_RECTIFY}
)
#: What each kind of role may do (``municipal`` and ``partner`` stand for every ``municipal-<ubigeo>``...).
#:
#: Why each row is what it is:
#:
#: * ``staff`` run the programme: every command (a member's data corrected too, as they register it), members' plain data (each read logged with its purpose),
#:   the OSVs' and grants' full history. They read the facts through the APIs, so no raw feed (``events:read``).
#: * ``lead`` adds what only leads decide: phases, rounds (opening, closing, evaluators, approvals).
#: * ``municipal`` focal points see their municipality's OSVs, RUOS process, readiness, follow-up and
#:   indicators, and record what the municipality decides in its RUOS; members only masked (no document type),
#:   staff's free text withheld (it may name people).
#: * ``evaluator`` reads and scores the proposals of the rounds assigned to it: nothing of the OSVs'
#:   records (members, follow-up) that the rubric does not need, and no other evaluator's scores nor their mean, not even
#:   after scoring (evaluators score blind; the ranking is the programme's).
#: * ``auditor`` reads everything, members masked and staff's free text withheld (they audit facts, not people):
#:   history, evidence, as-of, feeds; looks nobody up. Only
#:   auditors check the hash chains (``audit:verify``): tamper evidence is theirs, not the writers'.
#: * ``dpo`` acts on data subjects' requests: finds the person by document (answered masked), reads their record and
#:   their OSVs' member lists masked (to know whom a request is about, a person without a document too), corrects,
#:   erases, and reads the access log; answers an access request with one person's subject-access report, their data in
#:   clear (``personal-data:subject-access``, logged; not ``personal-data:read``, which would show every member in clear
#:   and staff's free text: tester 304 F2); nothing else of the programme's records.
#: * ``partner`` (a machine) and ``service`` (the services themselves) read feeds only.
#: * ``importer`` is the Kobo webhook's client (``osv-imports``, :mod:`services.imports`): it sends what a form's
#:   submission records (an OSV's mapping, members' registration, a meeting, an activity), a submission of several
#:   members' registrations as dry runs first, and reads only the answers to those commands (registry's 409
#:   ``possible_duplicates`` among them; no member's nationality or sex, and what a meeting or activity naming a member
#:   tells is logged on their access log, its dry run refused: tester 218 F1). So it may record
#:   those four (``submissions:record``) and nothing else: no other command (no dissolution, merge, grant, correction or
#:   erasure), no read of anyone's personal data, no lookup by document, no history, indicators, proposals or feeds.
#:   The webhook is the part KoboToolbox reaches from the internet, so its secret leaked must not open every person's
#:   record (tester 192 F5: as ``staff`` it read them all, and the access log named a machine) nor every programme
#:   command (helper 195: with ``programme:write`` it could dissolve or merge OSVs and grant funds).
ROLE_PERMISSIONS: Mapping[str, frozenset[Permission]] = {
    "staff": _STAFF,
    "lead": _STAFF | {P.PHASES_MANAGE, P.ROUNDS_DECIDE, P.EVALUATORS_READ},
    "municipal": frozenset({P.PROGRAMME_READ, P.MEMBERS_READ, P.RUOS_RECORD, P.INDICATORS_READ}),
    "evaluator": frozenset({P.PROPOSALS_READ, P.PROPOSALS_SCORE}),
    "auditor": frozenset({P.PROGRAMME_READ, P.MEMBERS_READ, P.PROPOSALS_READ, P.INDICATORS_READ, P.AUDIT_READ, P.AUDIT_VERIFY, P.EVENTS_READ,
                          P.EVALUATORS_READ}),
    "dpo": frozenset(
        {P.MEMBERS_READ, P.MEMBERS_FIND, P.PERSONAL_DATA_ERASE, P.PERSONAL_DATA_RECTIFY, P.ACCESS_LOG_READ}
        | {P.SUBJECT_ACCESS}
    ),
    "partner": frozenset({P.EVENTS_READ}),
    "service": frozenset({P.EVENTS_READ}),
    "importer": frozenset({P.SUBMISSIONS_RECORD}),
}
del P

#: Roles only machine clients hold (client-credentials grant).
MACHINE_ROLE_KINDS = frozenset({"partner", "service", "importer"})
#: Roles whose permissions reach only the rounds a lead assigned to the caller (not a municipality).
ASSIGNED_ROLE_KINDS = frozenset({"evaluator"})

#: Claim value -> platform role. ``{ubigeo}`` stands for a district code or ``mml`` on both sides.
DEFAULT_ROLE_MAP: Mapping[str, str] = {
    "staff": "staff",
    "lead": "lead",
    "municipal-{ubigeo}": "municipal-{ubigeo}",
    "evaluator": "evaluator",
    "auditor": "auditor",
    "dpo": "dpo",
    "partner-{ubigeo}": "partner-{ubigeo}",
    "service": "service",
    "importer": "importer",
}


def holders_of(*permissions: Permission) -> list[str]:
    """The kinds of role that hold every one of ``permissions`` (for messages and documents)."""
    return sorted(kind for kind, granted in ROLE_PERMISSIONS.items() if set(permissions) <= granted)


def role_kind(role: str) -> str:
    """``municipal-150132`` -> ``municipal``; ``staff`` -> ``staff``."""
    return role.split("-", 1)[0]


def role_ubigeo(role: str) -> str | None:
    """The district a ``municipal-``/``partner-`` role is for (``mml`` for all of Lima), else None."""
    kind, _, rest = role.partition("-")
    return rest if kind in ("municipal", "partner") else None


@dataclass(frozen=True)
class MunicipalScope:
    """The municipalities a permission reaches: all of Lima, or a set of district ubigeos."""

    all_of_lima: bool = False
    ubigeos: frozenset[str] = frozenset()

    def covers(self, ubigeo: str | None) -> bool:
        """Whether an object of municipality ``ubigeo`` is in scope; an object with no ubigeo only with all of Lima."""
        return self.all_of_lima or (ubigeo is not None and ubigeo in self.ubigeos)

    def __or__(self, other: MunicipalScope) -> MunicipalScope:
        if self.all_of_lima or other.all_of_lima:
            return MunicipalScope(all_of_lima=True)
        return MunicipalScope(ubigeos=self.ubigeos | other.ubigeos)

    def __and__(self, other: MunicipalScope) -> MunicipalScope:
        """The municipalities both reach (a route asking for two permissions reaches where the caller holds both)."""
        if self.all_of_lima:
            return other
        if other.all_of_lima:
            return self
        return MunicipalScope(ubigeos=self.ubigeos & other.ubigeos)

    @property
    def is_empty(self) -> bool:
        return not self.all_of_lima and not self.ubigeos


NOWHERE = MunicipalScope()
ALL_LIMA = MunicipalScope(all_of_lima=True)


@dataclass(frozen=True)
class RecordingScope:
    """Where a permission to record a municipality's decisions takes the caller: the objects it ``reaches`` (404 outside
    them), and the municipalities it ``acts_for``, whose decisions it records (a focal point: its own municipality's,
    the MML's for ``municipal-mml``, though that role reaches all of Lima; programme staff: every one)."""

    reaches: MunicipalScope
    acts_for: MunicipalScope


ANY_RECORDER = RecordingScope(reaches=ALL_LIMA, acts_for=ALL_LIMA)


def _scope_of(role: str) -> MunicipalScope:
    ubigeo = role_ubigeo(role)
    if ubigeo is None or ubigeo == ALL_OF_LIMA:
        return ALL_LIMA
    return MunicipalScope(ubigeos=frozenset({ubigeo}))


@dataclass(frozen=True)
class Caller:
    """Who sent the request: the token's subject, its platform roles and what they allow.

    ``subject`` is the token's ``sub`` (a login name, or a machine client's id);
    ``client_id`` the OAuth client the token was issued to. Each permission
    comes with the municipalities it reaches, from the roles that grant it:
    ``municipal-150132`` reads OSVs of ubigeo 150132 only, ``staff`` all of Lima.
    """

    subject: str
    roles: frozenset[str]
    client_id: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def grants(self) -> Mapping[Permission, MunicipalScope]:
        """Each permission the caller holds, with the municipal scope it holds it for."""
        grants: dict[Permission, MunicipalScope] = {}
        for role in self.roles:
            for permission in ROLE_PERMISSIONS.get(role_kind(role), ()):
                grants[permission] = grants.get(permission, NOWHERE) | _scope_of(role)
        return grants

    @property
    def permissions(self) -> frozenset[Permission]:
        return frozenset(self.grants)

    def may(self, permission: Permission) -> bool:
        """Whether any of the caller's roles grants ``permission`` (anywhere)."""
        return permission in self.grants

    def scope(self, permission: Permission) -> MunicipalScope:
        """The municipalities ``permission`` reaches for this caller (empty when it lacks it)."""
        return self.grants.get(permission, NOWHERE)

    def recording(self, permission: Permission) -> RecordingScope:
        """The objects ``permission`` reaches for this caller (:meth:`scope`) and the municipalities it records for: a
        ``municipal-`` role's own municipality alone (``mml``: the MML), any other role's scope."""
        acts_for = NOWHERE
        for role in self.roles:
            if permission in ROLE_PERMISSIONS.get(role_kind(role), ()):
                ubigeo = role_ubigeo(role)
                acts_for = acts_for | (MunicipalScope(ubigeos=frozenset({ubigeo})) if ubigeo is not None else _scope_of(role))
        return RecordingScope(reaches=self.scope(permission), acts_for=acts_for)

    def covers(self, permission: Permission, ubigeo: str | None) -> bool:
        """Whether the caller holds ``permission`` for an object of municipality ``ubigeo``.

        A route answers 404 when this is false for an object it found.
        """
        return self.scope(permission).covers(ubigeo)

    def only_assigned(self, permission: Permission) -> bool:
        """Whether ``permission`` reaches only the rounds assigned to the caller: every role granting it is an evaluator's."""
        granting = [role for role in self.roles if permission in ROLE_PERMISSIONS.get(role_kind(role), ())]
        return bool(granting) and all(role_kind(role) in ASSIGNED_ROLE_KINDS for role in granting)

    @property
    def may_read_personal_data(self) -> bool:
        """Whether plain personal data may be shown to this caller (else documents are masked)."""
        return self.may(Permission.PERSONAL_DATA_READ)

    @property
    def may_read_staff_text(self) -> bool:
        """Whether staff's free text (a meeting's notes and its actions' words, assistance notes, an activity's description
        and withdrawal reason, the notes and details in an OSV's history, an agreement's commitments, a proposal's summary)
        may be shown to this caller.

        The same as :attr:`may_read_personal_data`: such text should not name anyone, but when it does it holds what
        a person's record holds (a name, a document, health, migration status), so it goes where personal data goes.
        Anyone else reads it as :data:`WITHHELD_TEXT` (see :func:`shown_text`); the facts around it (dates, topics,
        counts, codes) stay.
        """
        return self.may_read_personal_data

    @property
    def is_machine(self) -> bool:
        """A client acting for itself (client credentials): all its roles are machine roles (partner, service, importer)."""
        return bool(self.roles) and all(role_kind(role) in MACHINE_ROLE_KINDS for role in self.roles)


WITHHELD_TEXT = "[withheld]"
"""What staff's free text reads as to a caller who may not read it (as a name reads ``[masked]``)."""


def shown_text(text: str | None, shown: bool) -> str | None:
    """Staff's free text as a reader sees it: as written when ``shown`` (:attr:`Caller.may_read_staff_text`), else
    :data:`WITHHELD_TEXT`; a null stays null (there is nothing to withhold), and a text forgotten reads
    ``[redacted]`` (:data:`shared.sealing.REDACTED_TEXT`) to everyone: it holds no words."""
    from shared.sealing import REDACTED_TEXT  # the sealing module imports the views, which this module must not

    return text if shown or text is None or text == REDACTED_TEXT else WITHHELD_TEXT


def _compile_role_map(role_map: Mapping[str, str]) -> list[tuple[re.Pattern[str], str]]:
    compiled = []
    for claim_value, role in role_map.items():
        pattern = re.escape(claim_value).replace(re.escape("{ubigeo}"), rf"(?P<ubigeo>{UBIGEO}|{ALL_OF_LIMA})")
        compiled.append((re.compile(f"^{pattern}$"), role))
    return compiled


def _claim_at(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def roles_from_claims(claims: Mapping[str, Any], role_map: Mapping[str, str], roles_claim: str = "groups") -> frozenset[str]:
    """The platform roles a token's claims give: the one place claim values become roles.

    ``roles_claim`` is a dotted path to a list of strings (``groups`` for
    Canaille, ``realm_access.roles`` or a mapped ``roles`` for Keycloak); each
    value is looked up in ``role_map`` (claim value -> role, ``{ubigeo}``
    standing for a district code or ``mml`` on both sides). Values the map does
    not name are ignored, as are results that are not a platform role.
    """
    values = _claim_at(claims, roles_claim)
    if isinstance(values, str):
        values = values.split()
    if not isinstance(values, list):
        return frozenset()
    roles = set()
    for pattern, role in _compile_role_map(role_map):
        for value in values:
            if not isinstance(value, str):
                continue
            match = pattern.match(value)
            if match:
                mapped = role.replace("{ubigeo}", match.groupdict().get("ubigeo") or "")
                if ROLE_PATTERN.match(mapped):
                    roles.add(mapped)
    return frozenset(roles)
