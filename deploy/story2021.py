"""The programme's 2021 story, as data and :func:`load`: what ``make demo`` (:mod:`deploy.demo`) loads through the public APIs.

The figures are the practice's own (IOM/UNDP, Lima Metropolitana, 2021):

- phase 1: 30 OSVs identified, 7 registered in the MML's RUOS;
- phase 2, October to December 2021: 4 projects, 5 OSVs supported of which
  2 repeat (winners of phase 1's seed funds) and 3 first-time, 29 Venezuelan
  and 13 Peruvian agents of change, 496 direct and 1,215 indirect
  beneficiaries, 4 murals on 4 recovered public spaces.

Around them, what a programme's year looks like: a rotating focal point at the
MML and a signed agreement, applications observed for unaccepted identity
documents and amended, a rejected one, meetings with pending actions,
technical assistance, needs assessments, members who emigrate, OSVs that go
silent or dissolve, participatory-budget submissions. Organisations and
people are invented; the names are the kind one meets in Lima's districts.

:func:`load` takes one client per service (``httpx.Client`` or FastAPI's
``TestClient``): the end-to-end test loads it into a running system and checks
the dashboard's figures against the above. Every write of the story carries an
``Idempotency-Key`` of its step (:class:`Story`), and the story is
deterministic (a seeded rng, fixed dates): loaded again after a load that
stopped part-way, the steps carried out are answered as they were (the same
ids) and the rest are carried out.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

import httpx


class Client(Protocol):
    def get(self, url: str, **kwargs: Any) -> Any: ...
    def post(self, url: str, **kwargs: Any) -> Any: ...
    def put(self, url: str, **kwargs: Any) -> Any: ...


@dataclass
class Apis:
    registry: Client
    funding: Client
    engagement: Client
    scoring: Client | None = None
    """Funding, signed in as the first evaluator, who scores (default: ``funding``, whose caller must then be an evaluator too)."""
    evaluator: str = "evaluator"
    """The first evaluator's login (the subject of its tokens): the lead assigns it each round's first evaluator code."""
    second_scoring: Client | None = None
    """Funding, signed in as the second evaluator, another person: a round's codes are held by distinct people
    (409 ``one_code_per_person``). None: ``funding``, whose caller must then be that other person."""
    second_evaluator: str = "evaluator-2"
    """The second evaluator's login: the lead assigns it each round's second evaluator code."""

    def panel(self) -> tuple[str, str]:
        """The logins of the rounds' two evaluators, in the order of :data:`EVALUATOR_CODES`."""
        return (self.evaluator, self.second_evaluator)


class DemoError(RuntimeError):
    """The demo cannot go on: its message is the one line ``make demo`` prints."""


class Refused(DemoError):
    """A service refused a step of the story (``status`` and ``problem`` its answer's), or gave no answer it kept."""

    def __init__(self, service: str, step: str, method: str, path: str, status: int, problem: str, rule: str = "") -> None:
        super().__init__(f"{method.upper()} {path} (step {step} of the story) answered {status}: {problem}")
        self.service, self.step, self.method, self.path, self.status, self.problem, self.rule = service, step, method, path, status, problem, rule


# The services learn of each other's records from events: an OSV just mapped in
# registry reaches funding and engagement a few milliseconds later. The refusals
# that mean "not yet" (a 422 or 404 about a record they have not heard of) carry
# Retry-After: worth asking again. A 404 without it (a wrong member id) is final.
# So does a 503 (the database out of reach a moment, its one writer busy past the
# pool's wait under load): nothing was written, and its key makes asking again safe.
NOT_YET_STATUSES = (404, 422, 503)

IDEMPOTENCY_KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
STORY_KEYS = "osv-demo-2021-v1"
"""Every write of the story carries ``Idempotency-Key: <STORY_KEYS>-<seed>-<step>``: the story is deterministic
(a seeded rng, fixed dates), so a run sends the same requests under the same keys as any run before it, and the
services answer those already carried out with their first answer (the same ids) and carry out the rest."""
LAST_STEP = "end"
"""The label of the story's last write (the MML focal point's departure): its key taken means the story is loaded."""


@dataclass
class Story:
    """Numbers the story's writes (its steps) and counts those the services had carried out already (replayed)."""

    seed: int = 2021
    steps: int = 0
    replayed: int = 0

    def key(self, step: str) -> str:
        """The Idempotency-Key of step ``step`` (``"17"``, or :data:`LAST_STEP`)."""
        return f"{STORY_KEYS}-{self.seed}-{step}"

    def next_step(self) -> str:
        self.steps += 1
        return str(self.steps)


@dataclass
class Keyed:
    """A service's client whose story writes carry the story's Idempotency-Keys (GETs go through as they are)."""

    client: Client
    story: Story
    service: str

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)


def send(client: Client | Keyed, method: str, path: str, body: dict[str, Any], *, patience: float = 30.0, step: str | None = None) -> dict[str, Any]:
    """Send one write of the story and return its answer's JSON.

    Through a :class:`Keyed` client the write carries the story's Idempotency-Key for its step (the next one, or
    ``step``): an answer replayed (``Idempotent-Replayed: true``) is counted in the story. Refusals meaning "not yet"
    (a :data:`NOT_YET_STATUSES` answer with ``Retry-After``) and ``409 idempotent_request_in_progress`` are asked again for ``patience`` seconds. So is a
    keyed write that got no answer (``httpx.TransportError``: a connection the service closed as it was reused, a read
    timeout): its key makes the second send answer with the first one's outcome, never a second record; unkeyed, the
    error is raised. Raises :class:`Refused` for any other answer than 200/201 (a ``409 idempotent_request_completed``, the step carried out
    once with its answer no longer kept, included: its ``rule`` says so).
    """
    headers: dict[str, str] = {}
    service = ""
    target: Any = client
    story = None
    if isinstance(client, Keyed):
        story, service, target = client.story, client.service, client.client
        step = step or story.next_step()
        headers[IDEMPOTENCY_KEY] = story.key(step)
    deadline = time.monotonic() + patience
    while True:
        try:
            response = getattr(target, method)(path, json=body, headers=headers)
        except httpx.TransportError:
            if story is None or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
            continue
        if response.status_code in (200, 201):
            if story is not None and response.headers.get(REPLAYED) == "true":
                story.replayed += 1
            return response.json()
        rule = rule_of(response)
        waiting = (response.status_code in NOT_YET_STATUSES and "Retry-After" in response.headers) or rule == "idempotent_request_in_progress"
        if not waiting or time.monotonic() > deadline:
            raise Refused(service, step or "?", method, path, response.status_code, problem(response), rule)
        time.sleep(0.05)


def rule_of(response: Any) -> str:
    """The first ``errors[].rule`` of a problem+json answer, or ``""``."""
    try:
        body = response.json()
    except ValueError:
        return ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("rule") or "")
    return ""


def problem(response: Any) -> str:
    """The problem+json's title or detail, or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:200]
    return str(body)[:200]


def post(client: Client | Keyed, path: str, body: dict[str, Any], *, step: str | None = None) -> dict[str, Any]:
    return send(client, "post", path, body, step=step)


def iso(day: date) -> str:
    return day.isoformat()


# The programme -------------------------------------------------------------------

PHASE_1 = ("F1", "Fase 1: mapeo y registro de OSV", date(2021, 3, 1), date(2021, 9, 30))
PHASE_2 = ("F2", "Fase 2: proyectos de integración socioeconómica", date(2021, 10, 1), date(2021, 12, 31))

CRITERIA = [
    {"code": "relevance", "name": "Pertinencia para la integración", "weight": "30", "min_score": 0, "max_score": 10},
    {"code": "feasibility", "name": "Viabilidad del proyecto", "weight": "20", "min_score": 0, "max_score": 10},
    {"code": "organisational_capacity", "name": "Capacidad organizativa", "weight": "25", "min_score": 0, "max_score": 10},
    {"code": "administrative_capacity", "name": "Capacidad administrativa", "weight": "25", "min_score": 0, "max_score": 10},
]


@dataclass(frozen=True)
class OSVSeed:
    name: str
    district: str
    kind: str
    composition: str
    focus: tuple[str, ...]
    mapped_on: date


# Thirty OSVs mapped in phase 1. The first seven are registered in the MML's RUOS;
# the first three won phase 1's seed funds; 0, 1, 3, 4 and 5 are supported in phase 2.
OSVS = [
    OSVSeed("Asociación Venezolanos Unidos de Comas", "Comas", "poblacion_vulnerable", "migrant_led", ("employment", "documentation"), date(2021, 3, 4)),
    OSVSeed("Mujeres Emprendedoras de Los Olivos", "Los Olivos", "productiva", "mixed", ("entrepreneurship", "employment"), date(2021, 3, 9)),
    OSVSeed("Colectivo Cultural Arepa y Cebiche", "Breña", "cultural", "mixed", ("culture", "anti_discrimination"), date(2021, 3, 15)),
    OSVSeed("Vecinos Solidarios de Zárate", "San Juan de Lurigancho", "vecinal", "mixed", ("health", "anti_discrimination"), date(2021, 3, 22)),
    OSVSeed("Club Deportivo Integración Villa El Salvador", "Villa El Salvador", "deportiva", "mixed", ("sports", "anti_discrimination"), date(2021, 3, 29)),
    OSVSeed("Red de Madres Migrantes de San Martín de Porres", "San Martín de Porres", "poblacion_vulnerable", "migrant_led", ("education", "health"), date(2021, 4, 6)),
    OSVSeed("Asociación de Comerciantes Binacionales de Gamarra", "La Victoria", "productiva", "mixed", ("entrepreneurship",), date(2021, 4, 12)),
    OSVSeed("Juntos por Huaycán", "Ate", "vecinal", "host_led", ("housing", "health"), date(2021, 4, 19)),
    OSVSeed("Tejiendo Futuro Carabayllo", "Carabayllo", "productiva", "migrant_led", ("entrepreneurship",), date(2021, 4, 26)),
    OSVSeed("Comedor Popular Nueva Esperanza", "Villa María del Triunfo", "poblacion_vulnerable", "host_led", ("health",), date(2021, 5, 3)),
    OSVSeed("Venezuela en el Corazón de Independencia", "Independencia", "cultural", "migrant_led", ("culture",), date(2021, 5, 7)),
    OSVSeed("Asociación Llanera de Puente Piedra", "Puente Piedra", "cultural", "migrant_led", ("culture", "employment"), date(2021, 5, 12)),
    OSVSeed("Vecinos de Canto Grande", "San Juan de Lurigancho", "vecinal", "mixed", ("anti_discrimination",), date(2021, 5, 18)),
    OSVSeed("Emprendedores de Santa Anita", "Santa Anita", "productiva", "mixed", ("entrepreneurship", "employment"), date(2021, 5, 24)),
    OSVSeed("Panas y Causas de Surquillo", "Surquillo", "cultural", "mixed", ("culture", "anti_discrimination"), date(2021, 5, 31)),
    OSVSeed("Colectivo Salud Sin Fronteras", "Cercado de Lima", "poblacion_vulnerable", "mixed", ("health", "documentation"), date(2021, 6, 4)),
    OSVSeed("Deportivo Vinotinto Chorrillos", "Chorrillos", "deportiva", "migrant_led", ("sports",), date(2021, 6, 9)),
    OSVSeed("Mamás Lideresas de El Agustino", "El Agustino", "poblacion_vulnerable", "mixed", ("education",), date(2021, 6, 15)),
    OSVSeed("Asociación Integración Rímac", "Rímac", "vecinal", "mixed", ("housing",), date(2021, 6, 21)),
    OSVSeed("Artesanas del Sur de Lurín", "Lurín", "productiva", "host_led", ("entrepreneurship",), date(2021, 6, 28)),
    OSVSeed("Jóvenes Migrantes de Ate Vitarte", "Ate", "vecinal", "migrant_led", ("education", "employment"), date(2021, 7, 2)),
    OSVSeed("Cocineras Unidas de San Miguel", "San Miguel", "productiva", "mixed", ("entrepreneurship",), date(2021, 7, 8)),
    OSVSeed("Vecinos por la Paz de Pachacámac", "Pachacámac", "vecinal", "host_led", ("anti_discrimination",), date(2021, 7, 13)),
    OSVSeed("Red de Docentes Venezolanos en Lima", "Jesús María", "poblacion_vulnerable", "migrant_led", ("education", "documentation"), date(2021, 7, 19)),
    OSVSeed("Asociación Cultural Tambor y Cajón", "Barranco", "cultural", "mixed", ("culture",), date(2021, 7, 26)),
    OSVSeed("Frente Vecinal de Collique", "Comas", "vecinal", "host_led", ("housing", "health"), date(2021, 8, 2)),
    OSVSeed("Unidos por Ventanilla Alta", "Ancón", "vecinal", "mixed", ("housing",), date(2021, 8, 9)),
    OSVSeed("Club de Madres Sembrando Esperanza", "San Juan de Miraflores", "poblacion_vulnerable", "host_led", ("health", "education"), date(2021, 8, 16)),
    OSVSeed("Mecánicos Solidarios de Chaclacayo", "Chaclacayo", "productiva", "migrant_led", ("employment",), date(2021, 8, 23)),
    OSVSeed("Asociación Nuevo Amanecer de Santa Rosa", "Santa Rosa", "vecinal", "mixed", ("documentation",), date(2021, 8, 30)),
]
REGISTERED = range(7)
PHASE_1_WINNERS = (0, 1, 2)
PHASE_2_PROJECTS = (0, 3, 4, 5)  # seed funds: 0 is a repeat winner
PHASE_2_GOODS_ONLY = 1  # a goods package for the other repeat winner
PHASE_2_REJECTED = 6

# People ----------------------------------------------------------------------------

VE_WOMEN = ["Yusleidy", "Yajaira", "Rosmery", "Daniela", "Andreína", "Génesis", "Keila", "Franyelis", "Oriana", "Dayana",
            "Maryelis", "Yelitza", "Mariangel", "Johana", "Yuleisy", "Karelys", "Nathaly", "Milagros del Valle"]
VE_MEN = ["José Gregorio", "Carlos Eduardo", "Luis Alfonso", "Jesús Alberto", "Yonathan", "Ender", "Wilmer", "Leonardo",
          "Jhonny", "Franklin", "Deivis", "Rafael Antonio", "Yorman", "Eudes"]
VE_SURNAMES = ["Pérez", "González", "Rodríguez", "Hernández", "Márquez", "Rondón", "Guerrero", "Lugo", "Marcano", "Briceño",
               "Colmenares", "Urdaneta", "Mendoza", "Salazar", "Villalobos", "Chirinos", "Bracho", "Arráiz"]
PE_WOMEN = ["Rosa", "Juana", "Carmen", "Milagros", "Pilar", "Nelly", "Yessica", "Maribel", "Flor de María", "Gladys", "Luz"]
PE_MEN = ["Jorge", "Edwin", "Wilber", "Richard", "Percy", "Fredy", "Julio César", "Marco Antonio", "Teófilo", "Elmer"]
PE_SURNAMES = ["Quispe", "Huamán", "Mamani", "Flores", "Chávez", "Ramos", "Torres", "Vargas", "Rojas", "Cárdenas", "Condori",
               "Ccori", "Paucar", "Salas", "Inga", "Tello"]
VE_DOCUMENTS = ["CPP", "CPP", "PTP", "CE", "CEDULA_VE", "PASAPORTE", "SOLICITANTE_REFUGIO", "NINGUNO"]

# Well-formed numbers for each document type (engagement checks their shape).
DOCUMENT_NUMBERS: dict[str, Callable[[random.Random], str]] = {
    "DNI": lambda r: f"{r.randrange(10**7, 10**8)}",
    "CE": lambda r: f"CE{r.randrange(10**6, 10**7)}",
    "PTP": lambda r: f"PTP{r.randrange(10**6, 10**7)}",
    "CPP": lambda r: f"CPP{r.randrange(10**6, 10**7)}",
    "PASAPORTE": lambda r: f"{r.randrange(10**8, 10**9)}",
    "CEDULA_VE": lambda r: f"V-{r.randrange(10**7, 3 * 10**7)}",
    "SOLICITANTE_REFUGIO": lambda r: f"SR-{r.randrange(10**5, 10**6)}",
}

# Agents of change per phase-2 project: (Venezuelan women, Venezuelan men, Peruvian women, Peruvian men).
AGENTS = {0: (5, 3, 2, 2), 3: (5, 3, 2, 1), 4: (3, 4, 1, 2), 5: (4, 2, 2, 1)}  # 29 VE, 13 PE


@dataclass
class Person:
    full_name: str
    nationality: str
    sex: str
    document_type: str
    document_number: str | None
    birth_year: int


@dataclass
class People:
    """Invented people, each with a unique, well-formed document."""

    rng: random.Random
    used: set[str] = field(default_factory=set)

    def _unique(self, make: Callable[[], str]) -> str:
        while (number := make()) in self.used:
            pass
        self.used.add(number)
        return number

    def one(self, nationality: str, sex: str) -> Person:
        r = self.rng
        if nationality == "VE":
            first = r.choice(VE_WOMEN if sex == "F" else VE_MEN)
            name = f"{first} {r.choice(VE_SURNAMES)} {r.choice(VE_SURNAMES)}"
            kind = r.choice(VE_DOCUMENTS)
        else:
            first = r.choice(PE_WOMEN if sex == "F" else PE_MEN)
            name = f"{first} {r.choice(PE_SURNAMES)} {r.choice(PE_SURNAMES)}"
            kind = "DNI"
        number = None if kind == "NINGUNO" else self._unique(lambda: DOCUMENT_NUMBERS[kind](r))
        return Person(name, nationality, sex, kind, number, r.randrange(1962, 2003))


# Beneficiaries of phase 2's activities: (osv, day, kind, district or None, VE F, VE M, PE F, PE M, indirect, outputs)
ACTIVITIES = [
    (0, date(2021, 10, 23), "workshop", None, 18, 12, 10, 7, 60, [("workshop", 1)]),
    (0, date(2021, 11, 13), "mural_painting", None, 38, 27, 22, 16, 310, [("mural", 1), ("public_space_recovered", 1)]),
    (3, date(2021, 10, 30), "fair", None, 26, 19, 15, 11, 120, [("fair", 1)]),
    (3, date(2021, 11, 20), "mural_painting", None, 30, 21, 19, 12, 260, [("mural", 1), ("public_space_recovered", 1)]),
    (4, date(2021, 11, 6), "sports_event", None, 20, 28, 12, 15, 90, [("other", 1)]),
    (4, date(2021, 12, 4), "mural_painting", None, 16, 13, 10, 8, 175, [("mural", 1), ("public_space_recovered", 1)]),
    (5, date(2021, 11, 27), "training", None, 14, 6, 6, 4, 40, [("training", 1)]),
    (5, date(2021, 12, 11), "mural_painting", None, 15, 10, 9, 7, 160, [("mural", 1), ("public_space_recovered", 1)]),
]
# Checked in the end-to-end test: 496 direct, 1,215 indirect, 4 murals.
DIRECT_BENEFICIARIES = sum(sum(a[4:8]) for a in ACTIVITIES)
INDIRECT_BENEFICIARIES = sum(a[8] for a in ACTIVITIES)


@dataclass
class Loaded:
    osv_ids: list[str] = field(default_factory=list)
    members: int = 0
    grants: int = 0
    activities: int = 0
    meetings: int = 0
    steps: int = 0
    """The story's writes."""
    replayed: int = 0
    """Those of them a run before this one had carried out: the services gave their first answers again."""


def load(apis: Apis, seed: int = 2021) -> Loaded:
    """Tell the 2021 story to the three write services, in the order it happened; returns what it counted.

    Every write carries the story's Idempotency-Key for its step (:class:`Story`): after a run that stopped
    part-way, the steps it carried out are answered again as they were (the same ids) and the rest are carried
    out, so the story ends whole and nothing is recorded twice. Raises :class:`Refused` when a service refuses a
    step, ``httpx.HTTPError`` when one stops answering.
    """
    rng = random.Random(seed)
    people = People(rng)
    out = Loaded()
    story = Story(seed)
    registry, funding, engagement = (Keyed(client, story, name) for client, name in zip(
        (apis.registry, apis.funding, apis.engagement), ("registry", "funding", "engagement"), strict=True))
    # Each evaluator code, and the client of the person who holds it and scores under it.
    scoring = {
        code: Keyed(client or apis.funding, story, "funding")
        for code, client in zip(EVALUATOR_CODES, (apis.scoring, apis.second_scoring), strict=True)
    }

    phases = {}
    for code, name, starts_on, ends_on in (PHASE_1, PHASE_2):
        phases[code] = post(funding, "/phases", {"code": code, "name": name, "starts_on": iso(starts_on), "ends_on": iso(ends_on)})["id"]

    # The MML: a focal point who rotates out, an agreement that outlives her, a gap, a new one.
    post(registry, "/municipalities/mml/focal-points",
         {"office": "Gerencia de Participación Vecinal", "role": "subgerente de organizaciones sociales", "assigned_on": "2021-03-01"})
    post(registry, "/municipalities/mml/agreements", {
        "title": "Convenio de cooperación para el registro en el RUOS de OSV de población refugiada, migrante y de acogida",
        "signed_on": "2021-05-20",
        "commitments": ["Mesa de ayuda para el RUOS cada quince días", "Capacitación a OSV en la Ordenanza 1762-2013-MML",
                        "Revisión de criterios sobre documentos de identidad admitidos"],
        "document_reference": "Convenio MML-GPV 014-2021",
    })
    second_focal_point = post(registry, "/municipalities/mml/focal-points",
                              {"office": "Gerencia de Participación Vecinal", "role": "especialista en registro", "assigned_on": "2021-06-15"})
    for ubigeo, office in (("150110", "Subgerencia de Participación Vecinal"), ("150117", "Gerencia de Desarrollo Humano"),
                           ("150132", "Subgerencia de Participación Vecinal")):
        post(registry, f"/municipalities/{ubigeo}/focal-points", {"office": office, "role": "especialista", "assigned_on": "2021-04-01"})

    # Phase 1: thirty OSVs mapped.
    for seed_osv in OSVS:
        osv = post(registry, "/osvs", {
            "name": seed_osv.name, "district": seed_osv.district, "mapped_on": iso(seed_osv.mapped_on), "kind": seed_osv.kind,
            "composition": seed_osv.composition, "focus_areas": list(seed_osv.focus), "contact_channel": "whatsapp",
        })
        out.osv_ids.append(osv["id"])
    ids = out.osv_ids

    # Boards and members: a president and two more for most, the full membership for the supported ones.
    members: dict[int, list[dict[str, Any]]] = {}
    for i, seed_osv in enumerate(OSVS):
        roles = ["president", "board_member", "member"] if i % 3 != 2 else ["president", "member"]
        joined = seed_osv.mapped_on - timedelta(days=rng.randrange(20, 200))
        for role in roles:
            nationality = "PE" if seed_osv.composition == "host_led" and role == "president" else rng.choice(["VE", "VE", "PE"])
            person = people.one(nationality, rng.choice(["F", "F", "M"]))
            members.setdefault(i, []).append(join(engagement, ids[i], person, role, joined))
    agents: dict[int, list[dict[str, Any]]] = {}
    for i, (ve_f, ve_m, pe_f, pe_m) in AGENTS.items():
        for nationality, sex, count in (("VE", "F", ve_f), ("VE", "M", ve_m), ("PE", "F", pe_f), ("PE", "M", pe_m)):
            for _ in range(count):
                joined = date(2021, 9, rng.randrange(1, 28))
                agent = join(engagement, ids[i], people.one(nationality, sex), "member", joined)
                agents.setdefault(i, []).append(agent)
                members[i].append(agent)
    out.members = sum(len(m) for m in members.values())

    # RUOS: seven registered at the MML; two observed for unaccepted documents on the way, one rejected outright.
    documents = ["acta_constitucion", "estatuto", "acta_aprobacion_estatuto", "acta_eleccion_junta_directiva",
                 "nomina_junta_directiva", "padron_socios", "croquis"]
    for n, i in enumerate(list(REGISTERED) + [PHASE_2_REJECTED + 1]):
        osv_id = ids[i]
        prepared = OSVS[i].mapped_on + timedelta(days=20)
        for document in documents:
            post(registry, f"/osvs/{osv_id}/documents", {"document": document, "prepared_on": iso(prepared)})
        submitted = prepared + timedelta(days=7)
        application = post(registry, f"/osvs/{osv_id}/ruos-applications",
                           {"municipality_id": "mml", "submitted_on": iso(submitted), "documents": documents})
        path = f"/osvs/{osv_id}/ruos-applications/{application['application_id']}"
        if i == PHASE_2_REJECTED + 1:
            post(registry, f"{path}/rejection", {"rejected_on": iso(submitted + timedelta(days=30)), "reason": "requirements_not_met"})
            continue
        if n in (1, 4):
            observed = submitted + timedelta(days=15)
            post(registry, f"{path}/observation",
                 {"observed_on": iso(observed), "reasons": [{"code": "id_document_not_accepted"}, {"code": "missing_document"}]})
            post(registry, f"{path}/amendment", {"amended_on": iso(observed + timedelta(days=3)), "documents": ["padron_socios"]})
        registered_on = submitted + timedelta(days=40)
        post(registry, f"{path}/registration", {
            "registered_on": iso(registered_on), "ruos_number": f"RUOS-MML-2021-{101 + n:04d}",
            "resolution_number": f"RGPV-{230 + n:03d}-2021-MML", "board_term_ends_on": iso(registered_on + timedelta(days=730)),
        })

    # Needs assessments with the first OSVs, as the practice recommends (how many have lived in Peru over five years).
    for i in range(0, 8):
        assessed = min(len(members[i]) + 6, 30)
        post(engagement, f"/osvs/{ids[i]}/needs-assessments", {
            "assessed_on": iso(OSVS[i].mapped_on + timedelta(days=10)), "members_assessed": assessed,
            "members_over_5_years_in_peru": assessed // 4,
            "needs": [{"area": "employment", "members_affected": assessed * 2 // 3, "priority": "high"},
                      {"area": "documentation", "members_affected": assessed // 2, "priority": "high"},
                      {"area": "health", "members_affected": assessed // 3, "priority": "medium"}],
        })

    # Phase 1's seed funds: a small round, three winners, their grants closed before phase 2.
    round_1 = open_round(
        funding, phases["F1"], "Concurso de fondos semilla 2021-I", "15000.00", date(2021, 6, 1), date(2021, 6, 30), "mapped", apis.panel()
    )
    for i in PHASE_1_WINNERS:
        proposal = submit(funding, round_1, ids[i], f"Primer proyecto de {OSVS[i].name}", "5000.00", date(2021, 6, 20), 60, 150)
        score(scoring, proposal, rng, date(2021, 7, 5))
        post(funding, f"/proposals/{proposal}/approval", {"amount": "5000.00", "approved_on": "2021-07-12"})
        grant = post(funding, f"/proposals/{proposal}/grants", {"kind": "seed_fund", "amount": "5000.00", "granted_on": "2021-07-15"})
        post(funding, f"/grants/{grant['id']}/disbursements", {"tranche": 1, "amount": "5000.00", "disbursed_on": "2021-07-20"})
        post(funding, f"/grants/{grant['id']}/closing",
             {"outcome": "completed", "final_report_reference": f"IF-F1-{i + 1:02d}", "closed_on": "2021-09-24"})
        out.grants += 1
    post(funding, f"/rounds/{round_1}/closing", {"closed_on": "2021-07-31"})

    # Phase 2: the round, six proposals from registered OSVs, two evaluators, five approved, one rejected.
    round_2 = open_round(funding, phases["F2"], "Fondos semilla para proyectos de integración 2021-II", "32000.00",
                         date(2021, 10, 1), date(2021, 10, 12), "ruos_registered", apis.panel())
    proposals = {}
    for i in (*PHASE_2_PROJECTS, PHASE_2_GOODS_ONLY, PHASE_2_REJECTED):
        amount = "3500.00" if i == PHASE_2_GOODS_ONLY else "7000.00"
        proposals[i] = submit(funding, round_2, ids[i], f"Integración en {OSVS[i].district}: {OSVS[i].name}", amount,
                              date(2021, 10, 8), 100, 250)
        score(scoring, proposals[i], rng, date(2021, 10, 14), weak=i == PHASE_2_REJECTED)
    post(funding, f"/proposals/{proposals[PHASE_2_REJECTED]}/rejection", {"reason": "low_score", "rejected_on": "2021-10-15"})
    grants = {}
    for i in (*PHASE_2_PROJECTS, PHASE_2_GOODS_ONLY):
        goods = i == PHASE_2_GOODS_ONLY
        amount = "3500.00" if goods else "7000.00"
        post(funding, f"/proposals/{proposals[i]}/approval", {"amount": amount, "approved_on": "2021-10-15"})
        grants[i] = post(funding, f"/proposals/{proposals[i]}/grants",
                         {"kind": "goods" if goods else "seed_fund", "amount": amount, "granted_on": "2021-10-18"})["id"]
        out.grants += 1
    post(funding, f"/rounds/{round_2}/closing", {"closed_on": "2021-10-20"})
    post(funding, f"/grants/{grants[PHASE_2_GOODS_ONLY]}/goods-deliveries", {"delivered_on": "2021-10-28", "items": [
        {"item": "Pintura látex (galón)", "quantity": 30, "unit_value": "45.00"},
        {"item": "Juego de brochas y rodillos", "quantity": 20, "unit_value": "35.00"},
        {"item": "Toldo plegable 3x3", "quantity": 1, "unit_value": "450.00"},
    ]})
    post(funding, f"/grants/{grants[PHASE_2_GOODS_ONLY]}/goods-deliveries", {"delivered_on": "2021-11-15", "items": [
        {"item": "Mesa plegable", "quantity": 4, "unit_value": "120.00"},
        {"item": "Silla plástica", "quantity": 10, "unit_value": "30.00"},
    ]})
    for i in PHASE_2_PROJECTS:
        post(funding, f"/grants/{grants[i]}/disbursements", {"tranche": 1, "amount": "4200.00", "disbursed_on": "2021-10-20"})
        post(funding, f"/grants/{grants[i]}/disbursements", {"tranche": 2, "amount": "2800.00", "disbursed_on": "2021-11-22"})

    # Agents of change: each project's members enrol in it.
    for i, enrolled in agents.items():
        for agent in enrolled:
            post(engagement, f"/members/{agent['id']}/participations", {"grant_id": grants[i], "enrolled_on": "2021-10-19"})

    # Follow-up: a meeting a month with each supported OSV, actions agreed and mostly done; technical assistance.
    for i in (*PHASE_2_PROJECTS, PHASE_2_GOODS_ONLY):
        for month in (10, 11, 12):
            held = date(2021, month, 5 + i)
            attendees = [m["id"] for m in members[i][:3]]
            meeting = post(engagement, f"/osvs/{ids[i]}/meetings", {
                "held_on": iso(held), "mode": "in_person" if month != 11 else "virtual",
                "attendee_member_ids": attendees, "other_attendees": 1,
                "topics": ["project_follow_up", "activities_report"] + (["ruos_registration"] if month == 10 else []),
                "action_items": [
                    {"description": "Enviar lista de beneficiarios de la actividad", "owner": "junta directiva", "due_on": iso(held + timedelta(days=10))},
                    {"description": "Presentar rendición de gastos del tramo", "owner": "tesorería de la OSV", "due_on": iso(held + timedelta(days=20))},
                ],
            })
            out.meetings += 1
            if month != 12:
                for action in meeting["action_items"]:
                    post(engagement, f"/osvs/{ids[i]}/actions/{action['action_id']}/completion",
                         {"completed_on": iso(held + timedelta(days=8))})
        post(engagement, f"/osvs/{ids[i]}/technical-assistance",
             {"given_on": "2021-10-26", "topic": "accounting", "hours": "3.5", "note": "Registro de gastos y comprobantes"})

    # The activities, the murals, the neighbours who came.
    for osv, day, kind, district, ve_f, ve_m, pe_f, pe_m, indirect, outputs in ACTIVITIES:
        direct = [{"nationality": n, "sex": s, "count": c} for n, s, c in (("VE", "F", ve_f), ("VE", "M", ve_m), ("PE", "F", pe_f), ("PE", "M", pe_m))]
        post(engagement, "/activities", {
            "osv_id": ids[osv], "held_on": iso(day), "kind": kind, "district": district or OSVS[osv].district,
            "direct_beneficiaries": direct, "indirect_beneficiaries": indirect,
            "outputs": [{"kind": k, "count": c} for k, c in outputs], "grant_id": grants.get(osv),
        })
        out.activities += 1

    # Participatory budgets for 2022: two registered OSVs present projects to their districts; one is accepted.
    for i, ubigeo, outcome in ((3, "150132", "accepted"), (4, "150142", "not_accepted")):
        submission = post(funding, "/participatory-budgets", {
            "osv_id": ids[i], "municipality_id": ubigeo, "cycle_year": 2022, "project_title": f"Espacio público integrador en {OSVS[i].district}",
            "amount_requested": "18000.00", "currency": "PEN", "submitted_on": "2021-11-10",
        })
        post(funding, f"/participatory-budgets/{submission['id']}/outcome", {"outcome": outcome, "decided_on": "2021-12-15"})

    # What the practice calls its challenges: members emigrate, OSVs go silent, one dissolves, the focal point leaves.
    for i, reason, day in ((8, "moved_abroad", "2021-10-11"), (11, "moved_abroad", "2021-11-03"), (12, "moved_in_peru", "2021-12-02")):
        post(engagement, f"/members/{members[i][-1]['id']}/departure", {"left_on": day, "reason": reason})
    post(registry, f"/osvs/{ids[26]}/contact-lost", {"since": "2021-10-20", "note": "No responden al WhatsApp desde septiembre"})
    post(registry, f"/osvs/{ids[28]}/contact-lost", {"since": "2021-11-15"})
    post(registry, f"/osvs/{ids[29]}/dissolution", {"dissolved_on": "2021-12-10", "reason": "members_emigrated"})
    post(registry, f"/municipalities/mml/focal-points/{second_focal_point['focal_point_id']}/departure", {"left_on": "2021-12-17"}, step=LAST_STEP)
    out.steps, out.replayed = story.steps + 1, story.replayed
    return out


def join(engagement: Client | Keyed, osv_id: str, person: Person, role: str, joined_on: date) -> dict[str, Any]:
    return post(engagement, "/members", {
        "osv_id": osv_id, "full_name": person.full_name, "document_type": person.document_type,
        "document_number": person.document_number, "nationality": person.nationality, "sex": person.sex,
        "joined_on": iso(joined_on), "birth_year": person.birth_year, "role": role,
    })


EVALUATOR_CODES = ("EV-PNUD-1", "EV-OIM-2")
"""Each round's two evaluator codes, held by two people (the demo accounts ``evaluator`` and ``evaluator-2``)."""


def open_round(
    funding: Client | Keyed, phase_id: str, name: str, budget: str, opens_on: date, closes_on: date, eligibility: str,
    evaluators: tuple[str, str] = ("evaluator", "evaluator-2"),
) -> str:
    """Open the round, and assign its evaluator codes, one to each of ``evaluators`` (logins): two people score it."""
    round_id: str = post(funding, "/rounds", {
        "phase_id": phase_id, "name": name, "budget": budget, "currency": "PEN", "opens_on": iso(opens_on),
        "closes_on": iso(closes_on), "eligibility": eligibility, "criteria": CRITERIA,
    })["id"]
    for code, evaluator in zip(EVALUATOR_CODES, evaluators, strict=True):
        post(funding, f"/rounds/{round_id}/evaluators", {"evaluator": code, "subject": evaluator, "assigned_on": iso(opens_on)})
    return round_id


def submit(funding: Client | Keyed, round_id: str, osv_id: str, title: str, amount: str, on: date, direct: int, indirect: int) -> str:
    return post(funding, f"/rounds/{round_id}/proposals", {
        "osv_id": osv_id, "title": title, "requested_amount": amount, "submitted_on": iso(on),
        "summary": "Actividades socioculturales y de emprendimiento entre vecinos venezolanos y peruanos.",
        "planned_direct_beneficiaries": direct, "planned_indirect_beneficiaries": indirect,
        "planned_outputs": [{"kind": "mural", "count": 1}, {"kind": "workshop", "count": 2}],
    })["id"]


def score(scoring: dict[str, Client | Keyed], proposal_id: str, rng: random.Random, on: date, weak: bool = False) -> None:
    """Each evaluator code scores the proposal, through ``scoring[code]``, signed in as the person who holds it."""
    for evaluator in EVALUATOR_CODES:
        low, high = (2, 5) if weak else (6, 10)
        post(scoring[evaluator], f"/proposals/{proposal_id}/scores", {
            "evaluator": evaluator, "scored_on": iso(on),
            "scores": [{"criterion": c["code"], "score": rng.randrange(low, high + 1)} for c in CRITERIA],
        })

