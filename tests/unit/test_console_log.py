"""A service's own log lines on the console say when, how grave, which service and process, which module."""

from __future__ import annotations

import io
import logging
import os
import re

from shared.lifecycle import keep_queries_out_of_access_lines, log_to_console


def test_a_services_warning_reaches_the_console_with_its_time_level_service_and_process() -> None:
    """Tester 25 L5: under uvicorn the services' warnings came out as bare messages, four workers' alike."""
    root, out = logging.Logger("root-of-a-worker"), io.StringIO()
    log_to_console("funding", root=root, stream=out)
    following = logging.Logger("shared.following")
    following.parent = root
    following.info("not shown: the console starts at WARNING, as uvicorn's --log-level warning")
    following.warning("view osv-directory: reading registry's feed failed: ConnectError: All connection attempts failed")

    line = out.getvalue().strip()
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d,\d{{3}} WARNING funding\[{os.getpid()}\] shared\.following: view osv-directory: .*", line
    ), line


def test_a_deployments_own_logging_set_up_is_left_as_it_is() -> None:
    root, theirs = logging.Logger("root-configured"), logging.NullHandler()
    root.addHandler(theirs)
    log_to_console("funding", root=root)
    assert root.handlers == [theirs]


def test_uvicorns_own_lines_an_exception_in_the_app_with_its_traceback_say_when_and_which_service() -> None:
    """An exception uvicorn caught in the app came out as "ERROR:    Exception in ASGI application", with no time or service."""
    root, out = logging.Logger("root-of-a-worker"), io.StringIO()
    uvicorn, theirs = logging.Logger("uvicorn"), logging.StreamHandler(out)
    theirs.setFormatter(logging.Formatter("%(levelname)s:    %(message)s"))  # uvicorn's default, colours aside
    uvicorn.addHandler(theirs)
    log_to_console("registry", root=root, stream=io.StringIO(), uvicorn=uvicorn)
    error = logging.Logger("uvicorn.error")
    error.parent = uvicorn
    try:
        raise RuntimeError("the view database is gone")
    except RuntimeError:
        error.exception("Exception in ASGI application")

    first, *traceback = out.getvalue().strip().splitlines()
    assert re.fullmatch(rf"\S+ \S+ ERROR registry\[{os.getpid()}\] uvicorn\.error: Exception in ASGI application", first), first
    assert traceback[0] == "Traceback (most recent call last):" and traceback[-1] == "RuntimeError: the view database is gone"


def test_uvicorns_log_config_shows_a_dead_worker_as_a_warning_of_the_service_and_nothing_else_it_says_at_info() -> None:
    """uvicorn's supervisor tells of a worker that died at INFO, which ``--log-level warning`` hid (closing25)."""
    import json
    import logging.config
    import sys

    from shared.lifecycle import UVICORN_LOG_CONFIG

    config = json.loads(UVICORN_LOG_CONFIG.read_text())
    out = io.StringIO()
    config["handlers"]["console"]["stream"] = out
    argv, sys.argv = sys.argv, [".../uvicorn/__main__.py", "services.engagement.api:create_app", "--factory", "--workers", "2"]
    try:
        logging.config.dictConfig(config)
    finally:
        sys.argv = argv
    uvicorn_error = logging.getLogger("uvicorn.error")
    try:
        for module, message in (("multiprocess", "Started parent process [4242]"), ("server", "Started server process [4243]"),
                                ("multiprocess", "Child process [4243] died"), ("on", "Application startup complete.")):
            uvicorn_error.handle(uvicorn_error.makeRecord("uvicorn.error", logging.INFO, f"/x/{module}.py", 1, message, (), None))
        logging.getLogger("uvicorn.access").info('127.0.0.1:5000 - "POST /members HTTP/1.1" 201')
    finally:
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            logger = logging.getLogger(name)
            logger.handlers.clear()
            logger.setLevel(logging.NOTSET)
            logger.propagate = True

    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1, lines
    assert re.fullmatch(rf"\S+ \S+ WARNING engagement\[{os.getpid()}\] uvicorn\.error: Child process \[4243\] died", lines[0]), lines


def test_uvicorns_access_line_keeps_the_path_and_leaves_the_query_out_whatever_its_handlers() -> None:
    """Helper 197: a query may hold a document number (``GET /members?document_number=…``, refused since)."""
    out = io.StringIO()
    access, theirs = logging.Logger("uvicorn.access"), logging.StreamHandler(out)
    access.addHandler(theirs)
    root = logging.Logger("root-configured-elsewhere")
    root.addHandler(logging.NullHandler())  # a deployment's own set-up: the filter goes on all the same
    log_to_console("engagement", root=root, access=access)
    log_to_console("engagement", root=root, access=access)  # once, however often called

    line = '%s - "%s %s HTTP/%s" %d'
    access.info(line, "127.0.0.1:5000", "GET", "/members?document_type=CE&document_number=001234567", "1.1", 422)
    access.info(line, "127.0.0.1:5000", "POST", "/members/lookup", "1.1", 200)

    assert out.getvalue().splitlines() == ['127.0.0.1:5000 - "GET /members?… HTTP/1.1" 422', '127.0.0.1:5000 - "POST /members/lookup HTTP/1.1" 200']
    assert len(access.filters) == 1


def test_uvicorns_websocket_handshake_line_leaves_the_query_out_too() -> None:
    """Tester 199 F3: an upgrade request, no token needed, had uvicorn write on ``uvicorn.error``, at INFO,
    '127.0.0.1:37118 - "WebSocket /members?document_type=DNI&document_number=45678912&purpose=contact" 403'."""
    out = io.StringIO()
    access, error = logging.Logger("uvicorn.access"), logging.Logger("uvicorn.error")
    error.addHandler(logging.StreamHandler(out))
    keep_queries_out_of_access_lines(access, error)

    error.info('%s - "WebSocket %s" 403', "127.0.0.1:37118", "/members?document_type=DNI&document_number=45678912")
    error.info('%s - "WebSocket %s" %d', "127.0.0.1:37118", "/members?document_number=45678912", 404)
    error.info("Started server process [%d]", 4242)  # its other lines as they were

    assert out.getvalue().splitlines() == [
        '127.0.0.1:37118 - "WebSocket /members?…" 403', '127.0.0.1:37118 - "WebSocket /members?…" 404', "Started server process [4242]",
    ]
