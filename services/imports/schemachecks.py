"""A command's body read here by its service's own request schema: what the service would refuse it for, without asking.

The importer checks every command by a dry run (:mod:`services.imports.application`); past the problems a refused
row's answer lists (the webhook's 100), a command whose body its schema refuses needs no request to be counted: its
schema says what the service's 422 would, in the service's words (:func:`shared.problems.request_errors`, the handler
every service answers a refused body with). A Kobo submission of 5,000 wrong members made 5,000 dry runs, 25 to 40 s of
the webhook and of engagement, to count errors nobody is shown.

Only the schemas of commands a row holds many of are here: engagement's ``POST /members`` (a members' submission makes
one per entry of ``miembros``); a row's other commands are one each, sent as they are.

The problems listed are always the service's own answers. Past them, the count is the schema's where the service
would say more or otherwise: a birth year out of its range beside the entry's other mistakes (engagement checks it by
its own clock, :func:`shared.schemas.application_rule`), or an entry whose Idempotency-Key an earlier version of it
took (engagement names that instead of the body's mistakes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from services.engagement.schemas import MemberCreate
from services.imports.domain.commands import Command
from shared.problems import MAX_LISTED_ERRORS, request_errors

REQUEST_SCHEMAS: Mapping[tuple[str, str], type[BaseModel]] = {
    ("engagement", "/members"): MemberCreate,
}
"""(service, path) of a command → the request schema the service reads its body with."""


def schema_errors(command: Command) -> list[dict[str, Any]] | None:
    """The errors the service's 422 would list for ``command``'s body by its schema alone (``{"field", "rule", "message"}``,
    the first :data:`~shared.problems.MAX_LISTED_ERRORS`, as the service lists them), or None when the schema takes the body
    or this module knows no schema for the command (:data:`REQUEST_SCHEMAS`): only the service can say then."""
    schema = REQUEST_SCHEMAS.get((command.service, command.path))
    if schema is None:
        return None
    try:  # as FastAPI reads a JSON body: the object parsed, in Python mode
        schema.model_validate(command.body, from_attributes=True)
    except ValidationError as refused:
        errors = request_errors({**error, "loc": ("body", *error["loc"])} for error in refused.errors())
        return errors[:MAX_LISTED_ERRORS]
    return None
