"""The Kobo REST Services webhook: each submission Kobo posts becomes the same commands ``osv-import`` sends.

``POST /kobo/{form_id}/submissions`` takes the JSON Kobo posts for one
submission of a shipped form. Only a configured hook may post: Kobo's REST
Service for that form sends HTTP Basic auth, user name the form id and
password the secret set for it in ``IMPORTS_KOBO_HOOKS`` (compared in
constant time); anything else gets 401, and a form with no secret set
cannot be posted at all. Set the secret on Kobo (project → Settings → REST
Services → Authentication: Basic) and serve this over HTTPS.

The submission is checked and recorded as a row of ``osv-import``
(:class:`~services.imports.application.Importer`): all its commands as a dry
run first, then for real, keyed by its ``meta/rootUuid`` (its ``_uuid``
from a Kobo before 2025, which posts none): an edit Kobo posts, with a new
``_uuid``, is keyed as the submission it edits, and refused when it differs
(:func:`~services.imports.refusals.edited_since`), or recorded as far as its
commands go; every edit Kobo posts that is recorded, all or in part, carries
the ``edited_in_kobo`` note (:func:`~services.imports.refusals.edit_noted`),
the same on Kobo's retry;
an edit posted without ``meta/rootUuid`` is refused, ``edit_without_root_uuid``
(:func:`~services.imports.domain.commands.unkeyed_edit`). The webhook calls the
services with its own token (client credentials, client ``osv-imports``,
role ``importer``: it records, and reads nobody's data). Kobo retries a post that failed, and a person can resend
one: a submission carried out already is answered 200 and records nothing.

Answers: 201 recorded; 200 already there (with the ``recorded_otherwise``
note in ``notes`` when another account recorded it first; either, for an
edit made in Kobo, with the ``edited_in_kobo`` note instead, that if an
earlier version was recorded what this one took out or changed is not
undone); 422
problem+json naming each JSON key at fault with the API's rule and words
(the first 100, with ``errors_not_listed`` counting the rest, as the services'
422s; past the listed, an entry engagement's schema refuses is counted by it, not sent: :mod:`services.imports.schemachecks`), with
``Retry-After`` when one of them may clear up by itself (an OSV mapped a moment ago, not heard of yet: :func:`retry_after`); 409 when part of it was recorded and the rest refused (see the importer on
this residual risk; an edit's ``edited_in_kobo`` note listed after the refusal); 502 when a service cannot be reached (Kobo will retry).
Nothing of the submission is logged or kept. The answer lands in Kobo's
REST Services log, which every admin of the form reads: its messages name
no id (:func:`for_kobo_log`), so a refusal for a person registered
elsewhere does not say as whom.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import math
import re
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from services.imports.application import Importer
from services.imports.bootstrap import lazy_services
from services.imports.client import ImportStopped
from services.imports.domain.commands import Problem, row_of
from services.imports.domain.submissions import kobo_json_path, kobo_path
from services.imports.exports import from_kobo_json
from services.imports.forms import shipped
from services.imports.outcomes import Outcome, RowResult
from services.imports.refusals import AFTER_RETRY_AFTER, REDACTED, for_a_kobo_admin
from services.imports.schemas import SubmissionNote, SubmissionPublic
from services.imports.settings import ImportSettings
from shared.auth import AuthError, AuthSettings
from shared.docs import install_docs
from shared.errors import LAG_RETRY_AFTER_SECONDS, RuleViolationError
from shared.guards import SecureHeaders, install_documentation, problem
from shared.lifecycle import log_to_console
from shared.listing import refuse_unknown_query_parameters
from shared.problems import MAX_LISTED_ERRORS, install_error_handlers, listed_errors
from shared.settings import read_or_exit
from shared.web import BodyLimit

log = logging.getLogger(__name__)

REALM = "osv-platform kobo hooks"


class HookRefused(AuthError):
    """401: not a configured Kobo hook (no Basic auth, another form's, or a wrong password)."""

    title = "Unauthorized"

    def __init__(self) -> None:
        detail = "Only a configured Kobo hook may post: HTTP Basic with the form id and its secret."
        super().__init__(401, detail, {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'})


def _hook_allowed(settings: ImportSettings, form_id: str, authorization: str | None) -> bool:
    secret = settings.kobo_hooks.get(form_id)
    if secret is None or not authorization or not authorization.lower().startswith("basic "):
        return False
    try:
        user, _, password = base64.b64decode(authorization[6:].strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    same_user = hmac.compare_digest(user.encode(), form_id.encode())
    same_secret = hmac.compare_digest(password.encode(), secret.get_secret_value().encode())
    return same_user and same_secret


def kobo_hook(
    request: Request,
    form_id: Annotated[str, Path(description="The form's id: osv_mapping, osv_members, osv_meeting or osv_activity.")],
    authorization: Annotated[str | None, Header(max_length=1024, description="HTTP Basic: the form id and its hook's secret.")] = None,
) -> str:
    """The form id, once the request is known to come from that form's hook (checked before the body is read)."""
    if not _hook_allowed(request.app.state.import_settings, form_id, authorization):
        raise HookRefused()
    return form_id


KoboHook = Annotated[str, Depends(kobo_hook)]


UUID_IN_TEXT = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")


def for_kobo_log(message: str) -> str:
    """``message`` with every id in it (a member, a membership, an OSV) replaced by ``[…]``.

    The webhook's answer is kept in Kobo's REST Services log, which every admin of the form reads: a refusal such as
    engagement's 409 ``person_already_registered`` names the member id of a person registered elsewhere, and the
    log must not. The rule stays, so the promoter knows what to ask staff; ``osv-import``'s report keeps the ids.
    """
    return UUID_IN_TEXT.sub(REDACTED, message)


def retry_after(problems: Iterable[Problem]) -> int | None:
    """The webhook's refusal's ``Retry-After`` (whole seconds) when one of its ``problems`` may clear up by itself: the
    largest a service gave (:attr:`Problem.retry_after <services.imports.domain.commands.Problem.retry_after>`), or
    :data:`~shared.errors.LAG_RETRY_AFTER_SECONDS` for a message that says to retry after it without one; else None.
    Its message said "(retry after Retry-After)" with no header to retry after (tester 206 F4): Kobo's client and any
    sender retrying on the header did not know to."""
    problems = list(problems)
    given = [p.retry_after for p in problems if p.retry_after is not None]
    if given:
        return max(1, math.ceil(max(given)))
    return LAG_RETRY_AFTER_SECONDS if any(AFTER_RETRY_AFTER in p.message for p in problems) else None


def _answer(form_id: str, uuid: str | None, result: RowResult) -> JSONResponse:
    if result.outcome in (Outcome.CREATED, Outcome.ALREADY_THERE):
        notes = [SubmissionNote(field=p.field, rule=p.rule, message=for_kobo_log(p.message)) for p in result.problems]
        body = SubmissionPublic(
            form_id=form_id, uuid=uuid, outcome=str(result.outcome), commands=len(result.row.commands), notes=notes
        )
        return JSONResponse(body.model_dump(), status_code=201 if result.outcome == Outcome.CREATED else 200)
    errors = [
        {"field": kobo_path(p.cell) or p.field, "rule": p.rule, "message": for_kobo_log(for_a_kobo_admin(p).message)}
        for p in result.problems
    ]
    # Bounded as the services' 422s are: the answer is kept in Kobo's REST Services log (tester 33c F6: 25,001 errors
    # answered 3.2 MB for a 175 KB submission).
    detail, listed, extensions = listed_errors(errors)
    seconds = retry_after(result.problems)
    headers = {"Retry-After": str(seconds)} if seconds is not None else None
    if result.outcome == Outcome.PARTIAL:
        detail = f"part of the submission was recorded and the rest refused: {detail}"
        return problem(409, "Conflict", detail, listed, headers=headers, extensions=extensions)
    return problem(422, "Unprocessable Content", detail, listed, headers=headers, extensions=extensions)


def importer_of(request: Request) -> Importer:
    """The importer, over the services as :mod:`services.imports.bootstrap` reaches them; a refused submission's problems
    past the answer's listed ones are counted by the services' schemas where those refuse them, not sent
    (:attr:`Importer.listed <services.imports.application.Importer.listed>`)."""
    return Importer(request.app.state.services(), listed=MAX_LISTED_ERRORS)


ImporterDep = Annotated[Importer, Depends(importer_of)]


async def no_dry_run(request: Request, _: KoboHook) -> None:
    """422 ``no_dry_run_here`` for a ``Dry-Run`` header (once the hook's secret is checked), before the importer is made:
    the webhook takes no dry run."""
    if "dry-run" in request.headers:
        raise RuleViolationError(
            "the webhook records what Kobo posts and takes no dry run: nothing was recorded; check a form's rows with "
            "`osv-import --dry-run`, or send the submission without the header",
            field="Dry-Run",
            rule="no_dry_run_here",
        )


kobo = APIRouter(prefix="/kobo", tags=["kobo"])
operations = APIRouter(tags=["operations"])


@kobo.post(
    "/{form_id}/submissions",
    status_code=201,
    dependencies=[Depends(no_dry_run)],
    response_model=SubmissionPublic,
    responses={
        200: {"description": "Carried out before: nothing recorded again.", "model": SubmissionPublic},
        415: {"description": "The body is sent as other than JSON (`json_content_type`): Kobo sends `application/json`."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "One submission as Kobo's REST Services post it (JSON; keys are the questions' group paths).",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def receive_submission(form_id: KoboHook, request: Request, importer: ImporterDep) -> JSONResponse:
    """Record one submission Kobo's REST Services posted, as `osv-import` would (each command checked first).

    The body is JSON (`application/json`, as Kobo sends it, or no `Content-Type`): any other type is 415 `json_content_type`
    from the request guard every service has (:class:`shared.guards.RequestGuard`), since the body checks every JSON body
    passes (duplicate keys, numbers, nesting) are made for JSON ones (tester 36c, F1: read as JSON all the same, a
    `text/plain` body went past them). It takes no dry run: a `Dry-Run` header is 422 `no_dry_run_here`, never a real
    write (tester 166 F2), as `?dry_run=` is refused (`known_parameter`)."""
    try:
        submission = json.loads(await request.body())
    except ValueError:
        submission = None
    if not isinstance(submission, dict):
        detail = "the body must be one submission as a JSON object"
        return problem(422, "Unprocessable Content", detail, [{"field": "body", "rule": "json_object", "message": detail}])
    form = shipped().get(form_id)
    if form is None:
        return problem(404, "Not Found", f"no form {form_id!r}")
    parsed = from_kobo_json(data=submission, form=form)
    row = row_of(form=form, submission=parsed, spreadsheet=False)
    try:
        result = await run_in_threadpool(lambda: importer.run_row(row=row, dry_run=False))
    except ImportStopped as stopped:
        log.error("a Kobo submission of %s could not be recorded: %s", form_id, stopped)
        return problem(502, "Bad Gateway", f"the services could not take the submission now; send it again: {stopped}")
    log.info("Kobo submission of %s: %s", form_id, result.outcome)
    return _answer(form_id, parsed.uuid, result)


@operations.get("/health")
def health(request: Request) -> dict[str, Any]:
    """Say the webhook runs, and which forms have a hook configured."""
    settings: ImportSettings = request.app.state.import_settings
    return {"status": "ok", "service": settings.service_name, "hooks": sorted(settings.kobo_hooks)}


# The app ---------------------------------------------------------------------------------


def create_app(
    settings: ImportSettings | None = None,
    *,
    auth_settings: AuthSettings | None = None,
    auth: httpx.Auth | Callable[[], httpx.Auth] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> FastAPI:
    """Build the webhook (run with ``uvicorn --factory``).

    Its requests to the services carry ``auth``; by default a client-credentials
    token of ``settings.client_id`` from the provider ``auth_settings`` names
    (``OSV_AUTH_ISSUER``).
    """
    log_to_console("imports")
    settings = settings or read_or_exit(ImportSettings)
    api = FastAPI(
        title="osv-platform imports",
        version="0.1.0",
        description="KoboToolbox REST Services webhook: each submission becomes the services' commands, checked first.",
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,  # a hook's URL with a trailing slash is 404, not a 307 to a URL built from the Host header
    )
    install_docs(api)  # Swagger UI and ReDoc from the service's own copies (no sign-in: hooks use HTTP Basic)
    api.state.import_settings = settings
    api.state.services = lazy_services(settings, auth_settings or read_or_exit(AuthSettings), auth=auth, transport=transport)
    install_error_handlers(api)
    install_documentation(api, settings.max_body_bytes)
    api.add_exception_handler(AuthError, _refused)
    # Kobo's names: miembros[2]/sexo. An answer holding a control character is the import's to refuse, on its question
    # and with the submission's other mistakes (tester 226 F4): the guard refused the whole post as `body`.
    api.add_middleware(BodyLimit, limit=settings.max_body_bytes, path_of=kobo_json_path, control_characters=False)
    api.add_middleware(SecureHeaders)  # outermost: the body limit's answers get the headers too
    api.include_router(kobo)
    api.include_router(operations)
    refuse_unknown_query_parameters(api)
    return api


async def _refused(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AuthError)
    return error.problem()
