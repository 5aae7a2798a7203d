# keyvault — two commands: `make run` and `make test`. Everything else is set up on demand.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint format bench install system-deps lock clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "keyvault: installing pinned dependencies into $(VENV) …"
	@$(BIN)/pip install --quiet -r requirements.lock 2> >(grep -v "is ignored" >&2)
	@touch $@

## make run: migrate, ensure a first admin, start web + worker + beat on embedded defaults.
run: export DEBUG ?= 1
run: export WEB_BIND ?= 127.0.0.1
run: export SITE_URL ?= http://127.0.0.1:$(PORT)
run: export CELERY_CONCURRENCY ?= 2
run: install
	@$(BIN)/python manage.py migrate --noinput -v 0
	@$(BIN)/python manage.py ensure_admin
	@echo ""
	@echo "keyvault: open $(SITE_URL)/ and sign in (admin login printed above on the first run)."
	@echo "keyvault: starting web, worker and beat — Ctrl-C stops all three."
	@PATH="$(abspath $(BIN)):$$PATH" exec $(BIN)/honcho start -f Procfile -p $(PORT)

## make test: lint, then the whole suite (unit, integration with real worker/beat, browser).
test: install system-deps lint
	$(BIN)/pytest $(PYTEST_ARGS)

## Chromium (browser journeys) and redis-server (integration tests) from Debian when missing.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "keyvault: installing$$missing (apt-get) …"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "make test needs these programs:$$missing — install them (Debian: sudo apt-get install$$missing) and run again"; \
	    exit 1; \
	  fi; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy keyvault alerts

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python -m tests.bench $(if $(QUICK),--quick,)

## Re-pin requirements.lock after editing pyproject.toml dependencies.
lock: install
	$(BIN)/pip-compile -q --extra dev --strip-extras --no-emit-index-url --no-emit-find-links \
	  --output-file requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache test-results
