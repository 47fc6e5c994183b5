# The two commands a person needs: `make demo` and `make test`. Everything else is plumbing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
AIRFLOW_VERSION ?= 3.3.2

.PHONY: demo test lint typecheck pytest bench clean redis-server dist test-wheel test-matrix docs

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode \
		-e ".[s3,redis,dev]" "apache-airflow==$(AIRFLOW_VERSION)" "apache-airflow-providers-http" \
		$(CELERY)
	touch $(STAMP)

# The shared rate budget's tests and benchmark (issue 12) start their own redis-server (the
# Debian package) and Celery workers with Redis as their broker.
# celery 5.7 dropped celery.backends.database.retry, which the provider 3.26.0 imports.
CELERY := "apache-airflow-providers-celery==3.26.0" "celery>=5.5,<5.7"

redis-server:
	@command -v redis-server >/dev/null || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The UI tests drive Debian's chromium through its chromedriver; without root or apt-get
# they are skipped, saying why.
CHROMEDRIVER := /usr/bin/chromedriver
$(CHROMEDRIVER):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends chromium chromium-driver; \
	else echo "No $(CHROMEDRIVER), and no root to apt-get it: the UI tests will be skipped."; fi

pytest: $(STAMP) redis-server | $(CHROMEDRIVER)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

demo: $(STAMP)
	$(BIN)/python -m airflow_provider_loopring.testing demo

bench: $(STAMP) redis-server
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(VENV)-3.* .demo .pytest_cache .mypy_cache .ruff_cache dist docs/_build

# --- release: the wheel, every Airflow minor we claim, the documentation (issue 15) ---------
# The newest patch release of each Airflow minor in pyproject's range; `make test` runs the newest.
MATRIX := 3.1 3.2 3.3
AIRFLOW_3.1 := 3.1.8
AIRFLOW_3.2 := 3.2.2
AIRFLOW_3.3 := $(AIRFLOW_VERSION)
# Airflow 3.2.2's own ranges let in fastapi 0.165 and svcs 26, with which its dag.test() fails;
# its constraints file pins these (no file from outside the package registries can be fetched).
PINS_3.2 := fastapi==0.136.3 svcs==25.1.0
# Airflow 3.1.8 sets an attribute on cryptography's MultiFernet, a Rust type since cryptography 51
# that refuses it: every deferred task fails (AttributeError: ... 'is_encrypted'). 3.2 wraps it.
PINS_3.1 := "cryptography<51"
# What runs on every minor: the tests marked `matrix` (tests/conftest.py says which: what differs
# by version, and the example DAGs end to end); not the real-process, browser or Celery tests,
# nor what no version changes, which run on the newest only (`make test`).
MATRIX_IGNORE := --ignore=tests/integration -m matrix

$(VENV)-%/.installed-stamp: pyproject.toml Makefile $(STAMP)
	$(BIN)/uv venv --quiet --allow-existing --python $(PYTHON) $(VENV)-$*
	$(BIN)/uv pip install --python $(VENV)-$*/bin/python --compile-bytecode \
		-e ".[s3,redis,dev]" "apache-airflow==$(AIRFLOW_$*)" "apache-airflow-providers-http" $(PINS_$*) \
		|| { echo "make test-matrix: installing Airflow $(AIRFLOW_$*) into $(VENV)-$* failed (the resolver's words are above)"; exit 1; }
	touch $@

# What a minor's venv resolved differently from $(VENV) (the newest Airflow): when a dependency
# released today breaks an older minor, the culprit is one line of this in the CI log.
matrix-versions-%: $(VENV)-%/.installed-stamp
	@$(BIN)/uv pip freeze --quiet --python $(BIN)/python | sort > $(VENV)-$*/.freeze-newest
	@$(BIN)/uv pip freeze --quiet --python $(VENV)-$*/bin/python | sort > $(VENV)-$*/.freeze
	@echo "== Airflow $*: packages resolved differently from $(VENV) (Airflow $(AIRFLOW_VERSION)):"
	@comm -13 $(VENV)-$*/.freeze-newest $(VENV)-$*/.freeze | sed 's/^/   /'

# Each minor in its own venv and its own pytest process (the DAG tests want one process each),
# MATRIX_JOBS of them at the same time: each pytest keeps one core busy, and CI has two.
# Nothing is shared between them (each session makes its own AIRFLOW_HOME, servers take free
# ports, files go under tmp_path). Each minor's output goes to $(VENV)-<minor>/pytest.log,
# printed whole when all have ended, in MATRIX order; the target fails if any minor failed,
# and names it. The runs are make's own jobs, not shell background jobs (which would ignore
# SIGINT): Ctrl-C stops them as it stops any pytest.
MATRIX_JOBS ?= $(words $(MATRIX))
test-matrix: $(foreach minor,$(MATRIX),matrix-versions-$(minor))
	$(BIN)/mypy --python-version 3.10
	@$(MAKE) --no-print-directory -j$(MATRIX_JOBS) $(foreach minor,$(MATRIX),matrix-pytest-$(minor))
	@failed=; for minor in $(MATRIX); do \
		cat $(VENV)-$$minor/pytest.log; \
		[ "$$(cat $(VENV)-$$minor/pytest.rc 2>/dev/null)" = 0 ] || failed="$$failed $$minor"; \
	done; \
	echo "== make test-matrix, each minor:"; \
	for minor in $(MATRIX); do tail -n 1 $(VENV)-$$minor/pytest.log; done; \
	if [ -n "$$failed" ]; then \
		echo "make test-matrix: FAILED on Airflow$$failed: its log is above, and in" \
			$$(for minor in $$failed; do printf '%s ' $(VENV)-$$minor/pytest.log; done); \
		exit 1; \
	fi

# One minor's tests into its log, its exit status into pytest.rc: this target itself does
# not fail, so that the other minors run on and test-matrix prints every log.
matrix-pytest-%: $(VENV)-%/.installed-stamp
	@echo "== Airflow $*: started; to follow it: tail -f $(VENV)-$*/pytest.log"
	@rm -f $(VENV)-$*/pytest.rc; start=$$(date +%s); \
	{ echo "== Airflow $(AIRFLOW_$*) ($(VENV)-$*)"; \
	  $(VENV)-$*/bin/python -m pytest -q -p no:cacheprovider tests $(MATRIX_IGNORE) $(PYTEST_ARGS) </dev/null; \
	  rc=$$?; echo $$rc > $(VENV)-$*/pytest.rc; \
	  echo "== Airflow $*: $$([ $$rc = 0 ] && echo passed || echo "FAILED (pytest exit $$rc)") in $$(( $$(date +%s) - start )) s"; \
	} > $(VENV)-$*/pytest.log 2>&1

$(VENV)/.release-stamp: $(STAMP)
	$(BIN)/uv pip install --python $(BIN)/python --quiet -e ".[release]"
	touch $@

# The wheel and sdist `pip install` would get, checked as PyPI checks them.
dist: $(VENV)/.release-stamp
	rm -rf dist
	$(BIN)/uv build --quiet --out-dir dist
	$(BIN)/twine check --strict dist/*

# The wheel installed on its own, in a fresh venv outside the source tree (tests/release/).
test-wheel: dist
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/release --wheel-dir dist

$(VENV)/.docs-stamp: $(STAMP)
	$(BIN)/uv pip install --python $(BIN)/python --quiet -e ".[docs]"
	touch $@

# The Sphinx site, warnings as errors (a missing :param: is one: docs/_ext/docstrings.py).
docs: $(VENV)/.docs-stamp
	AIRFLOW_HOME=$(CURDIR)/docs/_build/airflow $(BIN)/sphinx-build -E -W --keep-going -q -b html docs docs/_build/html
