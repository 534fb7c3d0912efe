"""An auditor replays the demo's story from the feeds alone and gets the digest reporting gave, then checks the stores against the heads it gave."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from audit import replay as osv_replay
from audit import verify as osv_verify
from audit.headsfiles import heads_from_file
from audit.verify import verify_store
from deploy.demo import Apis, load
from devtools.embedded import NatsServer
from tests.support.identity import SECOND_EVALUATOR, TESTER, IssuedTokens, SignedInAs
from tests.support.served import served_system

WRITERS = ("registry", "funding", "engagement")


def test_osv_replay_rebuilds_a_cut_of_the_demo_from_the_feeds_with_the_digest_reporting_gave(
    tmp_path: Path, nats_server: NatsServer, tokens: IssuedTokens, capsys: pytest.CaptureFixture[str]
) -> None:
    var = tmp_path / "var"
    with served_system(var, nats_server.url) as (system, served):
        # The shared clients sign in as the tester, lead and evaluator at once: it assigns itself each round's first evaluator
        # code, and the second to another person, who scores under it (a round's codes are distinct people's).
        load(Apis(
            system.registry, system.funding, system.engagement, evaluator=TESTER,
            second_scoring=SignedInAs(system.funding, SECOND_EVALUATOR), second_evaluator=SECOND_EVALUATOR,
        ))
        system.wait_relayed()
        system.wait_applied()
        grants = [e for e in system.funding.get("/events", params={"limit": 1000}).json()["events"] if e["type"] == "FundGranted"]
        cut = grants[len(grants) // 2]["time"]  # halfway through the funding: the report then differs from the latest
        given = system.reporting.get("/indicators", params={"as_of": cut, "by": "zone"}).json()
        # The exports of that cut give the same heads out: the XLSX in its properties sheet, the CSV in a header.
        (tmp_path / "report.xlsx").write_bytes(system.reporting.get("/indicators/export.xlsx", params={"as_of": cut}).content)
        csv = system.reporting.get("/indicators/export.csv", params={"as_of": cut})
        (tmp_path / "report.csv").write_bytes(csv.content)
        (tmp_path / "chain-heads.txt").write_text(csv.headers["chain-heads"] + "\n")
        latest = system.reporting.get("/indicators").json()
        assert given["digest"] != latest["digest"]
        feeds = [f"--feed={name}={served[name].url}" for name in WRITERS]
        # The feeds are the auditors' (events:read): without a token, or with staff's, the replay says so and stops.
        assert osv_replay.main(["--as-of", cut, *feeds]) == 2
        assert "401" in capsys.readouterr().err
        assert osv_replay.main(["--as-of", cut, *feeds, "--token", tokens["staff"]]) == 2
        assert "events:read" in capsys.readouterr().err
        feeds.append(f"--token={tokens['auditor']}")

        assert osv_replay.main(["--as-of", cut, "--by", "zone", *feeds]) == 0
        printed = capsys.readouterr().out
        assert f"digest {given['digest']}" in printed.splitlines()

        # Tester 33 F6: without --feed it read 8001-8003 whatever make run's port variables said, and a feed that did
        # not answer ended in a 40-line traceback. It finds them as `make demo` does, and one that is not there is one line.
        ports = {f"{name.upper()}_PORT": served[name].url.rsplit(":", 1)[1] for name in WRITERS}
        with pytest.MonkeyPatch.context() as env:
            env.delenv("REPORTING_FEED_URLS", raising=False)
            for variable, port in {**ports, "OSV_HOST": "127.0.0.1"}.items():
                env.setenv(variable, port)
            assert osv_replay.main(["--as-of", cut, "--by", "zone", f"--token={tokens['auditor']}"]) == 0
            assert f"digest {given['digest']}" in capsys.readouterr().out.splitlines()
            env.setenv("FUNDING_PORT", "1")
            assert osv_replay.main(["--as-of", cut, f"--token={tokens['auditor']}"]) == 1
            said = capsys.readouterr().err
            assert said.count("\n") == 1 and "http://127.0.0.1:1/events" in said and "FUNDING_PORT" in said and "--feed" in said, said

        with pytest.raises(SystemExit) as refused:  # a moment to come: what will be recorded by then is not known
            osv_replay.main(["--as-of", "2099-01-01T00:00:00Z", *feeds, "--json"])
        assert refused.value.code == 2 and "later than now" in capsys.readouterr().err
        # Tester 36b F6, F7: a cut before 1970 ended in an OverflowError's traceback; a feed under another name was left
        # out unsaid, and funding's URL given as registry's read as 140 of registry's events never applied.
        with pytest.raises(SystemExit) as refused:
            osv_replay.main(["--as-of", "0001-01-01T00:00:00Z", *feeds])
        assert refused.value.code == 2 and "is not between 1970-01-01 and 9999-12-30" in capsys.readouterr().err
        with pytest.raises(SystemExit) as refused:
            osv_replay.main(["--as-of", cut, *feeds, f"--feed=Registry={served['registry'].url}"])
        assert refused.value.code == 2 and "'Registry' is no write service" in capsys.readouterr().err
        others = [feed for feed in feeds if not feed.startswith("--feed=registry=")]  # one --feed per service (tester 161 F12)
        assert osv_replay.main(["--as-of", cut, *others, f"--feed=registry={served['funding'].url}"]) == 2
        said = capsys.readouterr().err
        assert said.count("\n") == 1 and "serves funding's events, not registry's" in said, said
        now = datetime.now(timezone.utc).isoformat()  # to the microsecond: the last events can be recorded within this second
        assert osv_replay.main(["--as-of", now, *feeds, "--json"]) == 0
        replayed = json.loads(capsys.readouterr().out)
        assert replayed["total"] == latest["total"] and replayed["heads"] == latest["heads"]

    # The heads the report gave out hold the stores to what they said then.
    saved = tmp_path / "report.json"
    saved.write_text(json.dumps(given))
    heads = heads_from_file(saved)
    assert {h.service for h in heads} == set(WRITERS)
    # Tester 224 F3: the XLSX export and the CSV's Chain-Heads header, given to --heads, ended in tracebacks.
    for export in ("report.xlsx", "chain-heads.txt"):
        assert sorted((h.service, h.position, h.hash) for h in heads_from_file(tmp_path / export)) == sorted((h.service, h.position, h.hash) for h in heads)
    for unread, said in (("report.csv", "Chain-Heads response header"), ("no-such-report.json", "No such file")):
        store = f"sqlite:///{var / 'registry' / 'events.db'}"
        assert osv_verify.main(["--service", "registry", "--store", store, "--heads", str(tmp_path / unread)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and said in err and "XLSX export" in err and "Traceback" not in err, err
    for service in WRITERS:
        verdict = verify_store(service, f"sqlite:///{var / service / 'events.db'}", heads)
        assert verdict.ok and verdict.heads_checked == 1, verdict.describe()
