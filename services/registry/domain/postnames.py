"""Whether a focal point's office or post names the official who holds it. Pure: no I/O.

A focal point's ``office`` and ``role`` are published to the municipality's partners and kept for good; officials
rotate and the post stays, so neither may carry a person's name. A name is told by the title written before it in Peru
("Lic. Carmen Salazar"): a title (:data:`TITLES`), then a name-shaped word that is no word of a post, then, past any
particles of a compound name ("de los"), nothing more or a second word that is no word of a post either. Words of posts
(:data:`POST_WORDS`) are a closed list, names an open one: "Ing. Civil Residente", "Lic. Trabajo Social", "Sr.
Analista", "Ing. Sanitario" are posts (tester 239 F1), "LIC. CARMEN SALAZAR", "Lic. María de los Ángeles Torres",
"C.P.C. Jorge Vera" and a surname or a given name alone, "Ing. Quispe", "Lic. Rosa" (tester 242 F5), are people. A post
word missing from the list after a title is refused (the message says to give the post alone; "Ingeniero sanitario",
in lower case after the title, is taken). A name written without a title cannot be told from a post: staff's to keep out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from shared.errors import RuleViolationError

TITLES = re.compile(
    r"(?<![\w.])(?:"
    r"(?:sra?|srta|dra?|licd?a?|lcd[oa]|ing|abog|prof|profa|mg|mtr[oa]|arq|c\.?p\.?c|bach|tec|econ|psic|obst)(?:\.\s*|\s+)"
    r"|(?:se[ñn]or(?:a|ita)?|doctora?|licenciad[oa]|ingenier[oa]|abogad[oa]|profesora?|mag[ií]ster|arquitect[oa]"
    r"|economista|psic[oó]log[oa]|bachiller|t[eé]cnic[oa]|obstetra|contadora?)\s+)",
    re.IGNORECASE,
)
"""A title written before a person's name in Peru, abbreviated (Sr., Sra., Srta., Dr., Dra., Lic., Licda., Lcdo., Lcda.,
Ing., Abog., Prof., Mg., Mtro., Mtra., Arq., CPC. or C.P.C., Bach., Tec., Econ., Psic., Obst.), with its dot or
without, or in full (Señora, Doctor, Licenciada, Ingeniero, Abogada, Profesora, Magíster, Arquitecto, Economista,
Psicóloga, Bachiller, Técnico, Obstetra, Contadora…)."""

NAME_WORD = re.compile(r"[A-ZÁÉÍÓÚÜÑ][A-Za-zÁÉÍÓÚÜÑáéíóúüñ'-]+")
"""A word a name begins with: capitalised or in capitals, hyphenated or not (Carmen, CARMEN, Salazar-Ríos)."""

WORD = re.compile(r"[A-Za-zÁÉÍÓÚÜÑáéíóúüñ][A-Za-zÁÉÍÓÚÜÑáéíóúüñ'-]+")
"""A word of letters, in any case: a surname is sometimes typed in lower case ("Lic. Carmen salazar")."""

PARTICLES = frozenset({"de", "del", "la", "las", "los", "y"})
"""Words inside a compound name, between a first name and a surname ("María de los Ángeles Torres")."""

NOT_A_NAME = frozenset({"e", "o", "u", "a", "al", "en", "con", "para", "por", "sin"})
"""Words that follow a post's words, never a person's ("Lic. Laura en…" aside, a name is not followed by them)."""

POST_WORDS = frozenset("""
especialista analista asesor asesora asistente asistenta supervisor supervisora residente coordinador coordinadora jefe
jefa gerente subgerente director directora subdirector subdirectora promotor promotora tecnico tecnica social sociales
civil legal general obra obras trabajo enfermeria comunitario comunitaria presupuesto programador programadora sistemas
planeamiento participacion vecinal desarrollo humano municipal administrativo administrativa administracion contable
contabilidad contador contadora proyectos proyecto programas programa senior junior principal responsable encargado
encargada campo zonal distrital ambiental salud educacion seguridad ciudadana fiscalizador fiscalizadora fiscalizacion
logistica catastro urbano urbana rural gestion publica publico adjunto adjunta auxiliar practicante secretario
secretaria operador operadora registrador registradora comunicaciones prensa imagen informatica estadistica monitor
monitora evaluador evaluadora capacitador capacitadora planta turno enlace oficina area unidad division departamento
seccion gerencia subgerencia mesa partes archivo servicios servicio defensa mujer familia juventud infraestructura medio
ambiente limpieza transporte transito rentas tributaria recursos tesoreria abastecimiento personal coordinacion
supervision orientador orientadora facilitador facilitadora gestor gestora consultor consultora ingeniero ingeniera
medico medica psicologo psicologa abogado abogada economista arquitecto arquitecta sociologo sociologa nutricionista
obstetra enfermero enfermera docente profesor profesora titular interino interina suplente sanitario sanitaria
industrial agronomo agronoma electricista mecanico mecanica electronico electronica quimico quimica forestal ambiental
zootecnista estadistico estadistica geografo geografa sociologia antropologia derecho comunicacion periodista
psicologia economia contabilidad arquitectura ingenieria enfermeria nutricion obstetricia educacion inicial primaria
secundaria especial colegiado colegiada habilitado habilitada asociado asociada auditor auditora cajero cajera
notificador notificadora inspector inspectora jefatura encargatura
""".split())
"""Words of a post or an office, without accents and in lower case: a word among them is never taken for a name."""


class PersonNamedError(RuleViolationError):
    """A focal point's office or post names a person: it is published to the municipality's partners and kept for
    good, and a person's name may be neither (officials rotate; the post stays). Never repeats the name."""

    def __init__(self, field: str, title: str) -> None:
        super().__init__(
            f"{field} names a post, never the person who holds it: '{title}' comes before a person's name; give the post "
            "alone (e.g. especialista de participación vecinal); focal points are published to partners and kept for good",
            field=field,
            rule="post_not_person",
        )


def people_named(**posts: str) -> Iterator[PersonNamedError]:
    """The refusal (422 ``post_not_person``, the name never repeated) of each of ``posts`` (field name → text) that writes
    a title (:data:`TITLES`) before a person's name (the module's rule); one each."""
    for field, text in posts.items():
        for title in TITLES.finditer(text):
            if _names_someone(text[title.end() :].split()):
                yield PersonNamedError(field, title.group(0).strip())
                break


def _names_someone(words: list[str]) -> bool:
    """Whether the words after a title begin with a name and a surname: a name-shaped first word and, past particles, a
    second word, neither of them a word of a post."""
    words = [word.strip(",;:()[]\"'.") for word in words]
    if not words or not NAME_WORD.fullmatch(words[0]) or _of_a_post(words[0]):
        return False
    rest = words[1:]
    while rest and rest[0].lower() in PARTICLES:
        rest = rest[1:]
    if not rest or not WORD.fullmatch(rest[0]):
        return True  # a surname or a given name alone: "Ing. Quispe", "Lic. Rosa" (tester 242 F5)
    return not _of_a_post(rest[0]) and rest[0].lower() not in NOT_A_NAME


def _of_a_post(word: str) -> bool:
    plain = "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))
    return any(part in POST_WORDS for part in plain.split("-"))
