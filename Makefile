# Two commands matter: `make run` and `make test`. Everything they need is set up here.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export TEST_DATABASE_URL

.PHONY: install browser proxy tools monitoring run demo test lint format docs bench lock clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The browser tests drive Debian's Chromium at /usr/bin/chromium (`playwright install` is
# never used: no browser is downloaded). Only `test` needs it, not `run`.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	test -x $(CHROMIUM) || \
		($(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

# The proxy tests (tests/ops/test_prefix.py, tests/ops/test_behind_nginx.py) run Debian's nginx
# in the foreground.
NGINX := /usr/sbin/nginx
proxy:
	test -x $(NGINX) || \
		($(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y nginx)

# The docs tests (tests/docs/) run the documented curl examples: curl 7.82+ (--json) and jq.
tools:
	command -v curl >/dev/null && command -v jq >/dev/null || \
		($(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y curl jq)

# The metrics tests (tests/ops/test_prometheus.py) run Debian's Prometheus against the app and
# check the shipped deploy/ files with its promtool.
PROMETHEUS := /usr/bin/prometheus
monitoring:
	test -x $(PROMETHEUS) || \
		($(SUDO) apt-get update && \
		$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus)

# `make run` serves for development unless the environment or `.env` names another
# ENVIRONMENT (the app's own default is production, which needs a SECRET_KEY).
DEV := $(if $(or $(ENVIRONMENT),$(shell grep -s '^ENVIRONMENT=' .env)),,ENVIRONMENT=development)
run: install
	$(DEV) $(BIN)/python -m app.init_db
	$(DEV) $(BIN)/python -m app.serve

# `make run` with a small sample company loaded first (app/demo_data.py). It goes only into a
# database without business records: on any other, init_db refuses and nothing is served.
demo: install
	$(DEV) $(BIN)/python -m app.init_db --demo-data
	$(DEV) $(BIN)/python -m app.serve

test: install browser proxy tools monitoring
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Regenerate the generated parts of docs/ (schema.md, field tables, default permissions).
docs: install
	$(BIN)/python scripts/gen_docs.py

# The service under wrk against its baselines (scripts/bench.py; BENCH_ARGS=--quick for a
# short run, --peer URL to compare with a running Flask-AppBuilder), then the policy engine,
# then the policy at organisation size (~100k lines) beside the seeded one, from outside,
# then writes with and without the audit log, then reads with and without metrics and JSON logs.
WRK := /usr/bin/wrk
bench: install
	test -x $(WRK) || \
		($(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y wrk)
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)
	$(BIN)/python scripts/bench_policy.py
	$(BIN)/python scripts/bench_policy_scale.py $(findstring --quick,$(BENCH_ARGS))
	$(BIN)/python scripts/bench_conditions.py $(findstring --quick,$(BENCH_ARGS))
	$(BIN)/python scripts/bench_audit.py $(findstring --quick,$(BENCH_ARGS))
	$(BIN)/python scripts/bench_observability.py $(findstring --quick,$(BENCH_ARGS))

lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > requirements.lock

clean:
	rm -rf $(VENV) var/*.db*
