"""Generate the XLSForms staff deploy on KoboToolbox or ODK, from the APIs' own enumerations.

``python -m devtools.xlsforms --write`` (``make forms``) writes
``services/imports/xlsforms/<form>.xlsx``; without ``--write`` it says which
shipped forms are stale and exits 1 (a test does the same). Each choice list
comes from an enumeration of the API that takes the form's command, read from
its OpenAPI document (document types, sexes, roles, meeting modes and topics,
activity kinds, outputs, the OSV's kind, composition, focus areas and contact
channel), from the shared table of Lima's 43 districts (their INEI ubigeo is
the choice's value; the API takes it as the district), or the districts file
``--districts-file`` names, and from ISO 3166-1
(nationalities, as the API checks them). A value the API takes and the labels
below do not name stops the generator: the forms cannot drift from the APIs.

Every label and hint is in Spanish and English (``label::Español (es)``,
``label::English (en)``). Question names are what the importer
(:mod:`services.imports.domain.commands`) reads; choice values are the APIs' own.

The OSV a member, meeting or activity belongs to is chosen from ``osvs.csv``
(``select_one_from_file``), a media file made with ``osv-import osvs`` from
registry's list and attached to the form on Kobo: its values are OSV ids.

A programme that gives its services a districts file of its own
(``REGISTRY_DISTRICTS_FILE``…) builds its forms with the same file, into a
folder of its choice, so that they offer its districts alone::

    python -m devtools.xlsforms --districts-file trujillo.json --out forms/

The shipped forms stay Lima's: ``--districts-file`` needs ``--out``.
"""

from __future__ import annotations

import argparse
import gettext
import hashlib
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pycountry
from openpyxl import Workbook, load_workbook

from shared.districts import DistrictsFileError, DistrictTable

ES = "Español (es)"
EN = "English (en)"
FORMS_DIR = Path(__file__).resolve().parent.parent / "services" / "imports" / "xlsforms"
OSV_LIST_FILE = "osvs.csv"

SURVEY_COLUMNS = (
    "type",
    "name",
    f"label::{ES}",
    f"label::{EN}",
    f"hint::{ES}",
    f"hint::{EN}",
    "required",
    "relevant",
    "constraint",
    f"constraint_message::{ES}",
    f"constraint_message::{EN}",
    "appearance",
    "default",
)
CHOICE_COLUMNS = ("list_name", "name", f"label::{ES}", f"label::{EN}")
SETTINGS_COLUMNS = ("form_title", "form_id", "version", "default_language", "style")

# The labels of each API enumeration's values, Spanish then English. ----------------------------------

ENUM_LABELS: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "OSVKind": {
        "poblacion_vulnerable": ("Población vulnerable", "Vulnerable population"),
        "vecinal": ("Vecinal", "Neighbourhood"),
        "cultural": ("Cultural", "Cultural"),
        "deportiva": ("Deportiva", "Sports"),
        "productiva": ("Productiva", "Productive"),
        "other": ("Otra", "Other"),
    },
    "Composition": {
        "migrant_led": ("Liderada por personas migrantes o refugiadas", "Led by migrants or refugees"),
        "mixed": ("Mixta: migrantes y peruanos", "Mixed: migrants and Peruvians"),
        "host_led": ("Liderada por peruanos", "Led by Peruvians"),
    },
    "FocusArea": {
        "employment": ("Empleo", "Employment"),
        "entrepreneurship": ("Emprendimiento", "Entrepreneurship"),
        "education": ("Educación", "Education"),
        "health": ("Salud", "Health"),
        "culture": ("Cultura", "Culture"),
        "documentation": ("Documentación", "Documentation"),
        "housing": ("Vivienda", "Housing"),
        "anti_discrimination": ("Lucha contra la discriminación", "Anti-discrimination"),
        "sports": ("Deporte", "Sports"),
        "environment": ("Medio ambiente", "Environment"),
        "other": ("Otro", "Other"),
    },
    "ContactChannel": {
        "whatsapp": ("WhatsApp", "WhatsApp"),
        "facebook": ("Facebook", "Facebook"),
        "phone": ("Teléfono", "Phone"),
        "email": ("Correo electrónico", "Email"),
        "in_person": ("En persona", "In person"),
        "other": ("Otro", "Other"),
    },
    "DocumentType": {
        "DNI": ("DNI", "DNI (Peruvian ID card)"),
        "CE": ("Carné de extranjería", "Foreigner's card (CE)"),
        "PTP": ("Permiso temporal de permanencia (PTP)", "Temporary stay permit (PTP)"),
        "CPP": ("Carné de permiso temporal de permanencia (CPP)", "Temporary stay permit card (CPP)"),
        "PASAPORTE": ("Pasaporte", "Passport"),
        "CEDULA_VE": ("Cédula venezolana", "Venezuelan identity card"),
        "SOLICITANTE_REFUGIO": ("Solicitante de refugio", "Asylum seeker's card"),
        "NINGUNO": ("Ninguno", "None"),
    },
    "Sex": {"F": ("Mujer", "Female"), "M": ("Hombre", "Male"), "X": ("Otro / prefiere no decir", "Other / rather not say")},
    "Role": {
        "president": ("Presidenta o presidente", "President"),
        "board_member": ("Integrante de la junta directiva", "Board member"),
        "member": ("Socia o socio", "Member"),
    },
    "MeetingMode": {"virtual": ("Virtual", "Virtual"), "in_person": ("Presencial", "In person")},
    "MeetingTopic": {
        "ruos_registration": ("Inscripción en el RUOS", "RUOS registration"),
        "project_follow_up": ("Seguimiento del proyecto", "Project follow-up"),
        "activities_report": ("Reporte de actividades", "Activities report"),
        "beneficiaries_report": ("Reporte de beneficiarios", "Beneficiaries report"),
        "training": ("Capacitación", "Training"),
        "needs": ("Necesidades", "Needs"),
        "finances": ("Finanzas", "Finances"),
        "other": ("Otro", "Other"),
    },
    "ActivityKind": {
        "workshop": ("Taller", "Workshop"),
        "fair": ("Feria", "Fair"),
        "cultural_event": ("Evento cultural", "Cultural event"),
        "sports_event": ("Evento deportivo", "Sports event"),
        "clean_up": ("Limpieza", "Clean-up"),
        "mural_painting": ("Pintado de mural", "Mural painting"),
        "campaign": ("Campaña", "Campaign"),
        "training": ("Capacitación", "Training"),
        "other": ("Otra", "Other"),
    },
    "OutputKind": {
        "mural": ("Mural", "Mural"),
        "public_space_recovered": ("Espacio público recuperado", "Public space recovered"),
        "workshop": ("Taller", "Workshop"),
        "fair": ("Feria", "Fair"),
        "campaign": ("Campaña", "Campaign"),
        "training": ("Capacitación", "Training"),
        "other": ("Otro", "Other"),
    },
}

# Which list each choice list is: (service, OpenAPI schema), or a table of ours. ------------------------

API_LISTS: Mapping[str, tuple[str, str]] = {
    "osv_kinds": ("registry", "OSVKind"),
    "compositions": ("registry", "Composition"),
    "focus_areas": ("registry", "FocusArea"),
    "contact_channels": ("registry", "ContactChannel"),
    "document_types": ("engagement", "DocumentType"),
    "sexes": ("engagement", "Sex"),
    "roles": ("engagement", "Role"),
    "meeting_modes": ("engagement", "MeetingMode"),
    "meeting_topics": ("engagement", "MeetingTopic"),
    "activity_kinds": ("engagement", "ActivityKind"),
    "output_kinds": ("engagement", "OutputKind"),
}
FIRST_NATIONALITIES = ("VE", "PE", "CO", "EC")
"""Listed first: the nationalities the programme meets most."""


# The forms -------------------------------------------------------------------------------------------


NO_PERSONAL_DATA = (
    "Lo que la organización hizo y acordó. No escriba nombres, números de documento, teléfonos, salud ni situación "
    "migratoria de nadie",
    "What the organisation did and agreed. Do not write anyone's name, document number, phone, health or migration status",
)
"""The hint of a free-text question (Spanish, English): staff's words are read by the programme, a person is found in
engagement's members by id (README, *Free text*)."""


@dataclass
class Question:
    type: str
    name: str
    es: str
    en: str
    hint_es: str = ""
    hint_en: str = ""
    required: bool = False
    relevant: str = ""
    constraint: str = ""
    constraint_es: str = ""
    constraint_en: str = ""
    appearance: str = ""
    default: str = ""

    def row(self) -> list[Any]:
        return [
            self.type,
            self.name,
            self.es,
            self.en,
            self.hint_es,
            self.hint_en,
            "yes" if self.required else "",
            self.relevant,
            self.constraint,
            self.constraint_es,
            self.constraint_en,
            self.appearance,
            self.default,
        ]


def end(kind: str) -> Question:
    return Question(f"end_{kind}", "", "", "")


META = [Question("start", "start", "", ""), Question("end", "end", "", "")]
OSV_QUESTION = Question(
    f"select_one_from_file {OSV_LIST_FILE}",
    "osv",
    "OSV",
    "OSV",
    "Elija la organización (lista de registry: osv-import osvs)",
    "Choose the organisation (registry's list: osv-import osvs)",
    required=True,
    appearance="minimal autocomplete",
)
NOT_NEGATIVE = {"constraint": ". >= 0", "constraint_es": "No puede ser negativo", "constraint_en": "Cannot be negative"}
PERUVIANS_DOCUMENT = {
    "constraint": ". != 'PE' or not(" + " or ".join(f"${{tipo_documento}} = '{kind}'" for kind in ("CE", "PTP", "CPP", "SOLICITANTE_REFUGIO")) + ")",
    "constraint_es": "Un CE, PTP, CPP o trámite de refugio es de extranjeros: revise el documento o la nacionalidad",
    "constraint_en": "A CE, PTP, CPP or asylum claim is a foreigner's: check the document or the nationality",
}
"""A Peruvian with a document Peru gives foreigners only, refused on the phone as engagement refuses it (422
``document_for_foreigners``, tester 262 F5)."""
AT_LEAST_ONE = {"constraint": ". >= 1", "constraint_es": "Al menos 1", "constraint_en": "At least 1"}


@dataclass
class FormSpec:
    form_id: str
    title_es: str
    title_en: str
    questions: list[Question]
    lists: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.title_es} / {self.title_en}"


def osv_mapping() -> FormSpec:
    return FormSpec(
        "osv_mapping",
        "Mapeo de OSV",
        "OSV mapping",
        [
            *META,
            Question("begin_group", "osv", "La organización", "The organisation"),
            Question("text", "nombre", "Nombre de la OSV", "Name of the OSV", required=True),
            Question(
                "select_one districts", "distrito", "Distrito", "District", required=True, appearance="minimal autocomplete"
            ),
            Question("select_one osv_kinds", "tipo", "Tipo de organización", "Kind of organisation"),
            Question("select_one compositions", "composicion", "¿Quién la lidera?", "Who leads it?"),
            Question("select_multiple focus_areas", "ejes", "Ejes de trabajo", "What it works on"),
            Question(
                "select_one contact_channels",
                "canal_contacto",
                "Canal de contacto",
                "Contact channel",
                "Solo el tipo de canal: nunca un número ni una cuenta",
                "The kind of channel only: never a number or a handle",
            ),
            end("group"),
            Question("date", "fecha_mapeo", "Fecha de identificación", "Date identified", required=True),
        ],
        ["districts", "osv_kinds", "compositions", "focus_areas", "contact_channels"],
    )


def members() -> FormSpec:
    return FormSpec(
        "osv_members",
        "Registro de socias y socios",
        "Members' registration",
        [
            *META,
            OSV_QUESTION,
            Question(
                "begin_repeat",
                "miembros",
                "Socia o socio",
                "Member",
                "Una persona por entrada",
                "One person per entry",
            ),
            Question("text", "nombre_completo", "Nombre completo", "Full name", required=True),
            Question("select_one document_types", "tipo_documento", "Documento de identidad", "Identity document", required=True),
            Question(
                "text",
                "numero_documento",
                "Número de documento",
                "Document number",
                required=True,
                relevant="${tipo_documento} != 'NINGUNO'",
            ),
            Question(
                "select_one nationalities", "nacionalidad", "Nacionalidad", "Nationality", required=True, appearance="minimal autocomplete",
                **PERUVIANS_DOCUMENT,
            ),
            Question("select_one sexes", "sexo", "Sexo", "Sex", required=True),
            Question("integer", "anio_nacimiento", "Año de nacimiento", "Year of birth", "Si la persona lo da", "If the person gives it"),
            Question("select_one roles", "rol", "Rol en la OSV", "Role in the OSV", required=True, default="member"),
            Question(
                "text",
                "telefono",
                "Teléfono",
                "Phone",
                "Si la persona lo da: 6 a 15 dígitos",
                "If the person gives one: 6 to 15 digits",
                appearance="numbers",
            ),
            Question("date", "fecha_ingreso", "Fecha de ingreso a la OSV", "Date the person joined the OSV", required=True),
            end("repeat"),
        ],
        ["document_types", "nationalities", "sexes", "roles"],
    )


def meeting() -> FormSpec:
    return FormSpec(
        "osv_meeting",
        "Reunión de seguimiento",
        "Follow-up meeting",
        [
            *META,
            OSV_QUESTION,
            Question("date", "fecha", "Fecha de la reunión", "Date of the meeting", required=True),
            Question("select_one meeting_modes", "modalidad", "Modalidad", "Mode", required=True),
            Question("select_multiple meeting_topics", "temas", "Temas tratados", "Topics followed up", required=True),
            Question(
                "integer",
                "otros_asistentes",
                "Otras personas presentes",
                "Others present",
                "Que no son socias o socios: equipo, funcionarios",
                "Not members: staff, officials",
                default="0",
                **NOT_NEGATIVE,
            ),
            Question("text", "notas", "Notas", "Notes", *NO_PERSONAL_DATA, appearance="multiline"),
            Question("begin_repeat", "acciones", "Acción acordada", "Action agreed"),
            Question("text", "descripcion", "¿Qué se acordó?", "What was agreed?", required=True),
            Question(
                "text",
                "responsable",
                "Responsable (un rol, no un nombre)",
                "Who does it (a role, not a name)",
                "Junta directiva, equipo del programa…",
                "Board, programme team…",
                required=True,
            ),
            Question("date", "fecha_limite", "Fecha límite", "Due date", required=True),
            end("repeat"),
        ],
        ["meeting_modes", "meeting_topics"],
    )


def activity() -> FormSpec:
    outputs = [
        Question(
            "integer",
            f"cantidad_{kind}",
            f"Cantidad: {es}",
            f"How many: {en}",
            required=True,
            relevant=f"selected(${{productos}}, '{kind}')",
            **AT_LEAST_ONE,
        )
        for kind, (es, en) in ENUM_LABELS["OutputKind"].items()
    ]
    return FormSpec(
        "osv_activity",
        "Actividad de la OSV",
        "OSV activity",
        [
            *META,
            OSV_QUESTION,
            Question("date", "fecha", "Fecha de la actividad", "Date of the activity", required=True),
            Question("select_one activity_kinds", "tipo", "Tipo de actividad", "Kind of activity", required=True),
            Question(
                "select_one districts", "distrito", "Distrito donde se realizó", "District where it was held", required=True,
                appearance="minimal autocomplete",
            ),
            Question(
                "begin_repeat",
                "participantes",
                "Participantes (beneficiarios directos)",
                "Participants (direct beneficiaries)",
                "Una entrada por nacionalidad y sexo",
                "One entry per nationality and sex",
            ),
            Question(
                "select_one nationalities", "nacionalidad", "Nacionalidad", "Nationality", required=True, appearance="minimal autocomplete"
            ),
            Question("select_one sexes", "sexo", "Sexo", "Sex", required=True),
            Question("integer", "cantidad", "Cuántas personas", "How many people", required=True, **AT_LEAST_ONE),
            end("repeat"),
            Question(
                "integer",
                "beneficiarios_indirectos",
                "Beneficiarios indirectos",
                "Indirect beneficiaries",
                default="0",
                **NOT_NEGATIVE,
            ),
            Question("select_multiple output_kinds", "productos", "¿Qué dejó la actividad?", "What did it leave behind?"),
            Question("begin_group", "cantidades", "Cantidades", "Counts", relevant="${productos} != ''"),
            *outputs,
            end("group"),
            Question("text", "descripcion", "Descripción", "Description", *NO_PERSONAL_DATA, appearance="multiline"),
        ],
        ["activity_kinds", "districts", "nationalities", "sexes", "output_kinds"],
    )


FORMS = (osv_mapping, members, meeting, activity)


# The choice lists ----------------------------------------------------------------------------------


def api_enumerations() -> dict[str, dict[str, list[str]]]:
    """Each write service's OpenAPI enumerations: service -> schema name -> values, in the API's order."""
    from services.engagement.api import create_app as engagement_app
    from services.registry.api import create_app as registry_app

    found = {}
    for service, factory in (("registry", registry_app), ("engagement", engagement_app)):
        schemas = factory().openapi()["components"]["schemas"]
        found[service] = {name: list(schema["enum"]) for name, schema in schemas.items() if "enum" in schema}
    return found


class StaleLabelsError(RuntimeError):
    """The API takes a value the generator has no labels for (or no longer takes one it labels)."""


def choice_rows(
    list_name: str, enumerations: Mapping[str, Mapping[str, list[str]]], districts: DistrictTable | None = None
) -> list[list[str]]:
    """The choices of ``list_name``, as rows of the choices sheet; ``districts``: the table the districts are (the shipped one if None)."""
    if list_name == "districts":
        return [[list_name, d.ubigeo, d.name, d.name] for d in (districts or DistrictTable.of_lima()).districts]
    if list_name == "nationalities":
        return nationality_rows(list_name)
    service, schema = API_LISTS[list_name]
    values = enumerations[service][schema]
    labels = ENUM_LABELS[schema]
    if set(values) != set(labels):
        msg = (
            f"{service}'s {schema} takes {sorted(values)}, the labels here name {sorted(labels)}: "
            "add or drop labels in devtools/xlsforms.py"
        )
        raise StaleLabelsError(msg)
    return [[list_name, value, *labels[value]] for value in values]


def nationality_rows(list_name: str) -> list[list[str]]:
    spanish = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["es"])
    first = {code: place for place, code in enumerate(FIRST_NATIONALITIES)}
    countries = sorted(pycountry.countries, key=lambda c: (first.get(c.alpha_2, len(first)), spanish.gettext(c.name)))
    rows = []
    for country in countries:
        english = getattr(country, "common_name", None) or country.name
        rows.append([list_name, country.alpha_2, spanish.gettext(country.name), english])
    return rows


# Writing and checking -----------------------------------------------------------------------------


def sheets(
    spec: FormSpec, enumerations: Mapping[str, Mapping[str, list[str]]], districts: DistrictTable | None = None
) -> dict[str, list[list[Any]]]:
    """The form's three sheets as rows, header first; its districts ``districts``' (the shipped table's if None)."""
    survey = [list(SURVEY_COLUMNS), *(q.row() for q in spec.questions)]
    choices = [list(CHOICE_COLUMNS)]
    for list_name in spec.lists:
        choices.extend(choice_rows(list_name, enumerations, districts))
    digest = hashlib.sha256(json.dumps([survey, choices], ensure_ascii=False).encode()).hexdigest()[:10]
    settings = [list(SETTINGS_COLUMNS), [spec.title, spec.form_id, digest, ES, "pages"]]
    return {"survey": survey, "choices": choices, "settings": settings}


def write(path: Path, content: Mapping[str, list[list[Any]]]) -> None:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in content.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)


def read(path: Path) -> dict[str, list[list[Any]]]:
    workbook = load_workbook(path, read_only=True)
    try:
        return {
            sheet.title: [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]
            for sheet in workbook.worksheets
        }
    finally:
        workbook.close()


def generated(districts: DistrictTable | None = None) -> dict[str, dict[str, list[list[Any]]]]:
    """Every form's sheets, by file name; their districts ``districts``' (the shipped table's if None)."""
    enumerations = api_enumerations()
    return {f"{spec.form_id}.xlsx": sheets(spec, enumerations, districts) for spec in (make() for make in FORMS)}


def stale(directory: Path = FORMS_DIR) -> list[str]:
    """The shipped forms that differ from what the generator makes now (or are missing)."""
    out = []
    for name, content in generated().items():
        path = directory / name
        if not path.exists() or read(path) != {k: [list(r) for r in v] for k, v in content.items()}:
            out.append(name)
    return out


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.xlsforms", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the forms into services/imports/xlsforms/")
    parser.add_argument("--districts-file", type=Path, metavar="FILE",
                        help="offer the districts of this districts list (JSON, as shared/data/districts.json: the file given to the "
                        "services as REGISTRY_DISTRICTS_FILE…) instead of the shipped table's; needs --out")
    parser.add_argument("--out", type=Path, metavar="DIR", help="write the forms into this folder instead of services/imports/xlsforms/")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.districts_file is not None and args.out is None:
        parser.error("--districts-file needs --out DIR: the forms in services/imports/xlsforms/ are the shipped table's")
    districts = None
    if args.districts_file is not None:
        try:
            districts = DistrictTable.of_lima(args.districts_file)
        except DistrictsFileError as error:  # not there, not JSON, or a rule broken: which district, which field
            parser.error(f"--districts-file {args.districts_file}: {error.problem}")
    if args.write or args.out is not None:
        folder = args.out or FORMS_DIR
        for name, content in generated(districts).items():
            write(folder / name, content)
            print(f"wrote {folder / name}")
        return 0
    outdated = stale()
    for name in outdated:
        print(f"stale: {name} (run make forms)", file=sys.stderr)
    return 1 if outdated else 0


if __name__ == "__main__":
    raise SystemExit(main())
