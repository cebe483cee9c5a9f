# The one entry point: every target only invokes tools.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export WAKEN_HOST ?= 0.0.0.0
export WAKEN_PORT ?= 8000
# The debugger runs code for whoever reaches it: `make dev` stays on loopback unless
# WAKEN_HOST is set in the environment or on the command line.
DEV_HOST := $(if $(filter environment command line,$(origin WAKEN_HOST)),$(WAKEN_HOST),127.0.0.1)

.PHONY: install run dev test bench lint clean browser proxy

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

run: install
	$(BIN)/flask --app waken init-db
	$(BIN)/flask --app waken setup-info
	$(BIN)/gunicorn -c python:waken.gunicorn_conf wsgi:app

dev: install
	$(BIN)/flask --app waken init-db
	$(BIN)/flask --app waken run --debug --host $(DEV_HOST) --port $(WAKEN_PORT)

# Browser tests drive Debian's Chromium; install it when it is missing.
browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }

# The reverse-proxy test runs Debian's nginx with deploy/nginx-waken.conf and an
# openssl certificate; install them when missing.
proxy:
	@{ [ -x /usr/sbin/nginx ] && command -v openssl; } >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q nginx openssl; }

test: install browser proxy
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m tests.bench

lint: install
	$(BIN)/ruff check --isolated --select E4,E7,E9,F,I waken tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
