# Newsdesk: `make run` to start everything, `make test` to run the tests.
# Works on a fresh Debian/Ubuntu machine with Python 3.11+ and nothing else.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
STAMP  := $(VENV)/.installed

export DJANGO_SETTINGS_MODULE := config.settings

.PHONY: run test test-slow install lint migrate demo clean semantic semantic-multilingual

$(STAMP): requirements.txt requirements-test.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) 2>/dev/null || \
	  { rm -rf $(VENV) && $(PYTHON) -m venv --without-pip $(VENV) && $(BIN)/python deploy/bootstrap_pip.py; }
	test -x $(BIN)/pip || $(BIN)/python deploy/bootstrap_pip.py
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $(STAMP)

install: $(STAMP)

# Optional semantic backend for Similar Coverage (see requirements-semantic.txt).
semantic: install
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-semantic.txt

# Optional multilingual semantic backend (see requirements-semantic-multilingual.txt).
semantic-multilingual: install
	$(BIN)/python -m pip install --quiet -r requirements-semantic-multilingual.txt

var:
	mkdir -p var

# Local development settings (DEBUG=true, a generated SECRET_KEY, this checkout's
# own REDIS_URL port), written once
# and git-ignored; the settings read it, so manage.py works in any new shell.
.env: | $(STAMP)
	$(BIN)/python -m config.dotenv create .env

migrate: install var .env
	$(BIN)/python manage.py migrate --noinput

# `make run` loads the demo itself once Redis is up (see Procfile.dev).
demo: migrate
	$(BIN)/python manage.py load_demo

# Procfile.dev starts Redis first; the other processes wait for it, and the
# web process loads the demo before serving. honcho is not given .env
# (`-e /dev/null`): it would put .env over the environment, and the processes
# read .env themselves, with the environment winning, as the README says.
run: migrate
	@echo ""
	@echo "  Newsdesk is starting at http://127.0.0.1:$(PORT)/"
	@echo "  Create an admin user:  $(BIN)/python manage.py createsuperuser"
	@echo "  Stop everything with Ctrl-C."
	@echo ""
	PATH="$(abspath $(BIN)):$$PATH" WEB_PORT=$(PORT) $(BIN)/honcho -f Procfile.dev start -e /dev/null

# Everything but the tests marked slow (real worker processes, browsers, whole corpora).
test: install var
	DEBUG=true $(BIN)/python -m newsdesk.embedded_redis run -- $(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# The slow tests; SLOW narrows them (CI: SLOW="slow and django_db" for a second database).
SLOW ?= slow
test-slow: install var
	DEBUG=true $(BIN)/python -m newsdesk.embedded_redis run -- $(BIN)/python -m pytest -m "$(SLOW)" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var/test.sqlite3 var/celerybeat-schedule*
