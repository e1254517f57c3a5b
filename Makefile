# hailops — the two commands a new user needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
export PYART_QUIET := 1
export PORT ?= 5000

.PHONY: install run test bench lint vendor browser clean-instance

install: $(STAMP) static/vendor/.stamp translations browser

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test]'
	$(PIP) install --quiet --no-deps pycwr==1.0.9  # CINRAD reader; its metadata pins pandas<3
	touch $(STAMP)

# Front-end libraries come from npm (package.json + lock) and are copied, never loaded from a CDN.
static/vendor/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	rm -rf static/vendor && mkdir -p static/vendor/leaflet static/vendor/socket.io static/vendor/jquery
	cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css \
	      node_modules/leaflet/dist/images static/vendor/leaflet/
	cp node_modules/socket.io-client/dist/socket.io.min.js static/vendor/socket.io/
	cp node_modules/jquery/dist/jquery.min.js node_modules/jquery/LICENSE.txt static/vendor/jquery/
	cp node_modules/leaflet/LICENSE static/vendor/leaflet/LICENSE
	cp node_modules/socket.io-client/LICENSE static/vendor/socket.io/LICENSE
	touch $@

translations: $(STAMP)
	$(VENV)/bin/pybabel compile -d command/translations

# Headless Chromium for browser tests and screenshots (Debian package; no browser download).
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  echo "installing Debian chromium and CJK fonts for browser tests and screenshots"; \
	  (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) || \
	  echo "WARNING: could not install chromium (not root?); browser tests will fail"; fi
	@# nginx (Debian) for the reference deployment and its test (tests/integration/test_deployment.py)
	@if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then \
	  echo "installing Debian nginx for the deployment test"; \
	  (apt-get update -qq && apt-get install -y -qq nginx >/dev/null) || \
	  echo "WARNING: could not install nginx (not root?); the deployment test will skip"; fi

run: install
	$(VENV)/bin/hailops db upgrade
	HAILOPS_ENV=$${HAILOPS_ENV:-demo} $(VENV)/bin/hailops run --demo

# The suite runs on every core (pytest-xdist; a test file stays on one worker, so its
# module-scoped server starts once).  PYTEST_ARGS adds options, e.g. PYTEST_ARGS='-m "not slow"'.
XDIST ?= -n auto --dist loadfile
test: install
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -q $(XDIST) $(PYTEST_ARGS)

bench: install
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy radar command sites dispatch
	$(VENV)/bin/lint-imports

clean-instance:
	rm -rf instance
