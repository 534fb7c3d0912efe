"""``osv-replay`` as an auditor runs it: the installed console script, from a folder of their own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devtools.embedded import free_port
from tests.integration.test_rebuild_cli import a_feed, osvs_mapped, with_password

SCRIPT = Path(sys.executable).parent / "osv-replay"
CHECKOUT = Path(__file__).resolve().parents[2]
"""The code the script runs: this checkout's, though the package installed in the environment may be another's (a
worktree sharing the main checkout's environment); the folder it runs from is still not the repository."""


def run(args: list[str], folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], cwd=folder, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(CHECKOUT), **env},
                          capture_output=True, text=True, timeout=60, check=False)


def test_without_feed_it_names_the_feed_it_cannot_reach_in_one_line_from_any_folder(tmp_path: Path) -> None:
    """Tester 33c F4: the console script ended in a traceback (``No module named 'deploy'``) when run outside the
    repository, where an auditor runs it; ``python -m audit.replay`` from the repository worked."""
    ports = {variable: str(free_port()) for variable in ("REGISTRY_PORT", "FUNDING_PORT", "ENGAGEMENT_PORT")}
    answer = run(["--as-of", "2021-12-31T23:59:59-05:00", "--token", "x"], tmp_path, OSV_HOST="127.0.0.1", **ports)
    assert answer.returncode == 1, answer.stderr
    assert answer.stderr.count("\n") == 1 and "Traceback" not in answer.stderr, answer.stderr
    assert "--feed SERVICE=URL" in answer.stderr and any(f"127.0.0.1:{port}/events" in answer.stderr for port in ports.values())


@pytest.mark.parametrize("moment", ["2026-02-30T00:00:00-05:00", "yesterday"])
def test_a_moment_that_is_not_one_is_refused_saying_what_to_give(tmp_path: Path, moment: str) -> None:
    """Tester 33c F5: argparse said "invalid parse_moment value"."""
    answer = run(["--as-of", moment], tmp_path)
    assert answer.returncode == 2 and "parse_moment" not in answer.stderr, answer.stderr
    assert "is not a moment of the calendar" in answer.stderr and "2021-12-31T23:59:59-05:00" in answer.stderr


def test_another_services_feed_is_refused_naming_the_service_whose_events_it_serves(tmp_path: Path) -> None:
    """Tester 47 F1: ``--feed funding=<registry's URL>`` printed a digest, of a report without funding's facts."""
    with a_feed(osvs_mapped("registry", 2, 3)) as registry, a_feed({}) as empty:
        feeds = [f"--feed=registry={registry}", f"--feed=funding={registry}", f"--feed=engagement={empty}"]
        answer = run(["--as-of", "2021-12-31T23:59:59-05:00", *feeds], tmp_path)
    assert answer.returncode == 2, answer.stdout + answer.stderr
    assert answer.stderr == f"osv-replay: the funding feed at {registry} serves registry's events, not funding's: give each service's own URL\n"


def test_a_token_with_its_line_end_is_refused_naming_token_and_never_printed(tmp_path: Path) -> None:
    """Tester 47 F4: httpx's error printed the whole bearer token."""
    with a_feed({}) as empty:
        answer = run(["--as-of", "2021-12-31T23:59:59-05:00", "--token", "eyJsecret.token.sig\n", f"--feed=registry={empty}"], tmp_path)
    assert answer.returncode == 2, answer.stderr
    assert "--token holds whitespace" in answer.stderr and "eyJsecret" not in answer.stdout + answer.stderr, answer.stderr


@pytest.mark.parametrize(("variable", "value"), [("REPORTING_FEED_URLS", "not json"), ("REGISTRY_PORT", "abc"), ("OSV_HOST", "")])
def test_a_variable_that_does_not_read_is_named_in_one_line(tmp_path: Path, variable: str, value: str) -> None:
    """Tester 47 F3: pydantic's traceback instead of the variable to set right."""
    answer = run(["--as-of", "2021-12-31T23:59:59-05:00"], tmp_path, **{variable: value})
    assert answer.returncode == 2 and "Traceback" not in answer.stderr, answer.stderr
    assert answer.stderr.count("\n") == 1 and answer.stderr.startswith(f"osv-replay: {variable} is refused: "), answer.stderr


@pytest.mark.parametrize("feeds", ['{"registry": "http://127.0.0.1:9", "funding": "http://127.0.0.1:9"}', "{}"])
def test_a_write_service_left_out_of_the_feeds_is_refused_not_replayed_without_it(tmp_path: Path, feeds: str) -> None:
    """Tester 160 F1: with engagement's feed left out it printed a digest of part of the programme and exited 0."""
    answer = run(["--as-of", "2021-12-31T23:59:59-05:00", "--token", "x"], tmp_path, REPORTING_FEED_URLS=feeds)
    assert answer.returncode == 2 and answer.stderr.count("\n") == 1, answer.stderr
    assert answer.stderr.startswith("osv-replay: no ") and "engagement in REPORTING_FEED_URLS" in answer.stderr, answer.stderr
    assert "digest" not in answer.stdout


def test_a_feed_with_a_hole_is_refused_naming_the_position_left_out_not_replayed_without_it(tmp_path: Path) -> None:
    """Tester 161 F2: a proxy dropping position 150 of registry's feed, the head left alone, printed a digest, exit 0."""
    with a_feed(osvs_mapped("registry", *range(2, 290)), dropping=(150,)) as registry, a_feed({}) as empty:
        feeds = [f"--feed=registry={registry}", f"--feed=funding={empty}", f"--feed=engagement={empty}"]
        answer = run(["--as-of", "2021-12-31T23:59:59-05:00", *feeds], tmp_path)
    assert answer.returncode == 2 and "digest" not in answer.stdout, answer.stdout + answer.stderr
    assert answer.stderr == (f"osv-replay: the registry feed at {registry} left out position 150: the event at 151 follows it, "
                             "and the last it served before was at 149: a rebuild from it would lack events (a partner's token "
                             "reads its municipality's events alone: read the feeds with an auditor's)\n")


def test_a_password_in_a_feeds_url_is_never_printed(tmp_path: Path) -> None:
    """Tester 161 F10: ``--feed funding=http://user:pw@host`` put the password in the line refusing the feed."""
    with a_feed(osvs_mapped("registry", 2, 3)) as registry, a_feed({}) as empty:
        feeds = [f"--feed=registry={registry}", f"--feed=funding={with_password(registry)}", f"--feed=engagement={empty}"]
        answer = run(["--as-of", "2021-12-31T23:59:59-05:00", *feeds], tmp_path)
    assert answer.returncode == 2 and "s3cret-pw" not in answer.stdout + answer.stderr, answer.stderr
    assert answer.stderr.startswith(f"osv-replay: the funding feed at {with_password(registry).replace('s3cret-pw', '***')}"), answer.stderr


def test_a_key_of_reporting_feed_urls_that_names_no_write_service_or_a_service_given_twice_is_refused(tmp_path: Path) -> None:
    """Tester 161 F12: ``registryy`` was said to be missing registry's key; two ``--feed registry=…`` kept the last."""
    feeds = '{"registryy": "http://127.0.0.1:9", "funding": "http://127.0.0.1:9", "engagement": "http://127.0.0.1:9"}'
    answer = run(["--as-of", "2021-12-31T23:59:59-05:00"], tmp_path, REPORTING_FEED_URLS=feeds)
    assert answer.returncode == 2 and answer.stderr == (
        "osv-replay: REPORTING_FEED_URLS is refused: 'registryy' names no write service: its keys are registry, funding, engagement\n"
    ), answer.stderr
    answer = run(["--as-of", "2021-12-31T23:59:59-05:00", "--feed=registry=http://127.0.0.1:9", "--feed=registry=http://127.0.0.1:8"], tmp_path)
    assert answer.returncode == 2 and "--feed registry=… is given twice" in answer.stderr, answer.stderr
