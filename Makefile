# Two commands do everything: `make run` and `make test`. Every target installs what it lacks.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
MINIAPP_INSTALLED := miniapp/node_modules/.installed
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint fmt typecheck pytest bench install miniapp miniapp-test api-types api-types-check browser clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(INSTALLED)

$(MINIAPP_INSTALLED): miniapp/package-lock.json
	cd miniapp && npm ci --no-audit --no-fund
	touch $@

miniapp: $(MINIAPP_INSTALLED)
	cd miniapp && npm run build

browser:
	@test -x $(CHROMIUM) || (apt-get update -qq && apt-get install -y -qq chromium)

run: install miniapp
	$(BIN)/signalhub migrate
	$(BIN)/signalhub seed
	exec $(BIN)/signalhub serve

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

fmt: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: install
	$(BIN)/mypy

# The Mini App's API types are generated from the backend's OpenAPI document, never written by
# hand: run `make api-types` after changing an endpoint; `make test` fails while they are stale.
api-types: install $(MINIAPP_INSTALLED)
	mkdir -p var
	$(BIN)/signalhub openapi --output var/openapi.json
	cd miniapp && npx openapi-typescript ../var/openapi.json --output src/api-schema.ts

api-types-check: install $(MINIAPP_INSTALLED)
	mkdir -p var
	$(BIN)/signalhub openapi --output var/openapi.json
	cd miniapp && npx openapi-typescript ../var/openapi.json --output ../var/api-schema.check.ts
	@diff -u miniapp/src/api-schema.ts var/api-schema.check.ts \
	  || (echo "miniapp/src/api-schema.ts is stale: run 'make api-types' and commit it"; exit 1)

miniapp-test: api-types-check
	cd miniapp && npm run typecheck && npm test

pytest: install miniapp browser
	$(BIN)/pytest --cov --cov-report=term

test: lint typecheck miniapp-test pytest

bench: install miniapp
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var miniapp/node_modules miniapp/dist .coverage
