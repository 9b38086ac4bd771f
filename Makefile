# Two commands matter: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000
export HOST PORT

.PHONY: run serve test test-browser test-integration test-pg lint fmt bench bench-quick bench-tools i18n-extract i18n-update i18n-compile setup db clean

$(BIN)/activate:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/activate requirements.txt requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

setup: $(VENV)/.installed i18n-compile

i18n-compile: $(VENV)/.installed
	@$(BIN)/pybabel compile --use-fuzzy -d translations -f --statistics 2>&1 | grep -v '^$$' || true

i18n-extract: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot --no-location --sort-output --project campaign --no-wrap .

i18n-update: i18n-extract
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete --no-wrap

db: setup
	$(FLASK) db upgrade
	$(FLASK) campaign seed

# The development server and, beside it, the one background worker (mail, packet builds).
run: db
	@$(BIN)/python -m campaign.hints
	@$(FLASK) worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

# Production mode on this machine: links point at http://HOST:PORT unless PUBLIC_URL says otherwise.
serve: db
	APP_ENV=production PUBLIC_URL="$${PUBLIC_URL:-http://$(HOST):$(PORT)}" $(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT) wsgi:app

test: setup
	$(BIN)/python -m pytest -q

# Chromium (Debian's package, /usr/bin/chromium) through Playwright: journeys, accessibility
# and the README's screenshots (docs/screenshots/). .ci/run installs Chromium when missing.
test-browser: setup
	CAMPAIGN_BROWSER=1 $(BIN)/python -m pytest -q tests/browser

# nginx, two app servers and two workers on this machine's PostgreSQL and Redis (.ci/run).
test-integration: setup
	CAMPAIGN_INTEGRATION=1 $(BIN)/python -m pytest -q tests/integration

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

fmt: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The load generator is wrk (Debian's package); installed here when missing and possible.
bench-tools:
	@command -v wrk >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] \
	  && apt-get install -y -q wrk >/dev/null; } || { echo "bench needs wrk: sudo apt-get install -y wrk"; exit 1; }

# HTTP figures (bench.run), counts, packets and exports (bench.data), then one app server
# against two on PostgreSQL and Redis (bench.scaling, skipped without them): all always run.
bench: setup bench-tools
	@$(BIN)/python -m bench.run; http=$$?; $(BIN)/python -m bench.data; data=$$?; \
	  $(BIN)/python -m bench.scaling; scaling=$$?; exit $$((http | data | scaling))

bench-quick: setup bench-tools
	@$(BIN)/python -m bench.run --quick; http=$$?; $(BIN)/python -m bench.data --quick; data=$$?; \
	  $(BIN)/python -m bench.scaling --quick; scaling=$$?; exit $$((http | data | scaling))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
